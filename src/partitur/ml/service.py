"""Use cases of the ml domain: CLV from order events (holdout-validated), churn/propensity
models (train, register, batch and on-demand scoring, drift checks)."""

from __future__ import annotations

import io
import logging
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from partitur.core import jsonutil
from partitur.core.actions import Actor
from partitur.core.errors import NotFound, ValidationFailed
from partitur.ml import churn, clv, ports, registry
from partitur.ml.contracts import ClvBucket, ClvReport, DriftReport, ModelVersion, ScoreResult
from partitur.ml.features import FeatureSpec, build_features
from partitur.ml.rfm import UNIT_DAYS, Unit, rfm_summary

log = logging.getLogger(__name__)

_BUCKETS = ["0", "1", "2", "3", "4", "5", "6", "7+"]


def _holdout_buckets(summary: pd.DataFrame, predicted: np.ndarray) -> list[ClvBucket]:
    label = np.minimum(summary["frequency"].to_numpy(), 7).astype(int)
    out = []
    for i, name in enumerate(_BUCKETS):
        mask = label == i
        if mask.any():
            out.append(
                ClvBucket(
                    frequency=name,
                    customers=int(mask.sum()),
                    predicted=float(predicted[mask].mean()),
                    actual=float(summary["holdout_purchases"].to_numpy()[mask].mean()),
                )
            )
    return out


def render_clv_chart(report: ClvReport) -> bytes:
    """PNG: predicted vs actual holdout purchases per calibration-frequency bucket."""
    from matplotlib.figure import Figure

    names = [b.frequency for b in report.buckets]
    x = np.arange(len(names))
    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.subplots()
    ax.bar(x - 0.2, [b.actual for b in report.buckets], 0.4, label="actual")
    ax.bar(x + 0.2, [b.predicted for b in report.buckets], 0.4, label="BG/NBD predicted")
    ax.set_xticks(x, names)
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel(f"purchases per customer in holdout ({report.holdout_length:.0f} {report.unit})")
    ax.set_title("CLV holdout validation")
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _finite(value: Any, digits: int) -> float | None:
    """A model output as stored on a profile: rounded, or None where the fit gave no number
    (a degenerate fit on little data yields NaN or infinity, which JSON cannot hold)."""
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


