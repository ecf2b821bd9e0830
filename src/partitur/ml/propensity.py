"""Propensity models for any target, trained on snapshots of the event log. No I/O here.

A ``PropensityDefinition`` names the population, the label, the features and the horizon
``h``. A *snapshot* at moment ``T`` holds the population at ``T`` (the same rule is used for
training and for scoring), their features over the lookback before ``T`` and the label from
``(T, T + h]``. The latest complete snapshot, ``T = now - h``, is the out-of-time test set;
training snapshots lie at ``now - 2h`` and up to three more, 14 days apart, while the history
covers their lookback. ``tabular.train_classifier`` trains the boosted model and the logistic
baseline on the same split; the report says whether the model beats the baseline.

Drift compares the population scored now with the *training population*: the reference holds
the training snapshots' feature distributions and the model's scores on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from partitur.ml.contracts import PropensityDefinition
from partitur.ml.features import FEATURES, active_in, build_features
from partitur.ml.tabular import Classifier, TrainingError, train_classifier

FloatArray = NDArray[np.float64]
PSI_WARN = 0.1
PSI_ALERT = 0.2
SNAPSHOT_STEP = timedelta(days=14)
MAX_TRAINING_SNAPSHOTS = 4


def feature_names(definition: PropensityDefinition) -> list[str]:
    builtin = definition.features.builtin
    names = list(FEATURES) if builtin is None else [f for f in FEATURES if f in builtin]
    return names + list(definition.features.traits)


def population(
    frame: pd.DataFrame,
    definition: PropensityDefinition,
    *,
    as_of: datetime,
    traits: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The population at ``as_of`` with its features (and the chosen traits as columns)."""
    lookback = timedelta(days=definition.lookback_days)
    features = build_features(
        frame,
        as_of=as_of,
        lookback=lookback,
        activity_events=definition.label.activity_events,
    )
    rule = definition.population
    active_within = rule.active_within_days or definition.lookback_days
    keep = features["days_since_activity"] < active_within
    keep &= features["orders_ever"] >= rule.min_orders
    if rule.identified_only:
        keep &= features["known"].fillna(False).astype(bool)
    out = features.loc[keep].reset_index(drop=True)
    for path in definition.features.traits:
        values = traits[path] if traits is not None and path in traits else None
        out[path] = out["profile_id"].map(values) if values is not None else np.nan
    return out


def labels(
    frame: pd.DataFrame,
    definition: PropensityDefinition,
    snapshot: pd.DataFrame,
    *,
    as_of: datetime,
    label_events: pd.DataFrame | None = None,
) -> FloatArray:
    """1/0 per snapshot row: churned (no activity) or the event happened, in (T, T + h]."""
    end = as_of + timedelta(days=definition.horizon_days)
    spec = definition.label
    if spec.kind == "churn":
        active = active_in(frame, start=as_of, end=end, activity_events=spec.activity_events)
        churned: FloatArray = (~snapshot["profile_id"].isin(active)).to_numpy(dtype=np.float64)
        return churned
    if label_events is None:
        raise ValueError("an event label needs the label events")
    times = pd.to_datetime(label_events["timestamp"], utc=True)
    hits = label_events.loc[(times > as_of) & (times <= end), "profile_id"]
    happened: FloatArray = snapshot["profile_id"].isin(set(hits)).to_numpy(dtype=np.float64)
    return happened


def snapshot_moments(
    definition: PropensityDefinition, *, now: datetime, history_start: datetime
) -> tuple[list[datetime], datetime]:
    """(training snapshot moments, oldest first; the test snapshot moment)."""
    horizon = timedelta(days=definition.horizon_days)
    lookback = timedelta(days=definition.lookback_days)
    test_at = now - horizon
    moments: list[datetime] = []
    at = now - 2 * horizon
    while len(moments) < MAX_TRAINING_SNAPSHOTS and at - lookback >= history_start:
        moments.append(at)
        at -= SNAPSHOT_STEP
    return sorted(moments), test_at


