from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.settings import Settings


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TRANCHEWATCH_KAFKA_BOOTSTRAP",
        "TRANCHEWATCH_REDIS_URL",
        "TRANCHEWATCH_REDIS_PREFIX",
        "TRANCHEWATCH_HTTP_PORT",
        "TRANCHEWATCH_APP_ID",
        "TRANCHEWATCH_SLACK_WEBHOOK_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.redis_url.get_secret_value() == "redis://127.0.0.1:6379/0"
    assert (s.redis_prefix, s.http_port, s.app_id, s.slack_webhook_url) == ("tw:", 6066, "tranchewatch", None)


def test_environment_and_empty_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANCHEWATCH_SLACK_WEBHOOK_URL", "")
    monkeypatch.setenv("TRANCHEWATCH_HTTP_PORT", "7000")
    s = Settings()
    assert s.slack_webhook_url is None and s.http_port == 7000


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANCHEWATCH_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/SECRET")
    monkeypatch.setenv("TRANCHEWATCH_REDIS_URL", "redis://:hunter2@db:6379/0")
    s = Settings()
    shown = f"{s} {s!r} {s.as_dict()}"
    assert "SECRET" not in shown and "hunter2" not in shown
    assert s.as_dict(plaintext_secrets=True)["redis_url"] == "redis://:hunter2@db:6379/0"


def test_config_file_and_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tw.toml"
    config.write_text('app_id = "from-file"\nbatch_size = 50\n')
    monkeypatch.setenv("TRANCHEWATCH_CONFIG", str(config))
    monkeypatch.setenv("TRANCHEWATCH_BATCH_SIZE", "70")
    s = Settings()
    assert s.app_id == "from-file" and s.batch_size == 70  # the environment wins over the file
    config.write_text("batch_sise = 50\n")
    with pytest.raises(ValidationError, match="batch_sise"):
        Settings()
    monkeypatch.setenv("TRANCHEWATCH_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        Settings()
    monkeypatch.delenv("TRANCHEWATCH_CONFIG")
    monkeypatch.setenv("TRANCHEWATCH_HTTP_PORT", "70000")
    with pytest.raises(ValidationError, match="http_port"):
        Settings()


def test_every_setting_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("### Configuration") : readme.index("## The contract")]
    missing = [
        name
        for name in Settings.model_fields
        if f"TRANCHEWATCH_{name.upper()}" not in table and f"_{name.upper()}`" not in table
    ]
    assert not missing, f"settings missing from the README's configuration table: {missing}"


@pytest.mark.parametrize(
    "name",
    [
        "SLACK_WEBHOOK_URL",
        "REDIS_PASSWORD",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SASL_USERNAME",
        "RULES_FILE",
        "ROUTING_FILE",
        "POSITIONS_FILE",
        "REDIS_SSL_CA_FILE",
        "KAFKA_SSL_CAFILE",
        "MAX_POLL_RECORDS",
    ],
)
def test_an_empty_optional_setting_is_unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    for value in ("", "  "):
        monkeypatch.setenv(f"TRANCHEWATCH_{name}", value)
        assert getattr(Settings(), name.lower()) is None


def test_an_empty_setting_with_a_default_takes_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRANCHEWATCH_REDIS_URL", "")
    monkeypatch.setenv("TRANCHEWATCH_REDIS_PREFIX", "")
    monkeypatch.setenv("TRANCHEWATCH_HTTP_PORT", "")
    s = Settings()
    assert s.redis_url.get_secret_value() == "redis://127.0.0.1:6379/0"
    assert (s.redis_prefix, s.http_port) == ("tw:", 6066)
    config = tmp_path / "tw.toml"
    config.write_text('slack_webhook_url = ""\n')
    monkeypatch.setenv("TRANCHEWATCH_CONFIG", str(config))
    assert Settings().slack_webhook_url is None


