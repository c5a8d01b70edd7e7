"""The metrics catalogue, read off the code's own registry, so the docs cannot drift from what is exported."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from streams.metrics import Metrics

_TYPES = {Counter: "counter", Gauge: "gauge", Histogram: "histogram"}


@dataclass(frozen=True)
class MetricDoc:
    name: str
    type: str
    labels: tuple[str, ...]
    help: str


def catalogue() -> list[MetricDoc]:
    metrics = Metrics(CollectorRegistry())
    docs = []
    for value in vars(metrics).values():
        kind = next((t for cls, t in _TYPES.items() if isinstance(value, cls)), None)
        if kind is None:
            continue
        name = value._name + ("_total" if kind == "counter" else "")
        docs.append(MetricDoc(name, kind, tuple(value._labelnames), value._documentation))
    return sorted(docs, key=lambda d: d.name)


def markdown() -> str:
    rows = ["| metric | type | labels | meaning |", "| --- | --- | --- | --- |"]
    for doc in catalogue():
        labels = ", ".join(f"`{label}`" for label in doc.labels) or "—"
        rows.append(f"| `{doc.name}` | {doc.type} | {labels} | {doc.help} |")
    return "\n".join(rows)
