"""A redacted record must still format under faust's (mode's) formatter, which the worker's logs go through."""

from __future__ import annotations

import logging

from mode.utils.logging import ExtensionFormatter

from alerts.redact import RedactingFilter


def test_redacted_records_format_under_modes_formatter() -> None:
    formatter = ExtensionFormatter(fmt="%(message)s")
    record = logging.LogRecord(
        "t", logging.WARNING, __file__, 1, "ALERT %s at %s (100%%) %s", ("x", "95.0", "s3cret"), None
    )
    RedactingFilter(["s3cret"]).filter(record)
    text = formatter.format(record)
    assert "ALERT x at 95.0 (100%)" in text and "s3cret" not in text
