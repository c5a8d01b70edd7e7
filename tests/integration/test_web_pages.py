"""The web page in a real headless Chromium (Debian's chromium and chromium-driver, installed by
scripts/ensure-services; Selenium drives it, and is pointed at them so that it downloads nothing): the demo
story through the real worker, then watchlist → tranche → issuer by clicking links, sorting and filtering
through the form, event text that stays text, and the token's sign-in.

Screenshots go to the test's temporary directory; `TW_SCREENSHOTS=docs/screenshots` writes the README's.
"""

from __future__ import annotations

import base64
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.demo.run import scenario_path
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.publish import publish_records, read_jsonl
from tests.support.wait import wait_for
from tests.support.web import INJECTED
from tests.support.worker_process import WorkerProcess

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None, reason="chromium / chromium-driver not installed"
    ),
]
webdriver = pytest.importorskip("selenium.webdriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1440,1200",
)
TOKEN = "page-token-123"


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not reach the network
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("TW_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode(), dict(reply.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _story_loaded(worker: WorkerProcess, headers: dict[str, str]) -> bool:
    status, body, _ = _get(f"http://127.0.0.1:{worker.port}/tranche/WHBUS-2025-A", headers)
    # The story's last WHBUS-2025-A quote (94.8 on 10 Dec) and the issuer's widening loss have landed.
    return (
        status == 200
        and "94.80" in body
        and "issuer_loss_widening" in _get(f"http://127.0.0.1:{worker.port}/", headers)[1]
    )


def test_an_analyst_clicks_from_the_watchlist_to_a_tranche_and_its_issuer(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    browser: Any,
    shots: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def arrived(check: Callable[[Any], bool]) -> None:
        # A click that navigates returns before the next page has loaded on a busy machine: wait for it.
        WebDriverWait(browser, 30).until(check)

    worker = worker_factory(
        TRANCHEWATCH_RULES_FILE=str(scenario_path().with_name("rules.toml")),
        TRANCHEWATCH_API_TOKEN=TOKEN,
        TRANCHEWATCH_API_TOKEN_FOR_READS="true",
    )
    worker.wait_ready()
    publish_records(broker.bootstrap, read_jsonl(scenario_path()))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    wait_for(lambda: _story_loaded(worker, bearer), 90, what="the story in the state")

    # Guarded: no token, no page; the browser is asked to sign in.
    status, _, headers = _get(f"http://127.0.0.1:{worker.port}/")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    basic = base64.b64encode(f"analyst:{TOKEN}".encode()).decode()
    assert _get(f"http://127.0.0.1:{worker.port}/", {"Authorization": f"Basic {basic}"})[0] == 200
    # What the browser sends once the analyst has signed in at its prompt, on every request.
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {basic}"}})
    base = f"http://127.0.0.1:{worker.port}"

    browser.get(f"{base}/")
    assert browser.title == "Watchlist · tranchewatch"
    firing = browser.find_element(By.ID, "firing").find_element(By.XPATH, "following-sibling::div[1]")
    assert "distressed_tranche" in firing.text
    ids = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#watchlist td > a[href^='/tranche/']")]
    assert ids[:2] == ["WHBUS-2025-A", "CQTOWER-2025-B"]  # by discount, widest first
    browser.save_screenshot(str(shots / "watchlist.png"))

    # Filter through the form (no JavaScript: a GET form), then sort by a column header's link.
    Select(browser.find_element(By.NAME, "province")).select_by_visible_text("Hubei")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    arrived(lambda b: "province=Hubei" in b.current_url)
    ids = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#watchlist td > a[href^='/tranche/']")]
    hubei = ["HSTOWER-2025-A", "WHBUS-2025-A", "WHBUS-2025-B"]  # the bus company's and Hongshan's tower
    assert sorted(ids) == hubei
    browser.find_element(By.PARTIAL_LINK_TEXT, "Tranche").click()
    arrived(lambda b: "sort=tranche" in b.current_url)
    ids = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#watchlist td > a[href^='/tranche/']")]
    assert ids == hubei and "sort=tranche" in browser.current_url  # by tranche: A to Z first

    browser.find_element(By.LINK_TEXT, "WHBUS-2025-A").click()
    arrived(lambda b: b.title == "WHBUS-2025-A · tranchewatch")
    assert browser.title == "WHBUS-2025-A · tranchewatch"
    chart = browser.find_element(By.CSS_SELECTOR, "svg[role='img']")
    assert chart.size["width"] > 600
    assert len(chart.find_elements(By.CSS_SELECTOR, "g > title")) >= 2  # alert markers
    browser.save_screenshot(str(shots / "tranche.png"))

    browser.find_element(By.LINK_TEXT, "Wuhan Public Transport Group").click()
    arrived(lambda b: b.title == "Wuhan Public Transport Group · tranchewatch")
    assert browser.title == "Wuhan Public Transport Group · tranchewatch"
    assert "2025-01-01 \N{EN DASH} 2025-06-30" in browser.find_element(By.TAG_NAME, "table").text
    browser.save_screenshot(str(shots / "issuer.png"))

    # An issuer named with markup: shown as text, never run.
    publish_records(broker.bootstrap, [("abs.deals", INJECTED)])
    wait_for(lambda: _get(f"{base}/issuer/evil", bearer)[0] == 200, 60, what="the injected deal")
    browser.get(f"{base}/issuer/evil")
    assert browser.title == f"{INJECTED['issuer_name']} · tranchewatch"  # the script would have set it
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading == "<script>document.title='owned'</script>Evil & \"Sons\""
    assert browser.execute_script("return document.scripts.length") == 0