def run_clv(
    conn: Connection,
    *,
    workspace_id: str,
    until: datetime,
    now: datetime,
    var_dir: Path,
    unit: Unit = "days",
    event: str = "Order Completed",
    revenue_property: str = "revenue",
    horizon_days: int = 365,
    discount_rate: float = 0.01,
    store: bool = True,
    chart_path: Path | None = None,
    actor: Actor,
) -> ClvReport:
    """Calibrate BG/NBD + Gamma-Gamma on orders up to ``until``, compare the predicted
    purchases in (``until``, ``now``] with what happened, then refit on everything up to
    ``now`` and store ``computed.clv`` and ``computed.scores.{clv,p_alive}`` per customer.

    Raises ``ValidationFailed`` when ``until`` is not before ``now`` or there are too few
    customers to fit."""
    if until >= now:
        raise ValidationFailed("the calibration cut-off must lie before now", field="until")
    orders = ports.order_events(
        conn, workspace_id=workspace_id, event=event, revenue_property=revenue_property, until=now
    )
    calibration = rfm_summary(orders, until=until, unit=unit, holdout_end=now)
    calibration = calibration[calibration["T"] > 0]
    if len(calibration) < 10:
        raise ValidationFailed(
            f"only {len(calibration)} customers with '{event}' events before the cut-off; "
            "at least 10 are needed",
            field="until",
        )
    x, t_x, big_t = (calibration[c].to_numpy() for c in ("frequency", "recency", "T"))
    bg = clv.fit_bg_nbd(x, t_x, big_t)
    holdout_length = (now - until) / timedelta(days=1) / UNIT_DAYS[unit]
    predicted = clv.expected_purchases(bg, holdout_length, x, t_x, big_t)
    actual = calibration["holdout_purchases"].to_numpy()
    correlation = (
        float(np.corrcoef(predicted, actual)[0, 1])
        if np.std(actual) > 0 and np.std(predicted) > 0
        else None
    )
    report = ClvReport(
        until=until,
        holdout_end=now,
        unit=unit,
        customers=len(calibration),
        repeat_customers=int((x > 0).sum()),
        bg_nbd={k: float(v) for k, v in bg.as_dict().items() if k not in ("converged",)},
        gamma_gamma=None,
        holdout_length=float(holdout_length),
        predicted_holdout_purchases=float(predicted.sum()),
        actual_holdout_purchases=float(actual.sum()),
        holdout_mae=float(np.abs(predicted - actual).mean()),
        holdout_correlation=correlation,
        buckets=_holdout_buckets(calibration, predicted),
        profiles_updated=0,
    )

    # Refit on the full history for the values we store.
    full = rfm_summary(orders, until=now, unit=unit)
    full = full[full["T"] > 0]
    fx, ft, fT, fm = (full[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    bg_full = clv.fit_bg_nbd(fx, ft, fT)
    gg_full: clv.GammaGammaFit | None
    try:
        gg_full = clv.fit_gamma_gamma(fx, fm)
    except ValueError:
        gg_full = None
    if gg_full is not None and gg_full.q <= 1:
        gg_full = None  # the mean spend does not exist; report purchases only
    if gg_full is not None:
        report.gamma_gamma = {
            k: float(v) for k, v in gg_full.as_dict().items() if k not in ("converged",)
        }
    period = 30.0 / UNIT_DAYS[unit]
    horizon = max(1, round(horizon_days / 30))
    expected = clv.expected_purchases(bg_full, horizon_days / UNIT_DAYS[unit], fx, ft, fT)
    alive = clv.probability_alive(bg_full, fx, ft, fT)
    if gg_full is not None:
        value = clv.customer_lifetime_value(
            bg_full,
            gg_full,
            fx,
            ft,
            fT,
            fm,
            horizon=horizon,
            period=period,
            discount_rate=discount_rate,
        )
        spend = clv.conditional_expected_average_value(gg_full, fx, fm)
    else:
        value = np.zeros_like(fx)
        spend = np.zeros_like(fx)

    files = {
        "params.json": jsonutil.dumps(
            {
                "bg_nbd": bg_full.as_dict(),
                "gamma_gamma": gg_full.as_dict() if gg_full else None,
                "unit": unit,
            }
        )
    }
    if chart_path is not None or store:
        png = render_clv_chart(report)
        files["holdout.png"] = png
        if chart_path is not None:
            chart_path.write_bytes(png)
            report.chart = str(chart_path)
    if store:
        as_of = now.isoformat()
        values: dict[str, dict[str, Any]] = {}
        for pid, v, e, a, s in zip(full["profile_id"], value, expected, alive, spend, strict=True):
            values[str(pid)] = {
                "clv": {
                    "value": _finite(v, 2),
                    "expected_purchases": _finite(e, 4),
                    "p_alive": _finite(a, 4),
                    "expected_spend": _finite(s, 2),
                    "horizon_days": horizon_days,
                    "as_of": as_of,
                },
                "scores": {"clv": _finite(v, 2), "p_alive": _finite(a, 4)},
            }
        report.profiles_updated = ports.merge_computed(
            conn, workspace_id=workspace_id, values=values, now=now
        )
        version = registry.register_model(
            conn,
            workspace_id=workspace_id,
            name="clv",
            kind="bg_nbd_gamma_gamma",
            params={
                "event": event,
                "revenue_property": revenue_property,
                "unit": unit,
                "horizon_days": horizon_days,
                "discount_rate": discount_rate,
                "bg_nbd": bg_full.as_dict(),
                "gamma_gamma": gg_full.as_dict() if gg_full else None,
            },
            metrics=report.model_dump(mode="json", exclude={"profiles_updated", "chart"}),
            files=files,
            var_dir=var_dir,
            now=now,
            actor=actor,
        )
        report.model_version = version.version
    log.info(
        "clv fitted customers=%s repeat=%s updated=%s",
        report.customers,
        report.repeat_customers,
        report.profiles_updated,
    )
    return report


# --- churn / propensity -------------------------------------------------------------------


def train_churn_model(
    conn: Connection,
    *,
    workspace_id: str,
    now: datetime,
    var_dir: Path,
    name: str = "churn",
    horizon_days: int = 90,
    spec: FeatureSpec | None = None,
    actor: Actor,
) -> ModelVersion:
    """Train, evaluate (out of time) and register a churn model as the active version of
    ``name``. Raises ``ValidationFailed`` when there is too little history."""
    frame = ports.event_frame(conn, workspace_id=workspace_id, until=now)
    try:
        model, report = churn.train(frame, now=now, horizon_days=horizon_days, spec=spec)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="horizon_days") from exc
    spec = spec or FeatureSpec()
    return registry.register_model(
        conn,
        workspace_id=workspace_id,
        name=name,
        kind="lightgbm_classifier",
        params={
            "features": model.features,
            "horizon_days": horizon_days,
            "spec": {
                "order_event": spec.order_event,
                "ticket_event": spec.ticket_event,
                "nps_event": spec.nps_event,
            },
        },
        metrics=report,
        files=model.to_files(),
        var_dir=var_dir,
        now=now,
        actor=actor,
    )


def _load(
    conn: Connection, workspace_id: str, name: str, var_dir: Path
) -> tuple[ModelVersion, churn.ChurnModel, FeatureSpec]:
    version = registry.get_version(conn, workspace_id=workspace_id, name=name)
    if version.kind != "lightgbm_classifier":
        raise ValidationFailed(f"model {name} is not a classifier", field="name")
    files = {
        f: registry.read_artifact(var_dir, version, f)
        for f in ("model.txt", "calibration.json", "reference.json")
    }
    spec = FeatureSpec(**version.params.get("spec", {}))
    return version, churn.ChurnModel.from_files(files, version.params["features"]), spec


def score_profiles(
    conn: Connection,
    *,
    workspace_id: str,
    now: datetime,
    var_dir: Path,
    name: str = "churn",
) -> tuple[int, DriftReport]:
    """Batch-score every profile with events into ``computed.scores.<name>`` and check drift
    (PSI of features and scores against the training reference; alert above 0.2)."""
    version, model, spec = _load(conn, workspace_id, name, var_dir)
    frame = ports.event_frame(conn, workspace_id=workspace_id, until=now)
    features = build_features(frame, as_of=now, spec=spec)
    matrix = features[model.features].to_numpy(dtype=np.float64)
    scores = model.predict(matrix) if len(features) else np.zeros(0)
    values = {
        str(pid): {"scores": {name: round(float(s), 4)}}
        for pid, s in zip(features["profile_id"], scores, strict=True)
    }
    updated = ports.merge_computed(conn, workspace_id=workspace_id, values=values, now=now)
    report = check_drift(
        conn,
        workspace_id=workspace_id,
        version=version,
        model=model,
        matrix=matrix,
        scores=scores,
        now=now,
    )
    return updated, report


def check_drift(
    conn: Connection,
    *,
    workspace_id: str,
    version: ModelVersion,
    model: churn.ChurnModel,
    matrix: np.ndarray,
    scores: np.ndarray,
    now: datetime,
) -> DriftReport:
    """Record a PSI check; ``alert`` when the score or any feature has PSI > 0.2."""
    from partitur.ml.tables import ml_drift_checks

    result: dict[str, Any] = {"score": 0.0, "features": {}}
    if len(scores):
        result = churn.drift(model.reference, matrix, scores)
    alerts = [f"{n}: PSI {v:.2f}" for n, v in result["features"].items() if v > churn.PSI_ALERT]
    if result["score"] > churn.PSI_ALERT:
        alerts.insert(0, f"score: PSI {result['score']:.2f}")
    report = DriftReport(
        model=version.name,
        version=version.version,
        checked_at=now,
        score_psi=result["score"],
        feature_psi=result["features"],
        alert=bool(alerts),
        alerts=alerts,
    )
    conn.execute(
        ml_drift_checks.insert().values(
            workspace_id=workspace_id,
            model=version.name,
            version=version.version,
            checked_at=now,
            psi=result,
            alert=report.alert,
        )
    )
    if alerts:
        log.warning("model drift model=%s alerts=%s", version.name, "; ".join(alerts))
    return report


def score_profile(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    now: datetime,
    var_dir: Path,
    name: str = "churn",
) -> ScoreResult:
    """Score one profile on demand (features from its own events). Raises ``NotFound``."""
    version, model, spec = _load(conn, workspace_id, name, var_dir)
    snapshot = ports.get_profile_snapshot(conn, workspace_id=workspace_id, profile_id=profile_id)
    if snapshot is None:
        raise NotFound(f"no profile {profile_id}", field="profile_id")
    frame = ports.event_frame(conn, workspace_id=workspace_id, until=now, profile_id=snapshot.id)
    features = build_features(frame, as_of=now, spec=spec)
    if len(features):
        row = features[model.features].to_numpy(dtype=np.float64)[:1]
    else:  # no events at all: the model sees a customer who never ordered
        row = np.array([[9999.0, 0, 0, 0, 0, 0, 0, -1, 0, 0]], dtype=np.float64)
    score = float(model.predict(row)[0])
    return ScoreResult(
        model=name,
        version=version.version,
        profile_id=snapshot.id,
        score=round(score, 4),
        features={n: float(v) for n, v in zip(model.features, row[0], strict=True)},
    )


# --- sentiment on profiles ----------------------------------------------------------------

TEXT_EVENTS = (
    "Ticket Created",
    "NPS Submitted",
    "CSAT Submitted",
    "Product Reviewed",
    "Survey Answered",
    "Review Submitted",
    "Feedback Given",
)
TEXT_PROPERTIES = ("text", "comment", "review_body", "body", "message", "review")


def refresh_profile_sentiment(
    conn: Connection,
    *,
    workspace_id: str,
    now: datetime,
    days: int = 90,
    event_names: tuple[str, ...] = TEXT_EVENTS,
    text_properties: tuple[str, ...] = TEXT_PROPERTIES,
) -> int:
    """Score the texts customers wrote in the last ``days`` (tickets, surveys, reviews) and
    store ``computed.sentiment = {score, label, texts, language, as_of}`` (the mean score,
    recent texts weighing more) per profile. Returns how many profiles were updated."""
    from partitur.ml.sentiment import NEUTRAL_BAND, analyse

    texts = ports.event_texts(
        conn,
        workspace_id=workspace_id,
        names=event_names,
        text_properties=text_properties,
        since=now - timedelta(days=days),
        until=now,
    )
    if texts.empty:
        return 0
    results = [analyse(t) for t in texts["text"]]  # one call per text: the lexicon is Python
    texts["score"] = [r.score for r in results]
    texts["language"] = [r.language for r in results]
    age_days = (pd.Timestamp(now) - pd.to_datetime(texts["timestamp"], utc=True)).dt.days
    texts["weight"] = 0.5 ** (age_days.to_numpy() / 30.0)  # half-life of 30 days
    texts["weighted"] = texts["score"] * texts["weight"]
    grouped = texts.groupby("profile_id").agg(
        weighted=("weighted", "sum"),
        weight=("weight", "sum"),
        texts=("score", "size"),
        language=("language", lambda s: s.mode().iat[0]),
    )
    values: dict[str, dict[str, Any]] = {}
    for pid, row in grouped.iterrows():
        score = float(row["weighted"] / row["weight"])
        label = (
            "positive"
            if score >= NEUTRAL_BAND
            else "negative"
            if score <= -NEUTRAL_BAND
            else "neutral"
        )
        values[str(pid)] = {
            "sentiment": {
                "score": round(score, 4),
                "label": label,
                "texts": int(row["texts"]),
                "language": row["language"],
                "as_of": now.isoformat(),
            }
        }
    return ports.merge_computed(conn, workspace_id=workspace_id, values=values, now=now)
