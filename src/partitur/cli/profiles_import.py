"""``partitur import profiles FILE.csv``: bulk profile import with a reject file."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from partitur.cli.common import console, emit_json, open_context
from partitur.core.actions import Actor
from partitur.core.errors import ValidationFailed
from partitur.identity import service as identity
from partitur.profiles import service
from partitur.profiles.contracts import ImportReport

CHUNK = 1000


def import_profiles_command(
    file: Path = typer.Argument(..., help="CSV with a header row: identifier and trait columns"),
    reject_file: Path | None = typer.Option(
        None, "--reject-file", help="Where bad rows go (default: FILE.rejects.csv)"
    ),
    id_column: list[str] = typer.Option(
        [],
        "--id-column",
        help="Extra column holding an external id (repeatable); the configured "
        "identity_external_id_traits are external ids too",
    ),
    json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Import profiles: columns user_id, anonymous_id, email, phone (and external id columns)
    identify the person, every other column is a trait. Re-running skips rows already imported;
    bad rows are written to the reject file with their line number and reason."""
    if not file.is_file():
        raise ValidationFailed(f"no such file: {file}", field="file")
    ctx = open_context()
    rejects_path = reject_file or file.with_suffix(".rejects.csv")
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        external = service.import_external_columns(
            header, [*ctx.settings.identity_external_id_traits, *id_column]
        )
        if not any(c in service.ID_COLUMNS or c in external for c in header):
            raise ValidationFailed(
                "the header names no identifier column (user_id, anonymous_id, email, phone "
                "or an --id-column)",
                field="file",
            )
        total = sum(1 for _ in file.open(encoding="utf-8-sig")) - 1
        blocklist = identity.Blocklist(ctx.settings.identity_blocked_values)
        tally = service.ImportTally()
        rows_seen = 0
        chunk: list[service.ProfileRow] = []
        source = f"import:{file.name}"

        def flush() -> None:
            if chunk:
                with ctx.store.begin() as conn:
                    service.import_profile_rows(
                        conn,
                        workspace_id=ctx.workspace_id,
                        rows=chunk,
                        source=source,
                        now=ctx.clock.now(),
                        tally=tally,
                        actor=Actor.cli(ctx.workspace_id),
                    )
                chunk.clear()

        with Progress(
            TextColumn("importing profiles"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            disable=json,
            transient=True,
        ) as progress:
            task = progress.add_task("rows", total=max(total, 0))
            for record in reader:
                rows_seen += 1
                line = reader.line_num
                try:
                    chunk.append(
                        service.parse_row(
                            line, record, external_columns=external, blocklist=blocklist
                        )
                    )
                except ValueError as exc:
                    tally.rejects.append((line, str(exc)))
                if len(chunk) >= CHUNK:
                    flush()
                progress.update(task, completed=rows_seen)
            flush()
    if tally.rejects:
        with rejects_path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "reason"])
            writer.writerows(tally.rejects)
    report = ImportReport(
        rows=rows_seen,
        created=tally.created,
        updated=tally.updated,
        skipped=tally.skipped,
        rejected=len(tally.rejects),
        reject_file=str(rejects_path) if tally.rejects else None,
    )
    ctx.close()
    if json:
        emit_json(report)
    else:
        console.print(
            f"{report.rows} rows: {report.created} created, {report.updated} updated, "
            f"{report.skipped} already imported, {report.rejected} rejected"
            + (f" (see {report.reject_file})" if report.reject_file else "")
        )
