"""CSV export of analytics results (flat rows; nested values as JSON; formula-like text
quoted so that a spreadsheet shows it instead of running it)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from partitur.core import jsonutil
from partitur.core.csv_cells import safe_cell


def to_csv(rows: Iterable[BaseModel | dict[str, Any]]) -> str:
    """Rows (models or dicts with the same keys) as CSV text with a header line."""
    flat = [r.model_dump(mode="json") if isinstance(r, BaseModel) else dict(r) for r in rows]
    out = io.StringIO()
    if not flat:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(flat[0]), lineterminator="\n")
    writer.writeheader()
    for row in flat:
        writer.writerow(
            {
                k: safe_cell(jsonutil.dumps_str(v) if isinstance(v, dict | list) else v)
                for k, v in row.items()
            }
        )
    return out.getvalue()


def funnel_rows(result: Any) -> list[dict[str, Any]]:
    """One row per (breakdown value, step); the overall funnel has an empty value."""
    rows = [{"group": "", **s.model_dump(mode="json")} for s in result.steps]
    for group in result.groups:
        rows += [{"group": group.value or "", **s.model_dump(mode="json")} for s in group.steps]
    return rows
