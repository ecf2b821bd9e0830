"""Import and export of journey maps: JSON/YAML documents and a CSV of elements.

The CSV has one row per element (``kind`` says which: map, stage, touchpoint, need, job,
interaction, fear, abandonment_reason, pain_point, opportunity, staff_knowledge, kpi) so CX
teams can edit maps in a spreadsheet; ``document_from_csv(document_to_csv(d)) == d``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from partitur.core.csv_cells import SafeDictWriter, unquote_cell
from partitur.core.errors import BadRequest, InvalidDocument
from partitur.core.safe_yaml import YamlRefused, load_yaml
from partitur.journey_maps.contracts import JourneyMapDocument, as_payload

COLUMNS = [
    "kind",
    "stage",
    "id",
    "text",
    "description",
    "channel",
    "owner",
    "it_system",
    "device",
    "severity",
    "effort",
    "status",
    "touchpoint",
    "linked_journey",
    "linked_at",
    "emotion",
    "target",
    "unit",
    "potential",
    "events",
    "satisfaction",
    "text_property",
    "extra",
]
#: stage list fields exported one row per entry
TEXT_LISTS = {
    "need": "needs",
    "job": "jobs_to_be_done",
    "interaction": "interactions",
    "fear": "fears",
    "abandonment_reason": "abandonment_reasons",
    "staff_knowledge": "staff_knowledge",
}
MAP_FIELDS = [
    "name",
    "description",
    "owner",
    "status",
    "state",
    "parent",
    "variant_of",
    "market",
    "segment",
    "persona",
]


def parse_document(raw: Any) -> JourneyMapDocument:
    """Validate a map document; raises ``InvalidDocument`` listing every problem with its path."""
    try:
        return JourneyMapDocument.model_validate(raw)
    except ValidationError as exc:
        problems = [
            {"path": ".".join(str(p) for p in e["loc"]) or "document", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidDocument(
            f"the map has {len(problems)} problem(s)", problems=problems
        ) from None


def load_text(text: str, *, fmt: str) -> JourneyMapDocument:
    """Read a map from JSON, YAML or CSV text."""
    if fmt == "csv":
        return document_from_csv(text)
    try:
        raw = json.loads(text) if fmt == "json" else load_yaml(text)
    except (json.JSONDecodeError, YamlRefused) as exc:
        raise BadRequest(
            f"not valid {fmt.upper()}: {str(exc).splitlines()[0]}", field="document"
        ) from None
    return parse_document(raw)


def load_file(path: Path) -> JourneyMapDocument:
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"yml": "yaml", "yaml": "yaml", "json": "json", "csv": "csv"}.get(suffix)
    if fmt is None:
        raise BadRequest(f"{path.name}: use a .json, .yaml or .csv file", field="file")
    return load_text(path.read_text(encoding="utf-8"), fmt=fmt)


def dump_json(document: JourneyMapDocument) -> str:
    return json.dumps(as_payload(document), indent=2, ensure_ascii=False, default=str) + "\n"


def dump_yaml(document: JourneyMapDocument) -> str:
    payload = json.loads(json.dumps(as_payload(document), default=str))
    return str(yaml.safe_dump(payload, sort_keys=False, allow_unicode=True))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return str(value)


def document_to_csv(document: JourneyMapDocument) -> str:
    payload = as_payload(document)
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(
        {
            "kind": "map",
            "id": document.key,
            "text": document.name,
            "extra": json.dumps(
                {f: payload[f] for f in MAP_FIELDS if f in payload and f != "name"},
                ensure_ascii=False,
            ),
        }
    )
    for stage in payload.get("stages", []):
        key = stage["key"]
        writer.writerow(
            {"kind": "stage", "stage": key, "id": key, "emotion": _cell(stage.get("emotion"))}
        )
        for tp in stage.get("touchpoints", []):
            writer.writerow(
                {
                    "kind": "touchpoint",
                    "stage": key,
                    "id": tp["id"],
                    "text": tp["name"],
                    **{
                        f: _cell(tp.get(f))
                        for f in (
                            "channel",
                            "owner",
                            "it_system",
                            "device",
                            "events",
                            "satisfaction",
                            "text_property",
                        )
                    },
                }
            )
        for kind, field in TEXT_LISTS.items():
            for text in stage.get(field, []):
                writer.writerow({"kind": kind, "stage": key, "text": text})
        for kind, field in (("pain_point", "pain_points"), ("opportunity", "opportunities")):
            for item in stage.get(field, []):
                writer.writerow(
                    {
                        "kind": kind,
                        "stage": key,
                        "id": item["id"],
                        "text": item["title"],
                        **{
                            f: _cell(item.get(f))
                            for f in (
                                "description",
                                "severity",
                                "effort",
                                "status",
                                "touchpoint",
                                "linked_journey",
                                "linked_at",
                            )
                        },
                    }
                )
        for kpi in stage.get("kpis", []):
            writer.writerow(
                {
                    "kind": "kpi",
                    "stage": key,
                    "text": kpi["name"],
                    **{f: _cell(kpi.get(f)) for f in ("target", "unit", "potential")},
                }
            )
    return out.getvalue()


def _json_cell(row: dict[str, str], field: str, line: int) -> Any:
    try:
        return json.loads(row[field]) if row.get(field) else None
    except json.JSONDecodeError:
        raise BadRequest(f"line {line}: column {field} is not valid JSON", field=field) from None


def document_from_csv(text: str) -> JourneyMapDocument:
    """Rebuild a map from its element CSV; bad rows are reported with their line number."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"kind", "stage", "id", "text"} - set(reader.fieldnames or [])
    if missing:
        raise BadRequest(f"the CSV lacks the columns {', '.join(sorted(missing))}", field="file")
    doc: dict[str, Any] = {"stages": []}
    stages: dict[str, dict[str, Any]] = {}
    for line, cells in enumerate(reader, start=2):
        row = {k: unquote_cell(v) if isinstance(v, str) else v for k, v in cells.items()}
        kind = (row.get("kind") or "").strip()
        clean = {k: (v if v != "" else None) for k, v in row.items() if k in COLUMNS}
        if kind == "map":
            doc.update({"key": row["id"], "name": row["text"]})
            doc.update(_json_cell(row, "extra", line) or {})
            continue
        stage_key = row.get("stage") or ""
        if kind == "stage":
            stage: dict[str, Any] = {"key": stage_key}
            if clean.get("emotion") is not None:
                stage["emotion"] = float(clean["emotion"])  # type: ignore[arg-type]
            stages[stage_key] = stage
            doc["stages"].append(stage)
            continue
        if stage_key not in stages:
            raise BadRequest(
                f"line {line}: stage {stage_key!r} has no stage row above it", field="stage"
            )
        target = stages[stage_key]
        if kind == "touchpoint":
            tp: dict[str, Any] = {"id": row["id"], "name": row["text"]}
            for f in ("channel", "owner", "it_system", "device", "text_property"):
                if clean.get(f) is not None:
                    tp[f] = clean[f]
            for f in ("events", "satisfaction"):
                value = _json_cell(row, f, line)
                if value is not None:
                    tp[f] = value
            target.setdefault("touchpoints", []).append(tp)
        elif kind in TEXT_LISTS:
            target.setdefault(TEXT_LISTS[kind], []).append(row["text"])
        elif kind in ("pain_point", "opportunity"):
            item: dict[str, Any] = {"id": row["id"], "title": row["text"]}
            for f in ("description", "status", "touchpoint", "linked_journey", "linked_at"):
                if clean.get(f) is not None:
                    item[f] = clean[f]
            for f in ("severity", "effort"):
                if clean.get(f) is not None:
                    item[f] = clean[f]
            field = "pain_points" if kind == "pain_point" else "opportunities"
            target.setdefault(field, []).append(item)
        elif kind == "kpi":
            kpi: dict[str, Any] = {"name": row["text"]}
            for f in ("target", "unit", "potential"):
                if clean.get(f) is not None:
                    kpi[f] = clean[f]
            target.setdefault("kpis", []).append(kpi)
        else:
            raise BadRequest(f"line {line}: unknown kind {kind!r}", field="kind")
    if "key" not in doc:
        raise BadRequest("the CSV has no 'map' row naming the map", field="kind")
    return parse_document(doc)
