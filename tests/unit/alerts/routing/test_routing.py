"""The routing file: valid ones load, invalid ones fail at start with the file and the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.routing.routes import RoutingConfig, RoutingError, SlackWebhookReceiver, load_routing

DATA = Path(__file__).parent / "testdata"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_TEST_WEBHOOK", "https://hooks.example.invalid/services/T/B/secret")
    monkeypatch.setenv("TW_TEST_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.delenv("TW_TEST_UNSET_VARIABLE", raising=False)


def test_toml_file_routes_first_match_with_continue_and_default() -> None:
    cfg = load_routing(DATA / "routing-good.toml")
    desk = cfg.receivers["desk"]
    assert isinstance(desk, SlackWebhookReceiver)
    assert desk.url.get_secret_value().endswith("/secret") and "secret" not in repr(cfg)
    critical_hubei = {"rule": "below_par", "severity": "critical", "province": "Hubei"}
    assert [r.receiver for r in cfg.routes_for(critical_hubei)] == ["bus", "ops"]
    warning = {"rule": "below_par", "severity": "warning", "province": "Hubei", "issuer": "wuhan-bus"}
    chosen = cfg.routes_for(warning)
    assert [r.receiver for r in chosen] == ["bus", "desk"] and chosen[1].group_by == ["issuer"]
    # As in Alertmanager, the default is for notices no route matched; a `continue` route is a match.
    assert [r.receiver for r in cfg.routes_for({"rule": "issuance_record", "severity": "info"})] == ["bus"]
    assert [r.receiver for r in cfg.model_copy(update={"routes": cfg.routes[1:]}).routes_for({})] == ["desk"]
    assert cfg.route_to("ops", warning) is None
    assert [r.source_rule for r in cfg.inhibit] == ["distressed_tranche"]  # the default inhibition


def test_yaml_file_loads() -> None:
    cfg = load_routing(DATA / "routing-good.yaml")
    assert cfg.inhibit == []
    assert cfg.route_to("desk", {"asset_type": "transport_revenue"}) is not None
    assert cfg.routes_for({"asset_type": "toll_road"}) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad-extra-key.toml", "receivers.desk.slack_webhook.colour: Extra inputs are not permitted"),
        ("bad-unknown-receiver.toml", "undefined receivers ['nobody']"),
        ("bad-matcher-label.toml", "unknown label 'region'"),
        ("bad-bot-grouping.toml", "cannot group_by"),
        ("bad-missing-env.toml", "environment variable TW_TEST_UNSET_VARIABLE is not set"),
        ("bad-syntax.toml", "bad-syntax.toml"),
    ],
)
def test_invalid_files_fail_naming_file_and_field(name: str, expected: str) -> None:
    with pytest.raises(RoutingError) as info:
        load_routing(DATA / name)
    assert expected in str(info.value) and name in str(info.value)


def test_errors_never_echo_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[receivers.ops]\ntype = "slack_bot"\ntoken = "xoxb-very-secret"\nchannel = ""\n')
    with pytest.raises(RoutingError) as info:
        load_routing(path)
    assert "channel" in str(info.value) and "xoxb-very-secret" not in str(info.value)


def test_without_a_file_everything_goes_everywhere_ungrouped_uninhibited() -> None:
    cfg = RoutingConfig.default("https://hooks.example.invalid/x")
    assert sorted(cfg.receivers) == ["kafka", "log", "slack"]
    assert [r.receiver for r in cfg.routes_for({"rule": "below_par"})] == ["log", "kafka", "slack"]
    assert cfg.inhibit == [] and all(not r.group_by for r in cfg.routes)
    assert sorted(RoutingConfig.default(None).receivers) == ["kafka", "log"]


def test_the_readme_routing_example_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    for name in ("CREDIT_DESK_WEBHOOK", "SLACK_BOT_TOKEN", "NEWSROOM_WEBHOOK"):
        monkeypatch.setenv(name, f"https://hooks.example/{name}")
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text()
    start = readme.index("# routing.toml")
    config = RoutingConfig.model_validate(tomllib.loads(readme[start : readme.index("```", start)]))
    assert config.receivers["newsroom"].digest_at == "08:30"  # type: ignore[union-attr]


@pytest.mark.parametrize("value", ["8:30", "24:00", "08:60", "noon"])
def test_digest_at_must_be_a_time_of_day(value: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="digest_at"):
        RoutingConfig.model_validate({"receivers": {"x": {"type": "log", "digest_at": value}}})


def _funds(default: str | None = "desk") -> RoutingConfig:
    log = {"type": "log"}
    return RoutingConfig.model_validate(
        {
            "receivers": {"fund-a": log, "fund-b": log, "hubei": log, "desk": log},
            "routes": [
                {"receiver": "hubei", "matchers": ["family=hubei-gov"], "continue": True},
                {"receiver": "fund-a", "matchers": ["portfolio=fund-a"], "group_by": ["portfolio"]},
                {"receiver": "fund-b", "matchers": ["portfolio=fund-b"]},
            ],
            "default_receiver": default,
        }
    )


def test_an_alert_held_by_two_funds_reaches_both_funds_routes() -> None:
    cfg = _funds()
    both = {"rule": "below_par", "family": "hubei-gov", "portfolio": "fund-a,fund-b"}
    # One walk per portfolio: fund-a's route stops fund-a's walk (no continue), not fund-b's.
    assert [r.receiver for r in cfg.routes_for(both)] == ["hubei", "fund-a", "fund-b"]
    found = cfg.routed("fund-b", both)
    assert found is not None and found[1]["portfolio"] == "fund-b"  # the labels it was routed by
    assert cfg.routed("hubei", both) == (cfg.routes[0], {**both, "portfolio": "fund-a"})
    assert cfg.route_to("desk", both) is None  # matched: the default is for the unmatched


def test_one_fund_or_none_routes_as_before() -> None:
    cfg = _funds()
    assert [r.receiver for r in cfg.routes_for({"portfolio": "fund-a"})] == ["fund-a"]
    assert [r.receiver for r in cfg.routes_for({"family": "other-gov"})] == ["desk"]
    # A holder without a route of its own: its walk ends at the default, the other fund's at its route.
    assert [r.receiver for r in cfg.routes_for({"portfolio": "fund-a,fund-c"})] == ["fund-a", "desk"]
    assert [r.receiver for r in _funds(None).routes_for({"portfolio": "fund-a,fund-c"})] == ["fund-a"]


def test_portfolio_and_family_are_known_labels_and_groupings() -> None:
    from alerts.routing.matchers import parse_matcher

    assert parse_matcher("portfolio=~fund-.*").matches({"portfolio": "fund-a"})
    assert parse_matcher("family=hubei-gov").matches({"family": "hubei-gov"})
    assert _funds().routes[1].group_by == ["portfolio"]
