"""Runs the worker until SIGTERM or SIGINT: topics first, then faust, then a clean close."""

from __future__ import annotations

import logging
from typing import Any

import faust

from streams.kafka.codecs import missing_codecs
from streams.kafka.topics import ensure_topics
from streams.metrics import Metrics
from streams.model.positions import PositionBook
from streams.settings import Settings
from streams.state.marker import STATE_LOST
from streams.state.migrate import upgrade_state
from streams.worker.app import build_app, use_event_loop
from streams.worker.positions import load_at_start
from streams.worker.runtime import Runtime, redact_secrets
from streams.worker.state_watch import check_policy_at_start, marker_at_start

log = logging.getLogger(__name__)


def run_worker(
    settings: Settings, metrics: Metrics | None = None, positions: PositionBook | None = None
) -> int:
    redact_secrets(settings)  # before anything can log a secret
    for missing in missing_codecs():
        # Not fatal: only a batch in that codec fails, and it holds its partition with /readyz saying so.
        log.error("codec library missing, batches so compressed cannot be read or written: %s", missing)
    book = positions or load_at_start(settings.positions_file)
    if isinstance(book, str):
        log.error("%s", book)  # every bad line, numbered; the worker does not start on a wrong book
        return 2
    if not check_policy_at_start(settings).run:
        return 2  # an evicting Redis: the reason is logged
    ensure_topics(settings)
    upgrade_state(settings)
    use_event_loop(settings)
    runtime = Runtime.build(settings, metrics, positions=book)
    runtime.store.marker, lost = marker_at_start(settings)
    if lost is not None:
        runtime.handler.guard.block(STATE_LOST, lost)  # runs, not ready, consuming nothing: says why
    app = build_app(runtime)
    log.info("tranchewatch worker starting with %s", settings.as_dict())
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.spinner = None  # its terminal escapes only garble logs and piped output

    def _stop_sender(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        runtime.sender.stop()

    app.on_before_shutdown.connect(_stop_sender)

    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        runtime.publisher.close()
    return 0
