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
