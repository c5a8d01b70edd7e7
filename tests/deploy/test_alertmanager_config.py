"""deploy/alertmanager/alertmanager.yml is a config Alertmanager accepts (`amtool check-config`, from Debian's
prometheus-alertmanager, installed by scripts/ensure-services) and routes tranchewatch's alerts by severity."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.deploy.support import DEPLOY

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
AMTOOL = shutil.which("amtool")
pytestmark = pytest.mark.skipif(AMTOOL is None, reason="amtool not installed (scripts/ensure-services)")


def _amtool(*args: str) -> str:
    assert AMTOOL is not None
    result = subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_amtool_accepts_the_config() -> None:
    assert "SUCCESS" in _amtool("check-config", str(CONFIG))


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ["alertname=below_par", "severity=critical", "fingerprint=abc", "issuer_id=wuhan-bus"],
            "credit-oncall",
        ),
        (["alertname=price_drop", "severity=warning", "fingerprint=abc"], "credit-desk"),
        (["alertname=stale_quote", "severity=info", "fingerprint=abc"], "credit-digest"),
        (["alertname=TranchewatchWorkerDown", "severity=critical"], "ops"),  # Prometheus's own
        # A fund's channel, for an alert on a tranche it holds with another fund; the desk pages too.
        (
            ["alertname=below_par", "severity=critical", "fingerprint=abc", 'portfolio="fund-a,fund-b"'],
            "fund-a credit-oncall",
        ),
        (["alertname=below_par", "severity=warning", "fingerprint=abc", "portfolio=fund-ab"], "credit-desk"),
    ],
)
def test_tranchewatch_alerts_route_by_severity(labels: list[str], receiver: str) -> None:
    out = _amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert out.replace(",", " ").split() == receiver.split()  # several receivers: comma-separated
