"""One place that turns a stored map into any of its export formats."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from partitur.core.errors import ValidationFailed
from partitur.journey_maps import io, render, report, service
from partitur.storage.engine import Store

ExportFormat = Literal["json", "yaml", "csv", "svg", "png", "md", "html"]
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "yaml": "application/yaml",
    "csv": "text/csv; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def export_map(
    store: Store,
    *,
    workspace_id: str,
    key: str,
    fmt: str,
    since: datetime | None = None,
    until: datetime | None = None,
    version: int | None = None,
) -> bytes:
    """The map in ``fmt``; pictures and reports include measured data when a period is given."""
    if fmt not in MEDIA_TYPES:
        raise ValidationFailed(f"format must be one of {', '.join(MEDIA_TYPES)}", field="format")
    with store.read() as conn:
        document = service.get_map(
            conn, workspace_id=workspace_id, key=key, version=version
        ).document
        taxonomy = service.get_taxonomy(conn, workspace_id=workspace_id)
    if fmt == "json":
        return io.dump_json(document).encode()
    if fmt == "yaml":
        return io.dump_yaml(document).encode()
    if fmt == "csv":
        return io.document_to_csv(document).encode()
    measurement = insights = None
    if since is not None and until is not None:
        measurement = service.measure(
            store, workspace_id=workspace_id, key=key, since=since, until=until
        )
        insights = service.ranked_insights(
            store, workspace_id=workspace_id, key=key, since=since, until=until
        )
    if fmt in ("svg", "png"):
        return render.render_map(document, taxonomy, measurement, fmt=fmt)  # type: ignore[arg-type]
    if fmt == "md":
        return report.markdown_report(document, taxonomy, measurement, insights).encode()
    png = render.render_map(document, taxonomy, measurement, fmt="png")
    return report.html_report(document, taxonomy, measurement, insights, map_png=png).encode()
