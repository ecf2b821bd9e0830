"""Churn model on synthetic customers whose churn is driven by (observable) unhappiness."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from partitur.ml import churn
from partitur.ml.features import FEATURES, FeatureSpec, build_features
from tests.support.ml_data import frame_of, synthetic_customers

NOW = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def trained():
    frame = frame_of(synthetic_customers(700, now=NOW, seed=4))
    model, report = churn.train(frame, now=NOW, horizon_days=60)
    return frame, model, report


def test_out_of_time_report_shows_a_useful_calibrated_model(trained) -> None:
    _, _, report = trained
    assert report["roc_auc"] > 0.85
    assert report["pr_auc"] > report["churn_rate_test"]  # better than random
    assert report["brier"] < 0.15
    lifts = [row["lift"] for row in report["lift"]]
    assert lifts[0] > 1.3 and lifts[0] >= lifts[-1]
    assert set(report["feature_importance"]) == set(FEATURES)
    assert report["train_as_of"] < report["test_as_of"]


def test_scores_are_probabilities_that_survive_a_round_trip(trained) -> None:
    frame, model, _ = trained
    matrix = build_features(frame, as_of=NOW, spec=FeatureSpec())[FEATURES].to_numpy()
    scores = model.predict(matrix)
    assert np.all((scores >= 0) & (scores <= 1))
    again = churn.ChurnModel.from_files(model.to_files(), FEATURES)
    assert np.allclose(again.predict(matrix), scores)


def test_features_are_computed_as_of_the_cut_off(trained) -> None:
    frame, _, _ = trained
    one = frame[frame["profile_id"] == frame["profile_id"].iloc[0]]
    row = build_features(one, as_of=NOW, spec=FeatureSpec()).iloc[0]
    orders = one[one["event"] == "Order Completed"]
    assert row["orders_total"] == len(orders)
    expected_recency = (NOW - orders["timestamp"].max().to_pydatetime()).total_seconds() / 86400
    assert row["recency_days"] == pytest.approx(expected_recency)


def test_psi_is_zero_for_the_same_population_and_alerts_on_a_shift() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=5000)
    edges = churn._bins(values)
    same = churn.psi(churn._shares(values, edges), churn._shares(rng.normal(size=5000), edges))
    shifted = churn.psi(
        churn._shares(values, edges), churn._shares(rng.normal(1.0, 1, 5000), edges)
    )
    assert same < churn.PSI_WARN < churn.PSI_ALERT < shifted
