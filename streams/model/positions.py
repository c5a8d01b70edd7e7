"""Holdings (contract v2, `TRANCHEWATCH_POSITIONS_FILE`): what each portfolio holds of each tranche.

The file is a CSV with a header naming at least `portfolio`, `tranche_id` and `holding_face` (in any order;
other columns are ignored, so a fund's own export can carry its notes). Blank lines and lines starting with
`#` are skipped. Every problem is reported with its line number, all of them at once (up to a bound), so one
edit fixes the file: a missing column, an empty portfolio or tranche, a portfolio name with a comma (the
routing label joins portfolios with commas), a holding that is not a finite number or is negative, and a
second row for the same (portfolio, tranche_id). A holding of 0 is kept (a closed position may stay
listed) but holds nothing: it makes no portfolio label, no evidence and no portfolio exposure.

A row for a tranche the state does not know is kept: the deal may be announced later. The views list such
rows as unknown tranches. Pure but for `read_positions`, which reads the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

COLUMNS = ("portfolio", "tranche_id", "holding_face")
MAX_PROBLEMS = 20  # reported at most; a file with more is wrong throughout (a wrong delimiter, say)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Position(BaseModel):
    """One row of the positions file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    portfolio: Annotated[Name, StringConstraints(pattern=r"^[^,]+$")]
    tranche_id: Name
    holding_face: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    line: int = Field(0, description="line of the positions file", exclude=True)


class PositionsError(ValueError):
    """A positions file that cannot be used; `problems` are `line N: ...`, in file order."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source, self.problems = source, problems
        super().__init__(f"positions file {source} is invalid:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Positions:
    """The holdings of one positions file, indexed by tranche."""

    rows: tuple[Position, ...] = ()
    source: str = ""
    by_tranche: dict[str, dict[str, float]] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, rows: Iterable[Position], source: str = "") -> Positions:
        kept = tuple(rows)
        index: dict[str, dict[str, float]] = {}
        for row in kept:
            index.setdefault(row.tranche_id, {})[row.portfolio] = row.holding_face
        return cls(kept, source, index)

    @property
    def portfolios(self) -> list[str]:
        return sorted({r.portfolio for r in self.rows})

    def of_tranche(self, tranche_id: str) -> dict[str, float]:
        """Every row's holding of the tranche by portfolio, zeros included."""
        return self.by_tranche.get(tranche_id, {})

    def held(self, tranche_ids: Iterable[str]) -> dict[str, float]:
        """What each portfolio holds (> 0) of these tranches together, by portfolio name."""
        total: dict[str, float] = {}
        for tranche_id in dict.fromkeys(tranche_ids):  # each tranche once, in order
            for portfolio, face in self.of_tranche(tranche_id).items():
                if face > 0:
                    total[portfolio] = total.get(portfolio, 0.0) + face
        return dict(sorted(total.items()))

    def unknown(self, known: Mapping[str, object] | set[str]) -> list[Position]:
        """The rows whose tranche is not in `known` (yet): kept, and reported by the views."""
        return [r for r in self.rows if r.tranche_id not in known]


def _problem(line: int, exc: ValidationError) -> list[str]:
    found = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        found.append(f"line {line}: {where}: {error['msg']} (got {error.get('input')!r})")
    return found


def parse_positions(text: str, source: str = "<positions>") -> Positions:
    """The positions of a CSV text, or PositionsError listing every problem with its line number."""
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    problems: list[str] = []
    rows: list[Position] = []
    first_line: dict[tuple[str, str], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise PositionsError(
                    source, [f"line {line}: header {cells!r} lacks column(s) {', '.join(missing)}"]
                )
            continue
        if len(cells) < len(header):
            problems.append(f"line {line}: {len(cells)} cells, the header has {len(header)}")
            continue
        values = {name: cells[header.index(name)] for name in COLUMNS}
        if values["holding_face"].strip() == "":
            problems.append(f"line {line}: holding_face: empty (a holding is a number, 0 or more)")
            continue
        try:
            row = Position.model_validate({**values, "line": line})
        except ValidationError as exc:
            problems.extend(_problem(line, exc))
            continue
        key = (row.portfolio, row.tranche_id)
        if key in first_line:
            problems.append(
                f"line {line}: duplicate of line {first_line[key]} "
                f"(portfolio {row.portfolio!r}, tranche {row.tranche_id!r})"
            )
            continue
        first_line[key] = line
        rows.append(row)
    if header is None:
        problems.insert(0, f"line 1: no header; expected the columns {', '.join(COLUMNS)}")
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more")
        raise PositionsError(source, shown)
    return Positions.of(rows, source)


def read_positions(path: Path) -> Positions:
    """The positions file at `path`; PositionsError (naming the file) if it cannot be read or is invalid."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's export may start with a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise PositionsError(str(path), [f"cannot be read: {exc}"]) from None
    return parse_positions(text, str(path))


class PositionBook:
    """The positions in force: read at start, replaced on a reload only by a valid file. `current` is None
    when no positions file is configured (the views then show no holdings at all, not holdings of 0)."""

    def __init__(self, path: Path | None, current: Positions | None = None) -> None:
        self.path = path
        self.current = current

    @classmethod
    def load(cls, path: Path | None) -> PositionBook:
        """The book of `path` (None: unset); PositionsError if the file is invalid."""
        return cls(path, read_positions(path) if path is not None else None)

    def reload(self) -> Positions | None:
        """Reads the file again; on PositionsError the positions in force stay as they were."""
        if self.path is None:
            return None
        self.current = read_positions(self.path)
        return self.current
