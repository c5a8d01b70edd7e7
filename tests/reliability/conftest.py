from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.reliability.harness import report


@pytest.fixture
def show(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[str, dict[str, object]], None]]:
    """Prints a test's figures to the terminal even under -q and output capture, and keeps them in
    .reliability-figures.txt at the repository root."""

    def emit(title: str, figures: dict[str, object]) -> None:
        text = report(title, figures)
        with capsys.disabled():
            print("\n" + text, flush=True)

    yield emit
