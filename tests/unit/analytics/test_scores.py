"""One satisfaction scale (top-2-box on every scale) and how the journey score combines its
components."""

from __future__ import annotations

import duckdb
import pytest

from partitur.analytics.scores import (
    MIN_OBSERVATIONS,
    combine,
    normalise,
    satisfaction_sql,
    satisfied,
    summarise,
)
from partitur.core.errors import ValidationFailed


def test_satisfied_is_the_top_two_boxes_of_every_scale() -> None:
    assert satisfied("csat", [3, 4, 5]).tolist() == [False, True, True]
    assert satisfied("stars", [3, 4]).tolist() == [False, True]
    assert satisfied("nps", [7, 8, 9, 10]).tolist() == [False, False, True, True]
    assert satisfied("ces", [5, 6, 7]).tolist() == [False, True, True]


def test_an_nps_8_is_not_more_satisfied_than_a_csat_4() -> None:
    # on the linear position an NPS 8 (80) sits above a CSAT 4 (75); as satisfaction the CSAT 4
    # counts and the NPS 8 (a passive) does not, on every scale by the same rule
    assert normalise("nps", 8) > normalise("csat", 4)
    assert summarise("nps", [8]).satisfied_share == 0
    assert summarise("csat", [4]).satisfied_share == 1


def test_nps_counts_promoters_passives_and_detractors() -> None:
    s = summarise("nps", [10, 9, 8, 7, 6, 0, 10, 5, 9, 3])
    assert (s.promoters, s.passives, s.detractors) == (4, 2, 4)
    assert s.nps == 0.0
    assert s.score == pytest.approx(40.0)  # 4 of 10 in the top two boxes
    assert s.mean_position == pytest.approx(67.0)  # mean 6.7 on 0..10


def test_csat_reports_the_share_satisfied_and_the_mean() -> None:
    s = summarise("csat", [5, 4, 4, 2, 1])
    assert s.mean_raw == pytest.approx(3.2)
    assert (s.satisfied_share, s.score) == (pytest.approx(0.6), pytest.approx(60.0))


def test_out_of_range_answers_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        summarise("csat", [0, 5])
    assert caught.value.field == "responses"


def test_the_sql_agrees_with_python_on_every_answer() -> None:
    con = duckdb.connect()
    for scale, answers in {"csat": range(0, 7), "nps": range(-1, 12), "ces": range(0, 9)}.items():
        for answer in answers:
            got = con.execute(f"SELECT {satisfaction_sql(scale, str(float(answer)))}").fetchone()
            assert got is not None
            try:
                expected: float | None = 100.0 if satisfied(scale, [answer])[0] else 0.0
            except ValidationFailed:
                expected = None
            assert got[0] == expected, (scale, answer)


def test_the_score_shows_its_coverage_instead_of_shifting_weights() -> None:
    enough = MIN_OBSERVATIONS
    full = combine(
        {
            "conversion": (80.0, 500, None),
            "satisfaction": (70.0, 40, None),
            "effort": (90.0, 500, None),
            "sentiment": (60.0, 30, None),
        }
    )
    assert full.coverage == pytest.approx(1.0)
    assert full.score == pytest.approx(0.4 * 80 + 0.3 * 70 + 0.15 * 90 + 0.15 * 60)
    partial = combine(
        {
            "conversion": (80.0, 500, None),
            "satisfaction": (None, 0, "no survey answers"),
            "effort": (90.0, 500, None),
            "sentiment": (60.0, enough - 1, None),
        }
    )
    assert partial.coverage == pytest.approx(0.55)
    assert partial.score == pytest.approx((0.4 * 80 + 0.15 * 90) / 0.55)
    notes = {c.name: c.note for c in partial.components if not c.measured}
    assert notes == {
        "satisfaction": "no survey answers",
        "sentiment": f"{enough - 1} observations, {enough} needed",
    }
    nothing = combine({})
    assert (nothing.score, nothing.coverage) == (None, 0.0)
