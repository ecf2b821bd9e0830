"""Propensity models: the tabular training interface (model beside a logistic baseline on one
split, calibration, categoricals) and models defined on the event log (population, labels,
out-of-time snapshots, drift against the training population). Seeded simulations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from partitur.ml import propensity
from partitur.ml.contracts import LabelSpec, PopulationSpec, PropensityDefinition
from partitur.ml.tabular import Classifier, TrainingError, train_classifier
from tests.support.ml_data import frame_of, synthetic_customers

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def analyst_frame(n: int, seed: int, *, interaction: bool) -> pd.DataFrame:
    """A table an analyst might bring: numbers with gaps, a categorical plan, a snapshot date.
    With ``interaction`` the outcome depends on a threshold interaction a linear model cannot
    express; without it the log-odds are linear."""
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 5.0, n)
    tickets = rng.poisson(1.0, n).astype(float)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    if interaction:
        logit = np.where((usage < 6) & (plan == "basic"), 1.8, -1.6) + 0.3 * tickets
    else:
        logit = -1.0 - 0.1 * usage + 0.5 * tickets + np.where(plan == "pro", -0.8, 0.0)
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    usage[rng.random(n) < 0.1] = np.nan  # missing values
    return pd.DataFrame(
        {
            "usage": usage,
            "tickets": tickets,
            "plan": plan,
            "as_of": np.where(np.arange(n) < n * 0.7, "2025-06-30", "2025-12-31"),
            "churned": churned.astype(int),
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_boosted_model_beats_the_baseline_on_an_interaction(seed: int) -> None:
    frame = analyst_frame(4000, seed, interaction=True)
    _, report = train_classifier(frame, label="churned", time_column="as_of")
    assert report["split"] == "out_of_time"
    assert report["beats_baseline"]
    assert report["model"]["roc_auc"] > report["baseline"]["roc_auc"] + 0.02
    assert report["auc_difference_interval"][0] > 0


def test_on_a_linear_outcome_the_baseline_is_not_beaten_by_much() -> None:
    differences = []
    for seed in range(2):
        frame = analyst_frame(4000, seed, interaction=False)
        _, report = train_classifier(frame, label="churned", time_column="as_of")
        differences.append(report["auc_difference"])
    # the logistic baseline is the right model here: the trees gain nothing real
    assert np.mean(differences) < 0.01


def test_calibrated_probabilities_match_observed_rates() -> None:
    frame = analyst_frame(8000, 7, interaction=True)
    model, report = train_classifier(frame, label="churned", time_column="as_of")
    table = report["model"]["calibration"]
    error = sum(abs(b["predicted"] - b["observed"]) * b["customers"] for b in table) / sum(
        b["customers"] for b in table
    )
    assert error < 0.04
    assert report["model"]["brier"] <= report["model"]["brier_uncalibrated"] + 0.005
    p = model.predict(frame)
    assert np.all((p >= 0) & (p <= 1))


def test_the_test_rows_are_the_latest_and_a_model_survives_a_round_trip() -> None:
    frame = analyst_frame(3000, 4, interaction=True)
    model, report = train_classifier(frame, label="churned", time_column="as_of")
    assert (report["train_rows"], report["test_rows"]) == (2100, 900)
    again = Classifier.from_files(model.to_files())
    assert np.allclose(again.predict(frame), model.predict(frame))
    assert np.allclose(again.predict_baseline(frame), model.predict_baseline(frame))
    # unseen category levels and missing values are scored, not refused
    odd = frame.head(3).assign(plan=["enterprise", None, "basic"], usage=[np.nan, 1.0, 2.0])
    assert np.isfinite(model.predict(odd)).all()


def test_without_a_time_column_the_split_is_stratified_random() -> None:
    frame = analyst_frame(2000, 5, interaction=True).drop(columns=["as_of"])
    _, report = train_classifier(frame, label="churned")
    assert report["split"] == "random" and report["test_rows"] == pytest.approx(500, abs=2)


def test_unusable_input_is_refused_with_a_reason() -> None:
    frame = analyst_frame(200, 6, interaction=True)
    with pytest.raises(TrainingError, match="0/1"):
        train_classifier(frame.assign(churned=frame["churned"] * 2), label="churned")
    with pytest.raises(TrainingError, match="both classes"):
        train_classifier(frame.assign(churned=0), label="churned")


# --- models on the event log ----------------------------------------------------------------


@pytest.fixture(scope="module")
def customer_log() -> pd.DataFrame:
    frame = frame_of(synthetic_customers(900, now=NOW, seed=4))
    frame["known"] = True
    frame["rating"] = np.nan
    frame["late"] = np.nan
    frame["sentiment"] = frame["sentiment"].where(frame["event"] == "Ticket Created")
    return frame


def churn(**changes: object) -> PropensityDefinition:
    return PropensityDefinition(
        name="churn", label=LabelSpec(kind="churn"), horizon_days=60, lookback_days=56, **changes
    )


def test_snapshots_use_the_same_population_rule_for_training_and_scoring(customer_log) -> None:
    definition = churn(population=PopulationSpec(min_orders=1))
    stacked = propensity.training_frame(customer_log, definition, now=NOW)
    moments = sorted(stacked["as_of"].unique())
    assert len(moments) >= 2 and moments[-1] == pd.Timestamp(NOW - timedelta(days=60))
    for as_of, rows in stacked.groupby("as_of"):
        # everyone in a snapshot was active within the lookback and had ordered before it
        assert (rows["days_since_activity"] < 56).all()
        expected = propensity.population(customer_log, definition, as_of=as_of.to_pydatetime())
        assert sorted(rows["profile_id"]) == sorted(expected["profile_id"])
    # churned = no activity at all in the 60 days after the snapshot
    last = stacked[stacked["as_of"] == moments[-1]]
    later = customer_log[customer_log["timestamp"] > moments[-1]]
    assert set(last.loc[last["label"] == 0, "profile_id"]) <= set(later["profile_id"])


@pytest.fixture(scope="module")
def churn_model(customer_log) -> tuple[propensity.PropensityModel, dict]:
    return propensity.train(customer_log, churn(), now=NOW)


def test_a_churn_model_learns_out_of_time_and_drift_is_quiet_for_the_same_population(
    customer_log, churn_model
) -> None:
    model, report = churn_model
    assert report["model"]["roc_auc"] > 0.75
    assert report["test_as_of"] > max(report["train_as_of"])
    # the reference is the training population: scoring it again shows no drift
    stacked = propensity.training_frame(customer_log, model.definition, now=NOW)
    training = stacked[stacked["as_of"] < pd.Timestamp(NOW - timedelta(days=60))]
    result = propensity.drift(model, training, model.score(training))
    assert result["score"] < 0.01
    assert all(v < 0.01 for v in result["features"].values()), result
    # scoring now: the same population rule, so no never-active visitors with odd features
    scored = propensity.population(customer_log, model.definition, as_of=NOW)
    assert (scored["days_since_activity"] < 56).all()
    assert propensity.drift(model, scored, model.score(scored))["score"] < propensity.PSI_ALERT


def test_drift_alerts_when_the_scored_population_differs(customer_log, churn_model) -> None:
    model, _ = churn_model
    scored = propensity.population(customer_log, model.definition, as_of=NOW)
    shifted = scored.assign(activity_30d=scored["activity_30d"] * 3 + 5)
    result = propensity.drift(model, shifted, model.score(shifted))
    assert result["features"]["activity_30d"] > propensity.PSI_ALERT


def test_an_event_label_predicts_a_chosen_outcome(customer_log) -> None:
    definition = PropensityDefinition(
        name="propensity_ticket",
        label=LabelSpec(kind="event", event="Ticket Created"),
        horizon_days=30,
        lookback_days=56,
    )
    tickets = customer_log.loc[
        customer_log["event"] == "Ticket Created", ["profile_id", "timestamp"]
    ]
    model, report = propensity.train(customer_log, definition, now=NOW, label_events=tickets)
    assert 0 < report["positive_rate_test"] < 0.5
    assert report["model"]["roc_auc"] > 0.6
    assert "tickets" in model.reference["features"]


def test_too_short_a_history_says_how_much_is_needed(customer_log) -> None:
    recent = customer_log[customer_log["timestamp"] > NOW - timedelta(days=100)]
    with pytest.raises(TrainingError, match="176 days"):
        propensity.training_frame(recent, churn(), now=NOW)
