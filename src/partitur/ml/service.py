"""The face of the ml domain: CLV from order events (holdout-validated, in ``clv_runs``),
churn/propensity models (train, register, batch and on-demand scoring, drift checks),
sentiment and topics of free text, value inputs and the journey success forecast."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from partitur.channels import service as channels
from partitur.core import jsonutil
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import NotFound, ValidationFailed
from partitur.core.money import ReportingCurrency
from partitur.ml import journey_success, ports, propensity, registry, sentiment
from partitur.ml.clv_runs import GG_MAX_Q as GG_MAX_Q
from partitur.ml.clv_runs import GG_MAX_V as GG_MAX_V
from partitur.ml.clv_runs import fallback_spend as fallback_spend
from partitur.ml.clv_runs import gamma_gamma_problem as gamma_gamma_problem
from partitur.ml.clv_runs import latest_clv_report as latest_clv_report
from partitur.ml.clv_runs import render_clv_chart as render_clv_chart
from partitur.ml.clv_runs import run_clv as run_clv
from partitur.ml.contracts import (
    DriftReport,
    LabelSpec,
    ModelComparison,
    ModelVersion,
    PropensityDefinition,
    ScoreResult,
    Sentiment,
)
from partitur.ml.registry import activate_version as activate_version
from partitur.ml.registry import list_versions as list_versions
from partitur.ml.tabular import Classifier, TrainingError
from partitur.ml.topics import find_topics as find_topics
from partitur.ml.value_inputs import ServiceCostRates, value_inputs

log = logging.getLogger(__name__)


# --- churn / propensity -------------------------------------------------------------------

PROPENSITY_KIND = "propensity"


def churn_definition(
    name: str = "churn", *, horizon_days: int = 60, lookback_days: int = 56
) -> PropensityDefinition:
    """The built-in churn model: identified customers active in the lookback; churn = no
    customer activity within the horizon."""
    return PropensityDefinition(
        name=name,
        label=LabelSpec(kind="churn"),
        horizon_days=horizon_days,
        lookback_days=lookback_days,
    )


def customer_events(
    conn: Connection,
    *,
    workspace_id: str,
    until: datetime,
    currency: ReportingCurrency,
    profile_id: str | None = None,
) -> pd.DataFrame:
    """The event frame the features read: revenue in the reporting currency and the
    sentiment of every text a customer wrote (tickets, surveys, reviews)."""
    from partitur.ml.sentiment import analyse

    frame = ports.event_frame(
        conn,
        workspace_id=workspace_id,
        until=until,
        profile_id=profile_id,
        text_events=TEXT_EVENTS,
        text_properties=TEXT_PROPERTIES,
    )
    factors = currency.factors(frame["currency"].where(frame["currency"].notna(), None).tolist())
    frame["revenue"] = frame["revenue"] * factors
    written = frame["text"].notna() & (frame["text"].fillna("").str.strip() != "")
    frame["sentiment"] = np.nan
    if written.any():
        frame.loc[written, "sentiment"] = [analyse(t).score for t in frame.loc[written, "text"]]
    return frame.drop(columns=["text", "currency", "channel"])


def _training_inputs(
    conn: Connection,
    *,
    workspace_id: str,
    definition: PropensityDefinition,
    now: datetime,
    currency: ReportingCurrency,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    frame = customer_events(conn, workspace_id=workspace_id, until=now, currency=currency)
    traits = (
        ports.trait_frame(conn, workspace_id=workspace_id, paths=definition.features.traits)
        if definition.features.traits
        else None
    )
    events_for_label = None
    if definition.label.kind == "event" and definition.label.event:
        events_for_label = ports.label_events(
            conn,
            workspace_id=workspace_id,
            event=definition.label.event,
            where=definition.label.where,
            since=now - timedelta(days=3 * definition.horizon_days + definition.lookback_days),
            until=now,
        )
    return frame, traits, events_for_label


@action("model.train", permission=Permission.manage_models, subject="model")
def train_propensity_model(
    conn: Connection,
    *,
    workspace_id: str,
    definition: PropensityDefinition,
    now: datetime,
    var_dir: Path,
    currency: ReportingCurrency | None = None,
    actor: Actor,
) -> ModelComparison:
    """Train a propensity model and its logistic baseline on the same out-of-time split and
    register the version (active) with the comparison. The boosted model scores only when it
    beats the baseline; otherwise the version serves the logistic baseline. Raises
    ``ValidationFailed`` when the history or the population is too small."""
    currency = currency or ReportingCurrency()
    frame, traits, events_for_label = _training_inputs(
        conn, workspace_id=workspace_id, definition=definition, now=now, currency=currency
    )
    try:
        model, report = propensity.train(
            frame, definition, now=now, traits=traits, label_events=events_for_label
        )
    except TrainingError as exc:
        raise ValidationFailed(str(exc), field="horizon_days") from exc
    files = {
        **model.classifier.to_files(),
        "reference.json": jsonutil.dumps(model.reference),
    }
    version = registry.register_model(
        conn,
        workspace_id=workspace_id,
        name=definition.name,
        kind=PROPENSITY_KIND,
        params={
            "definition": definition.model_dump(mode="json"),
            "features": propensity.feature_names(definition),
            "reporting_currency": currency.code,
        },
        metrics=report,
        files=files,
        var_dir=var_dir,
        now=now,
        actor=actor,
    )
    comparison = comparison_of(version)
    describe(
        subject_id=f"{definition.name}@{version.version}",
        details={"serving": comparison.serving, "auc_difference": comparison.auc_difference},
    )
    return comparison


def comparison_of(version: ModelVersion) -> ModelComparison:
    """The model-against-baseline comparison stored with a propensity version."""
    m = version.metrics
    activated = bool(m.get("beats_baseline"))
    reason = (
        f"the model's ROC-AUC {m['model']['roc_auc']:.3f} beats the logistic baseline's "
        f"{m['baseline']['roc_auc']:.3f}: the model scores"
        if activated
        else f"the model is not activated: its ROC-AUC {m['model']['roc_auc']:.3f} does not "
        f"beat the logistic baseline's {m['baseline']['roc_auc']:.3f}, which scores instead"
    )
    return ModelComparison(
        name=version.name,
        version=version.version,
        activated=activated,
        serving="model" if activated else "baseline",
        reason=reason,
        split=m["split"],
        train_rows=m["train_rows"],
        test_rows=m["test_rows"],
        positive_rate_test=m["positive_rate_test"],
        model_roc_auc=m["model"]["roc_auc"],
        baseline_roc_auc=m["baseline"]["roc_auc"],
        auc_difference=m["auc_difference"],
        auc_difference_interval=m["auc_difference_interval"],
        model_brier=m["model"]["brier"],
        baseline_brier=m["baseline"]["brier"],
    )


def model_comparison(
    conn: Connection, *, workspace_id: str, name: str, version: int | None = None
) -> ModelComparison:
    """The stored comparison of a version (default: the newest). Raises ``NotFound`` naming
    ``name`` or ``version``."""
    every = registry.list_versions(conn, workspace_id=workspace_id, name=name)
    if version is not None and every and all(v.version != version for v in every):
        raise NotFound(f"model {name} has no version {version}", field="version")
    versions = [
        v for v in every if v.kind == PROPENSITY_KIND and (version is None or v.version == version)
    ]
    if not versions:
        raise NotFound(f"no propensity model {name}", field="name")
    return comparison_of(versions[-1])


def train_churn_model(
    conn: Connection,
    *,
    workspace_id: str,
    now: datetime,
    var_dir: Path,
    name: str = "churn",
    horizon_days: int = 60,
    currency: ReportingCurrency | None = None,
    actor: Actor,
) -> ModelComparison:
    """``train_propensity_model`` with the built-in churn definition."""
    return train_propensity_model(
        conn,
        workspace_id=workspace_id,
        definition=churn_definition(name, horizon_days=horizon_days),
        now=now,
        var_dir=var_dir,
        currency=currency,
        actor=actor,
    )


def _load(
    conn: Connection, workspace_id: str, name: str, var_dir: Path
) -> tuple[ModelVersion, propensity.PropensityModel]:
    version = registry.get_version(conn, workspace_id=workspace_id, name=name)
    if version.kind != PROPENSITY_KIND:
        raise ValidationFailed(f"model {name} is not a propensity model (retrain it)", field="name")
    files = {
        f: registry.read_artifact(var_dir, version, f)
        for f in ("model.txt", "calibration.json", "design.json", "baseline.json")
    }
    definition = PropensityDefinition.model_validate(version.params["definition"])
    reference = jsonutil.loads(registry.read_artifact(var_dir, version, "reference.json"))
    classifier = Classifier.from_files(files)
    return version, propensity.PropensityModel(definition, classifier, reference)


def score_profiles(
    conn: Connection,
    *,
    workspace_id: str,
    now: datetime,
    var_dir: Path,
    name: str = "churn",
    currency: ReportingCurrency | None = None,
) -> tuple[int, DriftReport]:
    """Score the model's population now into ``computed.scores.<name>`` (profiles that left
    the population lose their score) and check drift against the training population (PSI of
    features and score; alert above 0.2)."""
    version, model = _load(conn, workspace_id, name, var_dir)
    frame = customer_events(
        conn, workspace_id=workspace_id, until=now, currency=currency or ReportingCurrency()
    )
    traits = (
        ports.trait_frame(conn, workspace_id=workspace_id, paths=model.definition.features.traits)
        if model.definition.features.traits
        else None
    )
    snapshot = propensity.population(frame, model.definition, as_of=now, traits=traits)
    scores = model.score(snapshot)
    values: dict[str, dict[str, Any]] = {
        str(pid): {"scores": {name: round(float(s), 4)}}
        for pid, s in zip(snapshot["profile_id"], scores, strict=True)
    }
    for chunk in ports.iter_profiles(conn, workspace_id=workspace_id):
        for pid, _, computed in chunk:
            held = (computed.get("scores") or {}).get(name)
            if held is not None and pid not in values:
                values[pid] = {"scores": {name: None}}
    updated = ports.merge_computed(conn, workspace_id=workspace_id, values=values, now=now)
    report = check_drift(
        conn,
        workspace_id=workspace_id,
        version=version,
        model=model,
        snapshot=snapshot,
        scores=scores,
        now=now,
    )
    return min(updated, len(snapshot)), report


def check_drift(
    conn: Connection,
    *,
    workspace_id: str,
    version: ModelVersion,
    model: propensity.PropensityModel,
    snapshot: pd.DataFrame,
    scores: np.ndarray,
    now: datetime,
) -> DriftReport:
    """Record a PSI check of the scored population against the training population;
    ``alert`` when the score or any feature has PSI > 0.2."""
    from partitur.ml.tables import ml_drift_checks

    result: dict[str, Any] = {"score": 0.0, "features": {}}
    if len(scores):
        result = propensity.drift(model, snapshot, scores)
    alerts = [
        f"{n}: PSI {v:.2f}" for n, v in result["features"].items() if v > propensity.PSI_ALERT
    ]
    if result["score"] > propensity.PSI_ALERT:
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
    currency: ReportingCurrency | None = None,
) -> ScoreResult:
    """Score one profile on demand (features from its own events); a profile outside the
    model's population gets no score. Raises ``NotFound`` (the profile is looked up first)."""
    snapshot = ports.get_profile_snapshot(conn, workspace_id=workspace_id, profile_id=profile_id)
    if snapshot is None:
        raise NotFound(f"no profile {profile_id}", field="profile_id")
    version, model = _load(conn, workspace_id, name, var_dir)
    frame = customer_events(
        conn,
        workspace_id=workspace_id,
        until=now,
        currency=currency or ReportingCurrency(),
        profile_id=snapshot.id,
    )
    traits = None
    if model.definition.features.traits:
        traits = pd.DataFrame(
            [
                {
                    "profile_id": snapshot.id,
                    **{
                        p: ports._lookup(
                            {"traits": snapshot.traits, "computed": snapshot.computed}, p
                        )
                        for p in model.definition.features.traits
                    },
                }
            ]
        ).set_index("profile_id")
    rows = propensity.population(frame, model.definition, as_of=now, traits=traits)
    names = propensity.feature_names(model.definition)
    if rows.empty:
        return ScoreResult(
            model=name,
            version=version.version,
            profile_id=snapshot.id,
            score=None,
            in_population=False,
        )
    score = float(model.score(rows)[0])
    return ScoreResult(
        model=name,
        version=version.version,
        profile_id=snapshot.id,
        score=round(score, 4),
        features={
            n: (None if pd.isna(v) else v if isinstance(v, str) else float(v))
            for n, v in rows.iloc[0][names].items()
        },
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


# --- value inputs ---------------------------------------------------------------------------


@action("value.inputs_refresh", permission=Permission.manage_models, subject="value_model")
def refresh_value_inputs(
    conn: Connection,
    *,
    workspace_id: str,
    now: datetime,
    window_days: int = 365,
    rates: ServiceCostRates | None = None,
    actor: Actor,
) -> int:
    """Compute the value tiers' inputs from the store (see ``ml.value_inputs``) and store
    ``computed.service_cost`` (reporting currency), ``computed.scores.{loyalty,
    digital_affinity,influence}`` and the counts behind them in ``computed.value_inputs``.
    Returns how many profiles were updated."""
    since = now - timedelta(days=window_days)
    rates = rates or ServiceCostRates()
    frame = ports.event_frame(
        conn, workspace_id=workspace_id, until=now, since=since, names=rates.event_names()
    )
    tasks = channels.agent_tasks_per_profile(
        conn, workspace_id=workspace_id, since=since, until=now
    )
    table = value_inputs(
        frame, now=now, agent_tasks=tasks, window=timedelta(days=window_days), rates=rates
    )
    values: dict[str, dict[str, Any]] = {}
    for row in table.itertuples(index=False):  # one row per profile, not per event
        values[str(row.profile_id)] = {
            "service_cost": float(row.service_cost),
            "scores": {
                "loyalty": float(row.loyalty),
                "digital_affinity": float(row.digital_affinity),
                "influence": float(row.influence),
            },
            "value_inputs": {
                "contacts": int(row.contacts),
                "agent_tasks": int(row.agent_tasks),
                "returns": int(row.returns),
                "orders": int(row.orders),
                "tenure_days": round(float(row.tenure_days), 1),
                "reviews": int(row.reviews),
                "referrals": int(row.referrals),
                "nps_last": None if pd.isna(row.nps_last) else float(row.nps_last),
                "window_days": window_days,
                "as_of": now.isoformat(),
            },
        }
    updated = ports.merge_computed(conn, workspace_id=workspace_id, values=values, now=now)
    describe(subject_id=workspace_id, details={"profiles": updated, "window_days": window_days})
    return updated


# -- text analysis other domains use --------------------------------------------------------------


def analyse_sentiment(text: str) -> Sentiment:
    """Sentiment of one German or English text (language detected)."""
    return sentiment.analyse(text)


def analyse_sentiments(texts: list[str]) -> list[Sentiment]:
    """Sentiment of many texts at once."""
    return sentiment.analyse_many(texts)


# --- journey success forecast -----------------------------------------------------------------
# Pure (journey_success describes the model); analytics computes its per-hour histograms in SQL
# with these statements and passes them in.

DURATION_SQL = journey_success.DURATION_SQL
HISTORY_SQL = journey_success.HISTORY_SQL
COHORT_SQL = journey_success.COHORT_SQL
MAX_HORIZON_HOURS = journey_success.MAX_HORIZON_HOURS
History = journey_success.History
Cohort = journey_success.Cohort
horizon_hours = journey_success.horizon_hours
histogram = journey_success.histogram


def forecast_journey_success(
    history: journey_success.History, cohort: journey_success.Cohort
) -> journey_success.Forecast:
    """How many of ``cohort`` will reach the journey's goal, with a 95 % interval, from the
    older cohorts' ``history``. Raises ``ValueError`` when the history is too thin."""
    return journey_success.forecast(history, cohort)


def negative_texts(texts: list[str]) -> list[bool]:
    """Whether each German or English text is negative (its sentiment score below the
    neutral band)."""
    from partitur.ml.sentiment import NEUTRAL_BAND, analyse_many

    return [s.score <= -NEUTRAL_BAND for s in analyse_many(texts)]
