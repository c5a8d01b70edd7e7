"""Errors of the alert side, all from one base."""

from __future__ import annotations


class AlertsError(Exception):
    pass


class DeliveryError(AlertsError):
    """A sink could not deliver a notice."""


class Retryable(DeliveryError):
    """Worth trying again: a 5xx, a 429, a timeout, a broken connection."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Permanent(DeliveryError):
    """Trying again will not help: invalid_payload, channel_not_found, 404. Recorded and surfaced."""
