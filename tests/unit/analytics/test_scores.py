"""Satisfaction scales mapped onto 0-100, and the weighted journey score."""

from __future__ import annotations

import pytest

from partitur.analytics.scores import journey_score, normalise, summarise
from partitur.core.errors import ValidationFailed


def test_each_scale_maps_its_range_onto_0_to_100() -> None:
    assert [normalise("csat", r) for r in (1, 3, 5)] == [0, 50, 100]
    assert [normalise("stars", r) for r in (1, 4)] == [0, 75]
    assert [normalise("nps", r) for r in (0, 7, 10)] == [0, 70, 100]
    assert [normalise("ces", r) for r in (1, 4, 7)] == [0, 50, 100]


def test_nps_counts_promoters_passives_and_detractors() -> None:
    s = summarise("nps", [10, 9, 8, 7, 6, 0, 10, 5, 9, 3])
    assert (s.promoters, s.passives, s.detractors) == (4, 2, 4)
    assert s.nps == 0.0
    assert s.score == pytest.approx(67.0)  # mean 6.7 on 0..10


def test_csat_reports_mean_score_and_share_satisfied() -> None:
    s = summarise("csat", [5, 4, 4, 2, 1])
    assert s.mean_raw == pytest.approx(3.2)
    assert s.score == pytest.approx(55.0)
    assert s.satisfied_share == pytest.approx(0.6)


def test_out_of_range_answers_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        summarise("csat", [0, 5])
    assert caught.value.field == "responses"


def test_journey_score_weights_and_rescales_components() -> None:
    # conversion 40 % -> 40, satisfaction 80, effort 2 contacts of 10 -> 80
    s = journey_score({"conversion": 0.4, "satisfaction": 80, "effort": 2})
    assert s.score == pytest.approx(0.5 * 40 + 0.3 * 80 + 0.2 * 80)
    custom = journey_score(
        {"conversion": 0.4, "satisfaction": None}, {"conversion": 1, "satisfaction": 1}
    )
    assert custom.score == pytest.approx(40) and custom.weights == {"conversion": 1.0}