def training_frame(
    frame: pd.DataFrame,
    definition: PropensityDefinition,
    *,
    now: datetime,
    traits: pd.DataFrame | None = None,
    label_events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Stacked snapshots (training ones and the test one) with ``as_of`` and ``label``.
    Raises ``TrainingError`` when the history is too short for one training snapshot."""
    if frame.empty:
        raise TrainingError("no events to learn from")
    start = pd.to_datetime(frame["timestamp"], utc=True).min().to_pydatetime(warn=False)
    moments, test_at = snapshot_moments(definition, now=now, history_start=start)
    if not moments:
        need = 2 * definition.horizon_days + definition.lookback_days
        raise TrainingError(
            f"the history is too short: {need} days are needed "
            f"(2 x horizon {definition.horizon_days} + lookback {definition.lookback_days})"
        )
    parts = []
    for as_of in [*moments, test_at]:
        snap = population(frame, definition, as_of=as_of, traits=traits)
        snap["label"] = labels(frame, definition, snap, as_of=as_of, label_events=label_events)
        snap["as_of"] = pd.Timestamp(as_of)
        parts.append(snap)
    return pd.concat(parts, ignore_index=True)


@dataclass
class PropensityModel:
    definition: PropensityDefinition
    classifier: Classifier
    reference: dict[str, Any]

    def score(self, snapshot: pd.DataFrame) -> FloatArray:
        if snapshot.empty:
            return np.zeros(0)
        return self.classifier.predict(snapshot)


def train(
    frame: pd.DataFrame,
    definition: PropensityDefinition,
    *,
    now: datetime,
    traits: pd.DataFrame | None = None,
    label_events: pd.DataFrame | None = None,
) -> tuple[PropensityModel, dict[str, Any]]:
    """Train and compare (see the module docstring). Raises ``TrainingError``."""
    stacked = training_frame(frame, definition, now=now, traits=traits, label_events=label_events)
    names = feature_names(definition)
    test_at = now - timedelta(days=definition.horizon_days)
    classifier, report = train_classifier(
        stacked[[*names, "label", "as_of"]],
        label="label",
        features=names,
        time_column="as_of",
        test_from=pd.Timestamp(test_at),
    )
    training = stacked[stacked["as_of"] < pd.Timestamp(test_at)]
    scores = classifier.predict(training)
    reference = reference_distribution(training, names, classifier, scores)
    report.update(
        {
            "horizon_days": definition.horizon_days,
            "lookback_days": definition.lookback_days,
            "train_as_of": sorted({t.isoformat() for t in training["as_of"].dt.to_pydatetime()}),
            "test_as_of": test_at.isoformat(),
            "label_rate_train": round(float(training["label"].mean()), 4),
        }
    )
    return PropensityModel(definition, classifier, reference), report


# --- drift ----------------------------------------------------------------------------------


def _bins(values: FloatArray, bins: int = 10) -> list[float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    return [float(e) for e in edges]


def _shares(values: FloatArray, edges: list[float]) -> FloatArray:
    """Shares per bin, with a last bin for missing values."""
    values = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(values)
    index = np.where(missing, len(edges) + 1, np.searchsorted(edges, values, side="right"))
    counts = np.bincount(index.astype(np.int64), minlength=len(edges) + 2)
    out: FloatArray = counts / max(values.size, 1)
    return out


def psi(expected: FloatArray, actual: FloatArray) -> float:
    """Population stability index between two share vectors (epsilon-smoothed)."""
    e = np.clip(np.asarray(expected, dtype=np.float64), 1e-4, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _numeric(frame: pd.DataFrame, name: str, classifier: Classifier) -> FloatArray:
    """A column as numbers: categorical traits as their level codes."""
    if name in classifier.design.categorical:
        out: FloatArray = classifier.design._codes(frame[name], name)
        return out
    values: FloatArray = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    return values


def reference_distribution(
    frame: pd.DataFrame, names: list[str], classifier: Classifier, scores: FloatArray
) -> dict[str, Any]:
    """Bins and shares of every feature and of the score in the training population."""
    ref: dict[str, Any] = {"features": {}, "score": {}, "rows": len(frame)}
    for name in names:
        values = _numeric(frame, name, classifier)
        edges = _bins(values)
        ref["features"][name] = {"edges": edges, "shares": _shares(values, edges).tolist()}
    edges = _bins(scores)
    ref["score"] = {"edges": edges, "shares": _shares(scores, edges).tolist()}
    return ref


def drift(model: PropensityModel, snapshot: pd.DataFrame, scores: FloatArray) -> dict[str, Any]:
    """PSI of every feature and of the score: the scored population against the training
    population."""
    features = {}
    for name, ref in model.reference["features"].items():
        values = _numeric(snapshot, name, model.classifier)
        features[name] = round(psi(np.asarray(ref["shares"]), _shares(values, ref["edges"])), 4)
    score_ref = model.reference["score"]
    score_psi = round(psi(np.asarray(score_ref["shares"]), _shares(scores, score_ref["edges"])), 4)
    return {"score": score_psi, "features": features}
