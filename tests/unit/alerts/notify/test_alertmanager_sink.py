"""The Alertmanager payloads: the contract's labels and annotations, and the times Alertmanager accepts."""

from __future__ import annotations

import datetime as dt
import json

from alerts.core.model import Subject
from alerts.notify.alertmanager import am_labels, ended, firing, posted
from alerts.routing.routes import AlertmanagerReceiver, RoutingConfig
from tests.support.alerts import T0, an_alert

NOW = dt.datetime(2025, 9, 2, tzinfo=dt.UTC)


def test_labels_carry_rule_severity_fingerprint_subject_and_what_the_state_knows() -> None:
    alert = an_alert(1, subject=Subject(tranche_id="T1", issuer_id="iss", deal_id="D1"))
    labels = am_labels(alert, {"province": "Hubei", "asset_type": "toll_road", "programme": "P"})
    assert labels == {
        "alertname": "below_par",
        "severity": "critical",
        "fingerprint": "fp1",
        "tranche_id": "T1",
        "issuer_id": "iss",
        "deal_id": "D1",
        "province": "Hubei",
        "asset_type": "toll_road",
    }
    year = an_alert(2, rule="issuance_record", severity="info", subject=Subject(year=2025))
    assert am_labels(year, {"province": ""}) == {
        "alertname": "issuance_record",
        "severity": "info",
        "fingerprint": "fp2",
        "year": "2025",
    }


def test_a_firing_post_lasts_four_intervals_and_the_evidence_is_json() -> None:
    stored = posted(an_alert(1), {"alertname": "below_par"}, NOW)
    out = firing(stored, NOW, dt.timedelta(seconds=240))
    assert out["startsAt"] == "2025-09-01T00:00:00Z"
    assert out["endsAt"] == "2025-09-02T00:04:00Z"
    assert json.loads(out["annotations"]["evidence"]) == {"price": 94.0, "discount": 6.0}


def test_an_end_is_never_in_the_future_nor_before_the_start() -> None:
    ahead = an_alert(1, starts_at=NOW + dt.timedelta(minutes=5), event_time=NOW + dt.timedelta(minutes=5))
    stored = posted(ahead, {"alertname": "below_par"}, NOW)
    assert stored["startsAt"] == "2025-09-02T00:00:00Z"  # a quote stamped ahead starts now
    assert ended(stored, NOW + dt.timedelta(minutes=6), NOW)["endsAt"] == "2025-09-02T00:00:00Z"
    old = posted(an_alert(1), {"alertname": "below_par"}, NOW)
    assert ended(old, T0 - dt.timedelta(days=1), NOW)["endsAt"] == "2025-09-01T00:00:00Z"
    assert ended(old, T0 + dt.timedelta(hours=1), NOW)["endsAt"] == "2025-09-01T01:00:00Z"


def test_the_url_setting_adds_a_receiver_on_a_first_route_that_continues() -> None:
    routing = RoutingConfig.default(None).with_alertmanager("http://am:9093", 30)
    receiver = routing.receivers["alertmanager"]
    assert isinstance(receiver, AlertmanagerReceiver)
    assert receiver.repost_seconds == 30 and not receiver.honour_mutes
    assert [r.receiver for r in routing.routes_for({"rule": "below_par"})] == ["alertmanager", "log", "kafka"]
    assert routing.with_alertmanager("http://other:9093") is routing  # already has one: left alone