def test_an_empty_api_token_is_kept_to_be_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANCHEWATCH_API_TOKEN", raising=False)
    assert Settings().empty_api_token() is None
    monkeypatch.setenv("TRANCHEWATCH_API_TOKEN", "s3cret")
    assert Settings().empty_api_token() is None
    for empty in ("", " "):
        monkeypatch.setenv("TRANCHEWATCH_API_TOKEN", empty)
        problem = Settings().empty_api_token()
        assert problem is not None and "TRANCHEWATCH_API_TOKEN" in problem


def test_reads_need_a_token_to_protect_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANCHEWATCH_API_TOKEN", raising=False)
    monkeypatch.setenv("TRANCHEWATCH_API_TOKEN_FOR_READS", "true")
    with pytest.raises(ValidationError, match="api_token_for_reads"):
        Settings()
    monkeypatch.setenv("TRANCHEWATCH_API_TOKEN", "s3cret")
    assert Settings().api_token_for_reads


def test_the_worker_refuses_an_empty_api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.cli.main import main

    monkeypatch.setenv("TRANCHEWATCH_API_TOKEN", "")
    with pytest.raises(SystemExit) as stopped:
        main(["worker"])
    assert "TRANCHEWATCH_API_TOKEN is set but empty" in str(stopped.value.code)


def test_fast_drain_is_a_deprecated_alias_setting_both(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.warns(FutureWarning, match="TRANCHEWATCH_FAST_DRAIN is deprecated"):
        old = Settings(fast_drain=False)
    assert (old.batch_drain, old.lean_conductor) == (False, False)
    assert (Settings().batch_drain, Settings().lean_conductor) == (True, True)
    monkeypatch.setenv("TRANCHEWATCH_FAST_DRAIN", "false")
    monkeypatch.setenv("TRANCHEWATCH_LEAN_CONDUCTOR", "true")  # a new setting beats the alias
    with pytest.warns(FutureWarning):
        mixed = Settings()
    assert (mixed.batch_drain, mixed.lean_conductor) == (False, True)


def test_sentinels_parse_and_name_their_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANCHEWATCH_REDIS_SENTINELS", "s1:26379, 10.0.0.2:26380,[::1]:26381,")
    monkeypatch.setenv("TRANCHEWATCH_REDIS_SENTINEL_SERVICE", "tw-primary")
    assert Settings().sentinel_addresses() == [("s1", 26379), ("10.0.0.2", 26380), ("::1", 26381)]
    monkeypatch.setenv("TRANCHEWATCH_REDIS_SENTINELS", "")  # Compose's `${X:-}`: no Sentinel
    monkeypatch.setenv("TRANCHEWATCH_REDIS_SENTINEL_SERVICE", "")
    assert Settings().sentinel_addresses() == []


@pytest.mark.parametrize(
    "sentinels,service,problem",
    [
        ("s1:26379", None, "TRANCHEWATCH_REDIS_SENTINELS needs TRANCHEWATCH_REDIS_SENTINEL_SERVICE"),
        (None, "tw-primary", "TRANCHEWATCH_REDIS_SENTINEL_SERVICE is set but TRANCHEWATCH_REDIS_SENTINELS"),
        ("s1", "tw-primary", "'s1' is not host:port"),
        ("s1:26379,s2:port", "tw-primary", "'s2:port' is not host:port"),
        ("s1:0", "tw-primary", "'s1:0' is not host:port"),
        (",", "tw-primary", "no sentinel given"),
    ],
)
def test_sentinel_settings_refused_at_start_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, sentinels: str | None, service: str | None, problem: str
) -> None:
    from streams.cli.main import main

    for name, value in (("SENTINELS", sentinels), ("SENTINEL_SERVICE", service)):
        if value is None:
            monkeypatch.delenv(f"TRANCHEWATCH_REDIS_{name}", raising=False)
        else:
            monkeypatch.setenv(f"TRANCHEWATCH_REDIS_{name}", value)
    with pytest.raises(ValidationError, match=problem):
        Settings()
    with pytest.raises(SystemExit) as stopped:
        main(["worker"])
    assert problem in str(stopped.value.code)
