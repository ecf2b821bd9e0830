"""The customer-value inputs the value tiers weigh, computed from the event log. No I/O here.

Per profile, over a window (default 365 days), in the reporting currency where money:

* **service cost**: contacts by channel (``Ticket Created``; phone dearer than chat or a web
  form), agent tasks the customer caused and returns (``Order Refunded``), each at a cost per
  unit (``ServiceCostRates``);
* **loyalty** (0..1): half tenure (days since the first of these events in the window — an
  order, a contact, a review, a survey answer, a click; a full year counts fully), half repeat
  purchase (orders after the first; three repeats count fully);
* **digital affinity** (0..1): the share of the customer's service contacts and e-mail
  interactions in digital channels (chat, e-mail, web form, app, e-mail clicks) against
  assisted ones (phone, store), with one digital and one assisted contact as prior (0.5 with no
  contacts at all);
* **influence** (0..1): product reviews written (two count fully, half the weight), being an
  NPS promoter (9-10 on the last answer, a quarter) and referrals (a quarter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pandas as pd

VALUE_INPUTS = ("service_cost", "loyalty", "digital_affinity", "influence")


@dataclass(frozen=True)
class ServiceCostRates:
    """Cost per unit in the reporting currency."""

    contact: dict[str, float] = field(
        default_factory=lambda: {
            "phone": 9.0,
            "chat": 4.0,
            "email": 5.0,
            "contact_form": 4.0,
            "web": 3.0,
            "app": 3.0,
        }
    )
    contact_default: float = 5.0
    agent_task: float = 12.0
    return_: float = 8.0
    assisted_channels: tuple[str, ...] = ("phone", "store", "branch")
    contact_event: str = "Ticket Created"
    return_event: str = "Order Refunded"
    order_event: str = "Order Completed"
    review_event: str = "Product Reviewed"
    nps_event: str = "NPS Submitted"
    email_click_event: str = "Email Link Clicked"
    referral_events: tuple[str, ...] = ("Referral Sent", "Friend Referred", "Referral Completed")

    def event_names(self) -> list[str]:
        """The events the inputs read (the rest of the log is not needed)."""
        return [
            self.contact_event,
            self.return_event,
            self.order_event,
            self.review_event,
            self.nps_event,
            self.email_click_event,
            *self.referral_events,
        ]


_SQL = """
WITH e AS (SELECT * FROM frame WHERE timestamp > $since AND timestamp <= $until),
costs AS (SELECT unnest($channels) AS channel, unnest($rates) AS rate),
contacts AS (
    SELECT profile_id,
        sum(coalesce(c.rate, $default_rate)) AS contact_cost,
        count(*) FILTER (WHERE list_contains($assisted, lower(coalesce(e.channel, ''))))
            AS assisted,
        count(*) FILTER (WHERE NOT list_contains($assisted, lower(coalesce(e.channel, ''))))
            AS digital
    FROM e LEFT JOIN costs c ON lower(e.channel) = c.channel
    WHERE e.event = $contact GROUP BY profile_id
), agg AS (
    SELECT profile_id,
        date_diff('second', min(timestamp), $until) / 86400.0 AS tenure_days,
        count(*) FILTER (WHERE event = $order) AS orders,
        count(*) FILTER (WHERE event = $return_event) AS returns,
        count(*) FILTER (WHERE event = $review) AS reviews,
        count(*) FILTER (WHERE list_contains($referrals, event)) AS referrals,
        count(*) FILTER (WHERE event = $click) AS clicks,
        arg_max(score, timestamp) FILTER (WHERE event = $nps AND score IS NOT NULL) AS nps_last
    FROM e GROUP BY profile_id
)
SELECT a.profile_id, a.tenure_days, a.orders, a.returns, a.reviews, a.referrals, a.nps_last,
    coalesce(c.contact_cost, 0) AS contact_cost,
    coalesce(c.digital, 0) + a.clicks AS digital,
    coalesce(c.assisted, 0) AS assisted
FROM agg a LEFT JOIN contacts c USING (profile_id)
ORDER BY a.profile_id
"""


def value_inputs(
    frame: pd.DataFrame,
    *,
    now: datetime,
    agent_tasks: dict[str, int] | None = None,
    window: timedelta = timedelta(days=365),
    rates: ServiceCostRates | None = None,
) -> pd.DataFrame:
    """One row per profile with events in the window: ``VALUE_INPUTS`` and the counts behind
    them (tenure_days, orders, returns, reviews, referrals, nps_last, contacts, agent_tasks).
    ``frame`` has profile_id, event, timestamp, score and channel columns."""
    rates = rates or ServiceCostRates()
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        out: pd.DataFrame = con.execute(
            _SQL,
            {
                "since": now - window,
                "until": now,
                "channels": list(rates.contact),
                "rates": list(rates.contact.values()),
                "default_rate": rates.contact_default,
                "assisted": list(rates.assisted_channels),
                "contact": rates.contact_event,
                "order": rates.order_event,
                "return_event": rates.return_event,
                "review": rates.review_event,
                "referrals": list(rates.referral_events),
                "click": rates.email_click_event,
                "nps": rates.nps_event,
            },
        ).df()
    finally:
        con.close()
    tasks = out["profile_id"].map(agent_tasks or {}).fillna(0).astype("float64")
    out["agent_tasks"] = tasks
    out["contacts"] = out["digital"] + out["assisted"]
    out["service_cost"] = (
        out["contact_cost"] + tasks * rates.agent_task + out["returns"] * rates.return_
    ).round(2)
    tenure = (out["tenure_days"] / 365.0).clip(upper=1.0)
    repeats = ((out["orders"] - 1).clip(lower=0) / 3.0).clip(upper=1.0)
    out["loyalty"] = (0.5 * tenure + 0.5 * repeats).round(4)
    out["digital_affinity"] = ((out["digital"] + 1) / (out["digital"] + out["assisted"] + 2)).round(
        4
    )
    promoter = (out["nps_last"] >= 9).astype("float64")
    out["influence"] = (
        0.5 * (out["reviews"] / 2.0).clip(upper=1.0)
        + 0.25 * promoter
        + 0.25 * (out["referrals"] / 2.0).clip(upper=1.0)
    ).round(4)
    return out
