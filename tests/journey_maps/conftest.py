from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from partitur.context import Context
from partitur.events.tables import events
from tests.conftest import START

MAP: dict[str, Any] = {
    "key": "online-purchase",
    "name": "Online purchase",
    "owner": "CX team",
    "stages": [
        {
            "key": "research",
            "emotion": 1,
            "needs": ["Compare products quickly"],
            "touchpoints": [
                {
                    "id": "product-page",
                    "name": "Product page",
                    "channel": "web",
                    "events": [{"event": "Product Viewed"}],
                },
            ],
            "pain_points": [
                {
                    "id": "slow-search",
                    "title": "Search is slow",
                    "severity": 4,
                    "effort": 2,
                    "touchpoint": "product-page",
                },
            ],
        },
        {
            "key": "purchase",
            "emotion": -1,
            "touchpoints": [
                {
                    "id": "checkout",
                    "name": "Checkout",
                    "channel": "web",
                    "events": [{"event": "Checkout Started"}],
                },
                {
                    "id": "order",
                    "name": "Order",
                    "channel": "web",
                    "events": [{"event": "Order Completed"}],
                },
            ],
            "pain_points": [
                {
                    "id": "payment-fails",
                    "title": "Card payment fails",
                    "severity": 5,
                    "effort": 4,
                    "touchpoint": "checkout",
                },
            ],
            "opportunities": [
                {"id": "paypal", "title": "Offer PayPal", "severity": 2, "effort": 1},
            ],
        },
        {
            "key": "first_use",
            "emotion": 2,
            "touchpoints": [
                {
                    "id": "survey",
                    "name": "Delivery survey",
                    "channel": "email",
                    "events": [
                        {
                            "event": "Survey Answered",
                            "where": [{"property": "survey", "value": "delivery"}],
                        }
                    ],
                    "satisfaction": {
                        "event": "Survey Answered",
                        "property": "score",
                        "scale": "csat",
                        "where": [{"property": "survey", "value": "delivery"}],
                    },
                },
            ],
        },
    ],
}


class EventLog:
    """Writes events straight into the log, already resolved to profiles (test arrangement)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rows: list[dict[str, Any]] = []
        self.added = 0  # message ids stay unique across commits

    def add(self, profile: str, event: str, at: datetime, **properties: Any) -> None:
        n = self.added
        self.added += 1
        self.rows.append(
            {
                "workspace_id": self.ctx.workspace_id,
                "source_id": "src_test",
                "message_id": f"m{n}",
                "type": "track",
                "event": event,
                "user_id": profile,
                "profile_id": profile,
                "timestamp": at,
                "received_at": at,
                "properties": properties,
            }
        )

    def commit(self) -> None:
        with self.ctx.store.begin() as conn:
            conn.execute(events.insert(), self.rows)
        self.rows = []


@pytest.fixture
def log(ctx: Context) -> EventLog:
    return EventLog(ctx)


@pytest.fixture
def purchase_history(log: EventLog) -> EventLog:
    """10 researchers; 6 start checkout (one of them before any research: not a conversion);
    3 order; 2 answer the delivery survey with CSAT 5 and 2; revenue 100 + 50 + 30."""
    t = START
    for i in range(10):
        log.add(f"p{i}", "Product Viewed", t + timedelta(hours=i))
    for i in range(5):
        log.add(f"p{i}", "Checkout Started", t + timedelta(days=1, hours=i))
    log.add("p9", "Checkout Started", t - timedelta(days=1))  # before research
    for i, revenue in zip(range(3), (100, 50, 30), strict=True):
        log.add(f"p{i}", "Order Completed", t + timedelta(days=2, hours=i), revenue=revenue)
    log.add("p0", "Survey Answered", t + timedelta(days=5), survey="delivery", score=5)
    log.add("p1", "Survey Answered", t + timedelta(days=5), survey="delivery", score=2)
    log.add("p2", "Survey Answered", t + timedelta(days=5), survey="returns", score=1)
    log.commit()
    return log
