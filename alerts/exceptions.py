"""Errors of the alert side, all from one base."""

from __future__ import annotations


class AlertsError(Exception):
    pass


class NotFound(AlertsError):
    """What was asked for does not exist: no alert with that fingerprint, no silence with that id (HTTP 404)."""


class Conflict(AlertsError):
    """The request does not fit the current state: only a firing alert can be acknowledged (HTTP 409)."""


class DeliveryError(AlertsError):
    """A sink could not deliver a notice."""


class Retryable(DeliveryError):
    """Worth trying again: a 5xx, a 429, a timeout, a broken connection."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Permanent(DeliveryError):
    """Trying again will not help: invalid_payload, channel_not_found, 404. Recorded and surfaced."""
