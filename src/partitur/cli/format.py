"""Figures for people: how the command line shows counts, shares, durations, money and tables.

One place, so every command reads the same: thousands separators (``12,345``), shares as
percentages (``12.5 %``), durations in words (``3 days 4 hours``), amounts with their currency
(``€1,234.50``), and tables whose cells wrap instead of being cut at the terminal's width.
``--json`` output never goes through here: machines get the raw values.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from partitur.core import jsonutil

#: currencies written before the amount; any other code follows it ("1,234.50 CHF")
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

#: words of field names whose values are shares of one (shown as percentages)
_SHARE_WORDS = {"rate", "share", "probability", "lift", "confidence", "chance", "from"}
#: words of field names whose values are money (shown with two decimals)
_MONEY_WORDS = {"revenue", "cost", "margin", "spend", "clv", "amount"}

_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


def count(value: int | float) -> str:
    """A whole number with thousands separators: ``12,345``; ``n/a`` for NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    return f"{round(value):,}"


def number(value: float | Decimal, digits: int = 2) -> str:
    """A figure with thousands separators and at most ``digits`` decimals (trailing zeros
    dropped): ``1,234.5``; ``n/a`` for NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def percent(share: float, digits: int = 1) -> str:
    """A share of one as a percentage: ``0.125`` -> ``12.5 %``."""
    if not math.isfinite(share):
        return "n/a"
    return f"{share * 100:,.{digits}f} %"


def duration(seconds: float) -> str:
    """A duration in words, to its two largest units: ``1 hour``, ``3 days 4 hours``,
    ``2 minutes 5 seconds``; under a minute with one decimal below ten (``4.2 seconds``)."""
    if not math.isfinite(seconds):
        return "n/a"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 59.5:
        shown = f"{seconds:.1f}".rstrip("0").rstrip(".") if seconds < 10 else f"{seconds:.0f}"
        return f"{sign}{shown} second{'' if shown == '1' else 's'}"
    whole = round(seconds)
    parts: list[str] = []
    for name, size in _UNITS:
        amount, whole = divmod(whole, size)
        if amount or parts:
            parts.append(f"{amount} {name}{'' if amount == 1 else 's'}")
        if len(parts) == 2:
            break
    return sign + " ".join(p for p in parts if not p.startswith("0 "))


def money(amount: float | Decimal, currency: str | None = None) -> str:
    """An amount with two decimals and its currency: ``€1,234.50``, ``1,234.50 CHF``;
    without a currency the plain amount (``1,234.50``)."""
    text = f"{amount:,.2f}"
    if not currency:
        return text
    code = currency.upper()
    symbol = _SYMBOLS.get(code)
    if symbol is None:
        return f"{text} {code}"
    return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"


def when(moment: datetime) -> str:
    """A moment in UTC, to the second: ``2026-01-05 09:30:01 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def cell(name: str, value: Any, *, currency: str | None = None) -> str:
    """One value of a result row, shown by what its field ``name`` says it is: shares as
    percentages, ``*_seconds`` as durations in words, money with two decimals, counts with
    separators."""
    if value is None:
        return ""
    words = set(name.lower().replace(" ", "_").split("_"))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, int | float | Decimal):
        if "seconds" in words:
            return duration(float(value))
        if words & _SHARE_WORDS and isinstance(value, float):
            return percent(value)
        if words & _MONEY_WORDS:
            return money(value, currency)
        if isinstance(value, int):
            return count(value)
        return number(value)
    if isinstance(value, dict | list):
        return jsonutil.dumps_str(value)
    return str(value)


@contextlib.contextmanager
def working(description: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner with ``description`` and the time taken on stderr while long work runs; none
    with ``quiet`` (``--json``) or when stderr is not a terminal, so scripts and pipes get
    only the result on stdout."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield
        return
    with console.status(description):
        yield


def table(*columns: str, title: str | None = None, **options: Any) -> Table:
    """A Rich table whose cells wrap (never cut with an ellipsis) when the terminal, or the 80
    columns of a pipe, is too narrow."""
    grid = Table(title=title, **options)
    for column in columns:
        grid.add_column(column, overflow="fold")
    return grid
