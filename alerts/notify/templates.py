"""How a notice reads to a credit analyst in Slack and in a log line."""

from __future__ import annotations

from typing import Any

from alerts.core.format import money
from alerts.core.model import Alert

_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


def title(rule: str) -> str:
    """A rule's title is its name in words ("below_par" -> "Below par"), so a new rule needs no entry here."""
    return rule.replace("_", " ").capitalize()


def headline(alert: Alert) -> str:
    state = "RESOLVED" if alert.status == "resolved" else alert.severity.upper()
    return f"[{state}] {title(alert.rule)}: {alert.summary}"


def _subject_line(alert: Alert) -> str:
    s = alert.subject
    parts = [
        f"tranche `{s.tranche_id}`" if s.tranche_id else "",
        f"issuer `{s.issuer_id}`" if s.issuer_id else "",
        f"deal `{s.deal_id}`" if s.deal_id else "",
        f"year {s.year}" if s.year else "",
        f"family `{s.entity_id}`" if s.entity_id else "",
    ]
    return " · ".join(p for p in parts if p)


def held(alert: Alert) -> str | None:
    """`held: Rmb50mn in fund-a, Rmb20mn in fund-b` from the evidence's holdings (what each portfolio held
    of the subject when the alert changed), or None when no portfolio holds it."""
    holdings = alert.evidence.get("holdings")
    if not isinstance(holdings, dict) or not holdings:
        return None
    currency = str(alert.evidence.get("currency", "CNY"))
    parts = [f"{money(float(face), currency)} in {name}" for name, face in holdings.items()]
    return "held: " + ", ".join(parts)


def _facts(alert: Alert) -> list[str]:
    e: dict[str, Any] = alert.evidence
    currency = str(e.get("currency", "CNY"))
    facts = []
    if "price" in e:
        basis = " per 100 original face" if e.get("price_basis") == "original" else ""
        facts.append(f"*Price* {e['price']:.2f}{basis}")
    if "clean_price" in e and e.get("price_basis") == "original":
        facts.append(f"*Clean price* {e['clean_price']:.2f} per 100 outstanding")
    if "discount" in e:
        facts.append(f"*Discount to par* {e['discount']:.2f}")
    if "factor" in e:
        note = " (assumed: nothing states it)" if "factor_note" in e else ""
        facts.append(f"*Factor* {e['factor']:.4g}{note}")
    if "outstanding_principal" in e:
        facts.append(f"*Outstanding* {money(e['outstanding_principal'], currency)}")
    elif "face_value" in e:
        facts.append(f"*Face value* {money(e['face_value'], currency)}")
    if "mark_to_market_loss" in e:
        facts.append(f"*Mark-to-market loss* {money(e['mark_to_market_loss'], currency)}")
    if "loss_pct_of_revenue" in e:
        facts.append(f"*Net loss / revenue* {e['loss_pct_of_revenue']:.1f}%")
    if "ytm_pct" in e:
        facts.append(f"*Yield to maturity* {e['ytm_pct']:.3f}%")
    if "ytp_pct" in e:
        facts.append(f"*Yield to put* {e['ytp_pct']:.3f}%")
    if "wal_years" in e:
        facts.append(f"*WAL* {e['wal_years']:.2f} years")
    since = alert.starts_at.isoformat()
    facts.append(
        f"*Since* {since}" if alert.status == "firing" else f"*Fired* {since} *resolved* {alert.ends_at}"
    )
    return facts


def _context(alert: Alert) -> str:
    """The subject, and what the portfolios hold of it (outside the facts: Slack caps those at ten)."""
    subject = _subject_line(alert) or alert.rule
    holding = held(alert)
    return f"{subject} · *{holding}*" if holding else subject


def slack_message(alert: Alert) -> dict[str, Any]:
    """Text for notifications and clients without blocks, plus blocks for a readable card."""
    icon = ":white_check_mark:" if alert.status == "resolved" else _ICON.get(alert.severity, "")
    title = f"{icon} {headline(alert)}"
    if (holding := held(alert)) is not None:
        title += f" ({holding})"  # the notification's text, e.g. on a phone: no blocks there
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _context(alert)}]},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in _facts(alert)][:10]},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"fingerprint `{alert.fingerprint}` seq {alert.seq}"}],
        },
    ]
    return {"text": title, "blocks": blocks}


def line(alert: Alert) -> str:
    """One notice as one line of a grouped message or a digest."""
    icon = ":white_check_mark:" if alert.status == "resolved" else _ICON.get(alert.severity, "")
    holding = held(alert)
    tail = f" — {holding}" if holding else ""
    return f"{icon} {headline(alert)}{tail} (`{alert.fingerprint}` seq {alert.seq})"


def group_message(alerts: list[Alert], title: str) -> dict[str, Any]:
    """Several notices that share an issuer or programme: one message listing each of them."""
    if len(alerts) == 1:
        return slack_message(alerts[0])
    firing = sum(1 for a in alerts if a.status == "firing")
    header = f"{len(alerts)} alert notices for {title or 'one group'} ({firing} firing)"
    body = "\n".join(line(a) for a in alerts)
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{header}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}},  # Slack caps a block at 3000
    ]
    return {"text": f"{header}\n{body}", "blocks": blocks}


def digest_message(title: str, alerts: list[Alert]) -> dict[str, Any]:
    """The day's notices for a quiet channel: a header and one line each."""
    body = "\n".join(line(a) for a in alerts) or "No alert notices."
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}},  # Slack caps a block at 3000
    ]
    return {"text": f"{title}\n{body}", "blocks": blocks}
