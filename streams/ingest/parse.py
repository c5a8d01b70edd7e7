"""Raw Kafka bytes to a validated event, or a Rejected value that says why. Never raises."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from pydantic import ValidationError

from alerts.core.validation import problems
from streams.model.events import MODEL_OF_TOPIC, Event

MAX_MESSAGE_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Rejected:
    topic: str
    raw: bytes
    reason: str
    kind: str  # bounded: a metric label


def parse(topic: str, raw: bytes | None) -> Event | Rejected:
    model = MODEL_OF_TOPIC.get(topic)
    if model is None:
        return Rejected(topic, raw or b"", f"no event model for topic {topic!r}", "unknown_topic")
    if raw is None:
        return Rejected(topic, b"", "empty message (tombstone)", "empty")
    if len(raw) > MAX_MESSAGE_BYTES:
        return Rejected(topic, raw, f"message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}", "too_large")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejected(topic, raw, f"not valid JSON: {exc}", "bad_json")
    except RecursionError:
        return Rejected(topic, raw, "JSON nested too deeply", "bad_json")
    if not isinstance(data, dict):
        return Rejected(topic, raw, f"expected a JSON object, got {type(data).__name__}", "not_object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return Rejected(
            topic, raw, f"invalid {model.__name__}: {'; '.join(problems(exc, limit=5))}", "invalid_fields"
        )
    except (ValueError, RecursionError, OverflowError) as exc:
        return Rejected(topic, raw, f"invalid {model.__name__}: {exc}", "invalid_fields")
