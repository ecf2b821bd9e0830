"""One pass for a map's page: the measurement and the ranked insights from one engine."""

from __future__ import annotations

import pytest

from partitur.context import Context
from partitur.core.errors import NotFound, ValidationFailed
from partitur.journey_maps import service
from tests.journey_maps.conftest import MAP, EventLog
from tests.journey_maps.test_maps import SINCE, UNTIL, save


def test_measured_insights_agree_with_measure_and_ranked_insights(
    ctx: Context, purchase_history: EventLog
) -> None:
    save(ctx, MAP)
    args = {"workspace_id": ctx.workspace_id, "key": MAP["key"], "since": SINCE, "until": UNTIL}
    measurement, ranked = service.measured_insights(ctx.store, **args)
    assert measurement == service.measure(ctx.store, **args)
    assert ranked == service.ranked_insights(ctx.store, **args)
    assert [r.id for r in ranked] == ["slow-search", "paypal", "payment-fails"]
    assert {s.stage: s.customers for s in measurement.stages}["purchase"] == 6


def test_measured_insights_refuse_an_unknown_map_and_an_empty_period(ctx: Context) -> None:
    save(ctx, MAP)
    with pytest.raises(NotFound):
        service.measured_insights(
            ctx.store, workspace_id=ctx.workspace_id, key="nope", since=SINCE, until=UNTIL
        )
    with pytest.raises(ValidationFailed) as caught:
        service.measured_insights(
            ctx.store, workspace_id=ctx.workspace_id, key=MAP["key"], since=UNTIL, until=SINCE
        )
    assert caught.value.field == "until"


def test_a_stage_without_events_is_not_measured_and_the_last_stage_has_a_drop_off(
    ctx: Context, purchase_history: EventLog
) -> None:
    from datetime import timedelta

    from tests.conftest import START

    purchase_history.add("p0", "Product Viewed", START + timedelta(days=6))  # p0 comes back
    purchase_history.commit()
    doc = {**MAP, "stages": [dict(s) for s in MAP["stages"]]}
    loyalty = {
        "key": "repeated_use",
        "touchpoints": [
            {"id": "club", "name": "Loyalty club", "events": [{"event": "Loyalty Joined"}]}
        ],
    }
    doc["stages"].insert(2, loyalty)  # an event no source sends, between purchase and first use
    doc["stages"][3] = {
        **doc["stages"][3],
        "pain_points": [
            {"id": "no-tracking", "title": "No parcel tracking", "severity": 5, "effort": 2}
        ],
    }
    save(ctx, doc)
    args = {"workspace_id": ctx.workspace_id, "key": MAP["key"], "since": SINCE, "until": UNTIL}
    measurement, ranked = service.measured_insights(ctx.store, **args)
    stages = {s.stage: s for s in measurement.stages}
    assert not stages["repeated_use"].measured and stages["repeated_use"].customers == 0
    # no false 100 % drop-off before the stage that was not measured
    purchase = stages["purchase"]
    assert purchase.measured and purchase.conversion_to_next is None and purchase.drop_off is None
    assert purchase.note == "next stage not measured"
    assert stages["research"].conversion_to_next == pytest.approx(0.5)
    # last stage: p0 and p1 answered the survey, only p0 was seen at another stage afterwards
    last = stages["first_use"]
    assert last.conversion_to_next is None and last.drop_off == pytest.approx(0.5)
    by_id = {r.id: r for r in ranked}
    # value per customer 18 (revenue 180 over 10 customers); 2 affected x 0.5 x 18 x 5/5
    assert by_id["no-tracking"].impact == pytest.approx(2 * 0.5 * 18 * 5 / 5)
