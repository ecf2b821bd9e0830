"""``partitur models``: customer lifetime value, sentiment, topics and the model registry."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from partitur.cli import format as fmt
from partitur.cli.common import JsonOpt, console, emit_json, open_context, read_yaml_file
from partitur.core.actions import Actor
from partitur.core.clock import parse_iso8601
from partitur.core.errors import ValidationFailed
from partitur.ml import service as ml_service
from partitur.ml.contracts import ModelComparison, PropensityDefinition

app = typer.Typer(
    rich_markup_mode=None,
    help="Models: CLV, sentiment, topics and the model registry.",
    no_args_is_help=True,
)


def _date(value: str, field: str) -> datetime:
    try:
        moment = parse_iso8601(value)
    except ValueError as exc:
        raise ValidationFailed(f"{value!r} is not an ISO 8601 date", field=field) from exc
    return moment.astimezone(UTC)


@app.command("clv")
def clv_command(
    until: str | None = typer.Option(
        None,
        help="Calibration cut-off (ISO 8601); later orders validate the fit. "
        "Default: --holdout-days before now.",
    ),
    holdout_days: int = typer.Option(
        90, min=1, help="Without --until: validate on the orders of the last N days."
    ),
    unit: str = typer.Option("days", help="Time unit of the model: days or weeks."),
    event: str = typer.Option("Order Completed", help="The order event name."),
    revenue: str = typer.Option("revenue", help="The revenue property of the order event."),
    horizon_days: int = typer.Option(365, help="CLV horizon in days."),
    discount_rate: float = typer.Option(0.01, help="Discount rate per 30-day period."),
    chart: Path | None = typer.Option(
        None, "--chart", help="Also draw the holdout chart to this .png file."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Fit and report without storing."),
    json: bool = JsonOpt,
) -> None:
    """Fit BG/NBD + Gamma-Gamma on orders, validate on the holdout, store CLV traits."""
    if unit not in ("days", "weeks"):
        raise ValidationFailed("unit must be days or weeks", field="unit")
    if chart is not None and chart.suffix.lower() != ".png":
        raise ValidationFailed("the chart file must end in .png", field="--chart")
    ctx = open_context()
    now = ctx.clock.now()
    cut_off = now - timedelta(days=holdout_days) if until is None else _date(until, "until")
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
        disable=json,
    ) as progress:
        progress.add_task("fitting CLV models", total=None)
        with ctx.store.begin() as conn:
            report = ml_service.run_clv(
                conn,
                workspace_id=ctx.workspace_id,
                until=cut_off,
                now=now,
                var_dir=ctx.settings.var_dir,
                unit=unit,  # type: ignore[arg-type]
                event=event,
                revenue_property=revenue,
                horizon_days=horizon_days,
                discount_rate=discount_rate,
                store=not dry_run,
                chart_path=chart,
                currency=ctx.settings.currency(),
                actor=Actor.cli(ctx.workspace_id),
            )
    if json:
        emit_json(report)
        return
    bg = report.bg_nbd
    console.print(
        f"BG/NBD on {fmt.count(report.customers)} customers "
        f"({fmt.count(report.repeat_customers)} repeat): "
        f"r={bg['r']:.3f} alpha={bg['alpha']:.3f} a={bg['a']:.3f} b={bg['b']:.3f} "
        f"LL={bg['log_likelihood']:.1f}"
    )
    if report.gamma_gamma:
        gg = report.gamma_gamma
        console.print(f"Gamma-Gamma: p={gg['p']:.3g} q={gg['q']:.3g} v={gg['v']:.3g}")
    console.print(f"spend model: {report.gamma_gamma_status}; amounts in {report.currency}")
    if report.unconverted_orders:
        console.print(
            f"{fmt.count(report.unconverted_orders)} orders in a currency without a rate were "
            "left out of the spend (PARTITUR_CURRENCY_RATES)"
        )
    table = fmt.table(
        "calibration purchases",
        "customers",
        "predicted",
        "actual",
        title=f"holdout: {report.holdout_length:.1f} {report.unit}",
    )
    for b in report.buckets:
        table.add_row(
            b.frequency, fmt.count(b.customers), fmt.number(b.predicted), fmt.number(b.actual)
        )
    console.print(table)
    calibration = fmt.table(
        "predicted purchases", "customers", "predicted", "actual", title="holdout calibration"
    )
    for b in report.calibration:
        calibration.add_row(
            b.frequency, fmt.count(b.customers), fmt.number(b.predicted), fmt.number(b.actual)
        )
    console.print(calibration)
    correlation = (
        "n/a" if report.holdout_correlation is None else f"{report.holdout_correlation:.3f}"
    )
    ratio = "n/a" if report.holdout_ratio is None else f"{report.holdout_ratio:.3f}"
    console.print(
        f"holdout purchases predicted {fmt.count(report.predicted_holdout_purchases)}, actual "
        f"{fmt.count(report.actual_holdout_purchases)} (ratio {ratio}), MAE per customer "
        f"{fmt.number(report.holdout_mae, 3)}, correlation per customer {correlation}"
    )
    stored = (
        "not stored (--dry-run)"
        if dry_run
        else f"{fmt.count(report.profiles_updated)} profiles updated"
    )
    console.print(stored + (f"; chart: {report.chart}" if report.chart else ""))


@app.command("list")
def list_command(
    name: str = typer.Argument(None, help="Only this model."), json: bool = JsonOpt
) -> None:
    """List registered model versions."""
    ctx = open_context()
    with ctx.store.read() as conn:
        rows = ml_service.list_versions(conn, workspace_id=ctx.workspace_id, name=name)
    if json:
        emit_json(rows)
        return
    table = fmt.table("name", "version", "kind", "active", "created")
    for r in rows:
        table.add_row(
            r.name, str(r.version), r.kind, "yes" if r.active else "", fmt.when(r.created_at)
        )
    console.print(table)


@app.command("activate")
def activate_command(name: str, version: int, json: bool = JsonOpt) -> None:
    """Make a registered version the active one."""
    ctx = open_context()
    with ctx.store.begin() as conn:
        model = ml_service.activate_version(
            conn,
            workspace_id=ctx.workspace_id,
            name=name,
            version=version,
            now=ctx.clock.now(),
            actor=Actor.cli(ctx.workspace_id),
        )
    if json:
        emit_json(model)
    else:
        console.print(f"{model.name}@{model.version} is active")


@app.command("sentiment")
def sentiment_command(
    text: list[str] = typer.Argument(None, help="Texts to score; read stdin lines if none."),
    json: bool = JsonOpt,
) -> None:
    """Score the sentiment (-1..1) of German or English texts."""

    texts = text or [line.strip() for line in sys.stdin if line.strip()]
    results = [ml_service.analyse_sentiment(t) for t in texts]
    if json:
        emit_json(results)
        return
    table = fmt.table("language", "score", "label", "text")
    for t, r in zip(texts, results, strict=True):
        table.add_row(r.language, f"{r.score:+.2f}", r.label, t[:80])
    console.print(table)


@app.command("topics")
def topics_command(
    file: Path = typer.Argument(..., help="A text file, one comment per line."),
    topics: int = typer.Option(5, help="Number of topics."),
    json: bool = JsonOpt,
) -> None:
    """Find topics with readable labels in German/English comments (TF-IDF + NMF)."""

    lines = [ln.strip() for ln in file.read_text(encoding="utf-8").splitlines() if ln.strip()]
    model = ml_service.find_topics(lines, n_topics=topics)
    if json:
        emit_json(model)
        return
    table = fmt.table("topic", "label", "size", "keywords")
    for t in model.topics:
        table.add_row(str(t.id), t.label, str(t.size), ", ".join(t.keywords))
    console.print(table)


def _print_comparison(c: ModelComparison) -> None:
    console.print(f"{c.name}@{c.version}: scoring with the {c.serving} — {c.reason}")
    table = fmt.table(
        "", "ROC-AUC", "Brier", title=f"{c.split} test: {fmt.count(c.test_rows)} rows"
    )
    table.add_row("model (LightGBM, calibrated)", f"{c.model_roc_auc:.3f}", f"{c.model_brier:.3f}")
    table.add_row("baseline (logistic, L2)", f"{c.baseline_roc_auc:.3f}", f"{c.baseline_brier:.3f}")
    console.print(table)
    low, high = c.auc_difference_interval
    console.print(
        f"AUC difference {c.auc_difference:+.4f} (95 % bootstrap {low:+.4f} .. {high:+.4f}); "
        f"positive rate in the test rows {c.positive_rate_test:.3f}"
    )


def _train_and_score(definition: PropensityDefinition, score: bool, json: bool) -> None:
    ctx = open_context()
    now = ctx.clock.now()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
        disable=json,
    ) as progress:
        task = progress.add_task("training model and baseline", total=None)
        with ctx.store.begin() as conn:
            comparison = ml_service.train_propensity_model(
                conn,
                workspace_id=ctx.workspace_id,
                definition=definition,
                now=now,
                var_dir=ctx.settings.var_dir,
                currency=ctx.settings.currency(),
                actor=Actor.cli(ctx.workspace_id),
            )
        updated, drift = 0, None
        if score:
            progress.update(task, description="scoring the population")
            with ctx.store.begin() as conn:
                updated, drift = ml_service.score_profiles(
                    conn,
                    workspace_id=ctx.workspace_id,
                    now=now,
                    var_dir=ctx.settings.var_dir,
                    name=definition.name,
                    currency=ctx.settings.currency(),
                )
    if json:
        emit_json(
            {
                "comparison": comparison.model_dump(mode="json"),
                "profiles_scored": updated,
                "drift": drift.model_dump(mode="json") if drift else None,
            }
        )
        return
    _print_comparison(comparison)
    if drift is not None:
        console.print(
            f"scored {fmt.count(updated)} profiles; score PSI {drift.score_psi:.3f} against the "
            "training population" + (f"; ALERTS: {'; '.join(drift.alerts)}" if drift.alert else "")
        )


@app.command("churn")
def churn_command(
    name: str = typer.Option("churn", help="Model (and score) name."),
    horizon_days: int = typer.Option(60, help="Churn = no customer activity in this many days."),
    score: bool = typer.Option(True, help="Score the population after training."),
    json: bool = JsonOpt,
) -> None:
    """Train the churn model beside a logistic baseline (out of time); activate and score it
    only if it beats the baseline."""
    _train_and_score(ml_service.churn_definition(name, horizon_days=horizon_days), score, json)


@app.command("propensity")
def propensity_command(
    definition: Path = typer.Argument(..., help="A model definition (YAML or JSON)."),
    score: bool = typer.Option(True, help="Score the population after training."),
    json: bool = JsonOpt,
) -> None:
    """Train a propensity model from a definition (population, label, features, horizon);
    activate and score it only if it beats the logistic baseline."""
    from pydantic import ValidationError

    from partitur.core.errors import InvalidDocument

    try:
        document = read_yaml_file(definition, field="definition")
        parsed = PropensityDefinition.model_validate(document)
    except ValidationError as exc:
        raise InvalidDocument(
            "the model definition is not valid",
            problems=[
                {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ],
        ) from exc
    _train_and_score(parsed, score, json)


@app.command("compare")
def compare_command(
    name: str = typer.Argument("churn", help="Model name."),
    version: int = typer.Option(None, help="Version (default: the newest)."),
    json: bool = JsonOpt,
) -> None:
    """Show a propensity model version against its logistic baseline."""
    ctx = open_context()
    with ctx.store.read() as conn:
        comparison = ml_service.model_comparison(
            conn, workspace_id=ctx.workspace_id, name=name, version=version
        )
    if json:
        emit_json(comparison)
    else:
        _print_comparison(comparison)


@app.command("score")
def score_command(
    name: str = typer.Option("churn", help="Model name."),
    json: bool = JsonOpt,
) -> None:
    """Batch-score every profile with the active model version and check drift."""
    ctx = open_context()
    with fmt.working(f"scoring every profile with {name}", quiet=json), ctx.store.begin() as conn:
        updated, drift = ml_service.score_profiles(
            conn,
            workspace_id=ctx.workspace_id,
            now=ctx.clock.now(),
            var_dir=ctx.settings.var_dir,
            name=name,
            currency=ctx.settings.currency(),
        )
    if json:
        emit_json({"profiles_scored": updated, "drift": drift.model_dump(mode="json")})
        return
    console.print(
        f"scored {fmt.count(updated)} profiles; score PSI {drift.score_psi:.3f}"
        + (f"; ALERTS: {'; '.join(drift.alerts)}" if drift.alert else "")
    )


@app.command("sentiment-refresh")
def sentiment_refresh_command(
    days: int = typer.Option(90, help="Texts of the last this many days count."),
    json: bool = JsonOpt,
) -> None:
    """Store computed.sentiment on profiles from their tickets, survey answers and reviews."""
    ctx = open_context()
    with fmt.working("reading the customers' texts", quiet=json), ctx.store.begin() as conn:
        updated = ml_service.refresh_profile_sentiment(
            conn, workspace_id=ctx.workspace_id, now=ctx.clock.now(), days=days
        )
    if json:
        emit_json({"profiles_updated": updated})
    else:
        console.print(f"updated {fmt.count(updated)} profiles")
