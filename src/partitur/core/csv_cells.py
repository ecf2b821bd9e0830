"""CSV cells that a spreadsheet cannot run: text starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return (a formula to Excel, LibreOffice and Google Sheets, e.g.
``=HYPERLINK(...)`` from a trait a visitor sent) gets a leading apostrophe, which spreadsheets
show as text. Numbers stay numbers. ``unquote_cell`` reverses it for files partitur reads back
(journey maps)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value: Any) -> Any:
    """``value`` ready for a CSV cell: formula-like text quoted, everything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _number(value):
        return "'" + value
    return value


def safe_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: safe_cell(value) for key, value in row.items()}


def unquote_cell(text: str) -> str:
    """The text ``safe_cell`` quoted, as it was."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) and not _number(text[1:]):
        return text[1:]
    return text


class SafeDictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """``csv.DictWriter`` whose rows pass through ``safe_row``."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow(safe_row(dict(rowdict)))
