"""A deal whose issuer name and province are markup: the web page must show them as text (tests/unit/views,
tests/integration/test_web_pages.py)."""

from __future__ import annotations

from typing import Any

INJECTED: dict[str, Any] = {
    "event_id": "d-evil",
    "deal_id": "EVIL-2025",
    "issuer_id": "evil",
    "issuer_name": "<script>document.title='owned'</script>Evil & \"Sons\"",
    "province": "<b>Hubei</b>",
    "announced_at": "2025-03-01T10:00:00+08:00",
    "asset_type": "toll_road",
    "tranches": [
        {
            "tranche_id": "EVIL-2025-A",
            "face_value": 100_000_000,
            "coupon_pct": 3.0,
            "issue_date": "2025-03-05",
            "maturity_date": "2030-03-05",
            "seniority": "senior",
        }
    ],
}
