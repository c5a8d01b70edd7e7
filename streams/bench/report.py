"""The bench's printed report: figures, the ratios between them, and the issue's targets checked."""

from __future__ import annotations

import os
import platform
import sys

from streams.bench.run import Report

ORDER = ("faust-default", "faust-tuned", "naive", "worker", "two-workers")


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def machine() -> list[str]:
    return [
        f"uname -a: {' '.join(platform.uname())}",
        f"nproc: {os.cpu_count()}",
        f"python: {sys.version.split()[0]} ({platform.python_implementation()})",
    ]


def rates(report: Report) -> dict[str, float]:
    out = {name: t.rate for name, t in report.throughput.items()}
    if report.raw is not None:
        out["raw"] = report.raw.rate
    return out


def targets(report: Report) -> list[tuple[str, bool, str]]:
    r = rates(report)
    checks = []
    if {"worker", "faust-tuned"} <= r.keys():
        share = _ratio(r["worker"], r["faust-tuned"])
        checks.append(("worker >= 70% of the tuned empty faust agent", share >= 0.7, f"{share:.0%}"))
    if {"worker", "naive"} <= r.keys():
        times = _ratio(r["worker"], r["naive"])
        checks.append(("worker >= 10x the naive baseline", times >= 10, f"{times:.1f}x"))
    if {"faust-tuned", "faust-default"} <= r.keys():
        times = _ratio(r["faust-tuned"], r["faust-default"])
        checks.append(("tuned faust >= 3x default faust", times >= 3, f"{times:.1f}x"))
    fixed = report.latency.get("fixed")
    if fixed is not None:
        checks.append(
            ("p99 publish-to-alert < 100 ms at the fixed rate", fixed.p99_ms < 100, f"{fixed.p99_ms:.1f} ms")
        )
    if {"two-workers", "worker"} <= r.keys():
        times = _ratio(r["two-workers"], r["worker"])
        same = report.alerts_match
        checks.append(
            ("two workers: same alerts, more throughput", same and times > 1, f"{times:.2f}x, same={same}")
        )
    if report.alerts:
        checks.append(("naive and worker alert sets equal", report.alerts_match, str(report.alerts)))
    return checks


def render(report: Report) -> str:
    o = report.options
    lines = [
        f"tranchewatch bench: {o.quotes} quotes over {o.tranches} tranches; events by topic {report.events}"
    ]
    lines += machine()
    codec = o.compression or "uncompressed"
    lines.append(f"preload: {report.publish_rate:,.0f} msg/s (aiokafka producer, {codec} batches)")
    lines.append("")
    lines.append(
        "throughput, events/s from the first event seen to the last handled: raw and empty agents over the three "
        "preloaded topics; naive and workers over the quotes, published once they had read deals and financials"
    )
    lines.append(
        f"{'contender':<16}{'events/s':>12}{'% raw':>8}{'% tuned':>9}{'x naive':>9}{'peak RSS MB':>13}"
    )
    r = rates(report)
    if report.raw is not None:
        lines.append(
            f"{'raw aiokafka':<16}{r['raw']:>12,.0f}{'100%':>8}{'':>9}{_ratio(r['raw'], r.get('naive', 0)):>9.1f}"
        )
    for name in ORDER:
        t = report.throughput.get(name)
        if t is None:
            continue
        lines.append(
            f"{name:<16}{t.rate:>12,.0f}{_ratio(t.rate, r.get('raw', 0)):>8.1%}"
            f"{_ratio(t.rate, r.get('faust-tuned', 0)):>9.0%}{_ratio(t.rate, r.get('naive', 0)):>9.1f}"
            f"{t.peak_rss_mb:>13.0f}" + (f"   per process {t.per_process}" if len(t.per_process) > 1 else "")
        )
    if report.alerts:  # not with --only throughput
        lines += _stateful(report)
    lines.append("")
    lines.append("targets:")
    for what, ok, figure in targets(report):
        lines.append(f"  [{'met' if ok else 'NOT met'}] {what}: {figure}")
    return "\n".join(lines)


def _stateful(report: Report) -> list[str]:
    o = report.options
    lines: list[str] = []
    lines.append("")
    lines.append("publish-to-alert latency of `tranchewatch worker` (alerts caused by quotes, on abs.alerts)")
    for name, lat in report.latency.items():
        offered = f"{lat.offered:,.0f}/s offered" if lat.offered else "as fast as possible"
        lines.append(
            f"  {name:<11} {offered:>20}, published {lat.published:,.0f}/s: p50 {lat.p50_ms:.1f} ms, "
            f"p99 {lat.p99_ms:.1f} ms, p99.9 {lat.p999_ms:.1f} ms ({lat.samples} alerts), "
            f"peak RSS {lat.peak_rss_mb:.0f} MB"
        )
    lines.append("")
    total = sum(report.memory.values())
    state_kinds = ("tranche", "issuer", "deal", "market", "stale", "clock")  # stale: stale_quote's index
    state = sum(v for k, v in report.memory.items() if k in state_kinds)
    lines.append(
        f"redis memory after the worker run: {total / o.tranches:,.0f} B per tranche in all, "
        f"{state / o.tranches:,.0f} B per tranche for the state; by kind {report.memory}"
    )
    lines.append(f"alert sets: {report.alerts}; equal: {report.alerts_match}")
    lines += [f"  {m}" for m in report.mismatch]
    return lines
