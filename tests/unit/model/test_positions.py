"""The positions file: what it holds, and every way it can be wrong, each named with its line number."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.model.positions import PositionBook, PositionsError, parse_positions, read_positions

GOOD = """portfolio,tranche_id,holding_face
# a comment, and a blank line, are skipped

fund-a,WHBUS-2025-A,50000000
fund-b,WHBUS-2025-A,2e7
fund-a,HSTOWER-2025-A,0
fund-a,LATER-2026-A,1000
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PositionsError) as info:
        parse_positions(text, "pos.csv")
    assert "positions file pos.csv is invalid" in str(info.value)
    return info.value.problems


def test_a_good_file_indexes_holdings_by_tranche_and_portfolio() -> None:
    got = parse_positions(GOOD, "pos.csv")
    assert [r.line for r in got.rows] == [4, 5, 6, 7]
    assert got.portfolios == ["fund-a", "fund-b"]
    assert got.of_tranche("WHBUS-2025-A") == {"fund-a": 50e6, "fund-b": 20e6}
    # A zero is listed (a closed position) but holds nothing.
    assert got.of_tranche("HSTOWER-2025-A") == {"fund-a": 0.0}
    assert got.held(["WHBUS-2025-A", "HSTOWER-2025-A", "WHBUS-2025-A"]) == {"fund-a": 50e6, "fund-b": 20e6}
    assert got.held(["NOBODY"]) == {}
    assert [r.tranche_id for r in got.unknown({"WHBUS-2025-A", "HSTOWER-2025-A"})] == ["LATER-2026-A"]


def test_columns_in_any_order_extra_ones_ignored_spaces_trimmed_bom_read(tmp_path: Path) -> None:
    path = tmp_path / "pos.csv"
    path.write_text("\ufeffHolding_Face, note ,tranche_id,portfolio\n 1.5e6 ,bought in May, T-1 , fund-a \n")
    got = read_positions(path)
    assert got.of_tranche("T-1") == {"fund-a": 1.5e6} and got.source == str(path)


def test_header_only_is_no_holdings_and_an_empty_file_is_refused() -> None:
    assert parse_positions("portfolio,tranche_id,holding_face\n").rows == ()
    assert problems("") == ["line 1: no header; expected the columns portfolio, tranche_id, holding_face"]


def test_a_missing_column_is_refused_at_the_header_line() -> None:
    (found,) = problems("# positions\nportfolio,tranche,holding_face\nfund-a,T-1,5\n")
    assert found.startswith("line 2: header") and "lacks column(s) tranche_id" in found


def test_every_bad_row_is_named_with_its_line_at_once() -> None:
    text = "\n".join(
        [
            "portfolio,tranche_id,holding_face",  # 1
            "fund-a,T-1,-5",  # 2 negative
            "fund-a,T-2,lots",  # 3 not a number
            "fund-a,T-3,",  # 4 empty holding
            "fund-a,T-4,nan",  # 5 not finite
            ",T-5,1",  # 6 no portfolio
            "fund-a,T-1,7",  # 7 fine: line 2 was refused, so not a duplicate
            "fund-a,T-1,8",  # 8 duplicate of line 7
            '"fund,a",T-6,1',  # 9 a comma in the portfolio's name
            "fund-a,T-7",  # 10 too few cells
        ]
    )
    found = problems(text)
    assert [p.split(":")[0] for p in found] == [f"line {n}" for n in (2, 3, 4, 5, 6, 8, 9, 10)]
    assert "greater than or equal to 0" in found[0] and "-5" in found[0]
    assert "valid number" in found[1] and "'lots'" in found[1]
    assert "empty" in found[2]
    assert "finite" in found[3]
    assert "portfolio" in found[4]
    assert found[5] == "line 8: duplicate of line 7 (portfolio 'fund-a', tranche 'T-1')"
    assert "portfolio" in found[6] and "pattern" in found[6]
    assert found[7] == "line 10: 2 cells, the header has 3"


def test_a_quoted_field_across_lines_is_numbered_by_its_last_line() -> None:
    found = problems('portfolio,tranche_id,holding_face\nfund-a,"T-1\nT-2",-1\n')
    assert found[0].startswith("line 3:")


def test_the_book_keeps_its_positions_when_a_reload_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "pos.csv"
    path.write_text("portfolio,tranche_id,holding_face\nfund-a,T-1,5\n")
    book = PositionBook.load(path)
    assert book.current is not None and book.current.of_tranche("T-1") == {"fund-a": 5.0}
    path.write_text("portfolio,tranche_id,holding_face\nfund-a,T-1,-5\n")
    with pytest.raises(PositionsError, match="line 2"):
        book.reload()
    assert book.current.of_tranche("T-1") == {"fund-a": 5.0}
    path.unlink()
    with pytest.raises(PositionsError, match="cannot be read"):
        book.reload()
    path.write_text("portfolio,tranche_id,holding_face\nfund-b,T-1,6\n")
    assert book.reload() is book.current and book.current.of_tranche("T-1") == {"fund-b": 6.0}


def test_no_file_configured_is_no_positions_at_all() -> None:
    book = PositionBook.load(None)
    assert book.current is None and book.reload() is None


def test_the_deploy_example_is_a_valid_positions_file() -> None:
    example = Path(__file__).parents[3] / "deploy" / "positions.example.csv"
    assert read_positions(example).portfolios == ["fund-a", "fund-b"]
