"""How the command line shows figures to people."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rich.console import Console

from partitur.cli import format as fmt


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.25, "0.2 seconds"),
        (1, "1 second"),
        (4.2, "4.2 seconds"),
        (45, "45 seconds"),
        (60, "1 minute"),
        (125, "2 minutes 5 seconds"),
        (3600, "1 hour"),
        (3 * 3600 + 61, "3 hours 1 minute"),
        (86_400, "1 day"),
        (3 * 86_400, "3 days"),
        (3 * 86_400 + 4 * 3600 + 59, "3 days 4 hours"),
        (-90, "-1 minute 30 seconds"),
    ],
)
def test_durations_read_as_words(seconds: float, words: str) -> None:
    assert fmt.duration(seconds) == words


def test_counts_and_numbers_carry_thousands_separators() -> None:
    assert fmt.count(1234567) == "1,234,567"
    assert fmt.count(float("nan")) == "n/a"
    assert fmt.number(1234.5) == "1,234.5"
    assert fmt.number(1234.0) == "1,234"
    assert fmt.number(0.12345, 3) == "0.123"
    assert fmt.number(float("nan")) == "n/a"


def test_shares_read_as_percentages() -> None:
    assert fmt.percent(0.125) == "12.5 %"
    assert fmt.percent(1.0, 0) == "100 %"


def test_money_carries_its_currency() -> None:
    assert fmt.money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert fmt.money(-3, "usd") == "-$3.00"
    assert fmt.money(1234.5, "CHF") == "1,234.50 CHF"
    assert fmt.money(19.9) == "19.90"


def test_cells_are_shown_by_what_their_field_holds() -> None:
    assert fmt.cell("conversion_rate", 0.0625) == "6.2 %"
    assert fmt.cell("conversion_from_start", 0.5) == "50.0 %"
    assert fmt.cell("median_time_to_goal_seconds", 7200.0) == "2 hours"
    assert fmt.cell("attributed_revenue", 1234.5, currency="EUR") == "€1,234.50"
    assert fmt.cell("entered", 12000) == "12,000"
    assert fmt.cell("conversions", 2.5) == "2.5"  # fractional credit, not a share
    assert fmt.cell("significant", True) == "yes"
    assert fmt.cell("at", datetime(2026, 1, 5, 9, 30, 1, 500, tzinfo=UTC)) == (
        "2026-01-05 09:30:01 UTC"
    )
    assert fmt.cell("anything", None) == ""


def test_tables_wrap_long_cells_instead_of_cutting_them() -> None:
    grid = fmt.table("key", "description")
    long = "a description long enough to need more than one line in forty columns"
    grid.add_row("welcome", long)
    console = Console(width=40, record=True)
    console.print(grid)
    shown = console.export_text()
    assert "…" not in shown
    assert "".join(shown.split()).count("".join(long.split())) == 0  # wrapped over lines
    assert all(word in shown for word in long.split())
