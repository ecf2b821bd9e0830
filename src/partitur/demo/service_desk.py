"""The service desk and the customer's voice: tickets, CSAT, NPS, reviews and the outage.

Tickets (German and English texts with a known sentiment) follow late or damaged deliveries,
refunds and other trouble; each is resolved by an agent and sometimes rated in a CSAT survey.
A relationship NPS survey, product reviews with star ratings and one regional app outage (with
its burst of login errors and tickets) complete what the service team sees.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from partitur.demo import catalogue as cat
from partitur.demo import texts
from partitur.demo.state import StoryState

if TYPE_CHECKING:
    from partitur.demo.generator import Customers


class ServiceDesk(StoryState):
    """Support tickets, surveys, reviews and the outage."""

    def _outage(self, c: Customers) -> dict[str, Any]:
        """When and where the app fails: a (German, if any) region, four hours one morning."""
        day = int(self.cfg.days * 0.72)
        codes = sorted({r[0] for r in c.region if r[0].startswith("DE")}) or sorted(
            {r[0] for r in c.region}
        )
        region = codes[int(self.rng.integers(len(codes)))]
        tz = self.timezones.index("Europe/Berlin" if region.startswith("DE") else "Europe/London")
        start = int(self.local_to_ms(np.array([day]), np.array([7 * 3600]), np.array([tz]))[0])
        end = start + 4 * 3600_000
        self.facts.outage = {
            "region": region,
            "start": _iso(start),
            "end": _iso(end),
        }
        return {"region": region, "start": start, "end": end, "day": day}

    def _ticket(
        self,
        c: Customers,
        i: int,
        t: int,
        topic: str,
        sentiment: str,
        order_id: str,
        product: str,
        *,
        channel: str | None = None,
    ) -> None:
        if t >= int(self.day0_ms + min(int(c.churn_day[i]), self.cfg.days + 30) * 86_400_000):
            return
        m = cat.MARKETS[int(c.market[i])]
        rng = self.rng
        self._ticket_seq += 1
        ticket_id = f"T-{self._ticket_seq + 500000}"
        days = int(rng.integers(3, 15))
        text = texts.support_ticket(
            rng,
            topic=topic,
            sentiment=sentiment,
            language=m.language,
            order_id=order_id,
            product=product,
            days=days,
            name=c.first[i],
        )
        self._count_text(text)
        chan = channel or cat.SUPPORT_CHANNELS[int(rng.integers(len(cat.SUPPORT_CHANNELS)))]
        priority = "high" if sentiment == "negative" and rng.random() < 0.5 else "normal"
        uid, ctx = c.user_id[i], self.server_ctx
        self.out.track(
            "support",
            t,
            "Ticket Created",
            {
                "ticket_id": ticket_id,
                "topic": topic,
                "channel": chan,
                "priority": priority,
                "subject": text.subject,
                "text": text.body,
                "language": text.language,
                "sentiment_label": text.sentiment,
                "order_id": order_id,
            },
            ctx,
            user_id=uid,
        )
        self.facts.tickets += 1
        hours = float(rng.gamma(1.6, 9.0 if priority == "high" else 16.0)) + 0.3
        t_res = t + int(hours * 3600_000)
        agent = cat.AGENTS[int(rng.integers(len(cat.AGENTS)))]
        fcr = bool(rng.random() < 0.7)
        self.out.track(
            "support",
            t_res,
            "Ticket Resolved",
            {
                "ticket_id": ticket_id,
                "topic": topic,
                "agent": agent,
                "resolution_hours": round(hours, 1),
                "first_contact_resolution": fcr,
            },
            ctx,
            user_id=uid,
        )
        if rng.random() < 0.45:
            base = 4.2 + 0.8 * c.happiness[i] - hours / 30 - (0 if fcr else 0.8)
            base -= 0.7 if sentiment == "negative" else 0.0
            score = int(np.clip(round(base + rng.normal(0, 0.7)), 1, 5))
            props: dict[str, Any] = {
                "ticket_id": ticket_id,
                "survey": "csat",
                "score": score,
                "scale": "1-5",
                "agent": agent,
            }
            if rng.random() < 0.5:
                comment = texts.csat_comment(rng, score=score, language=m.language)
                self._count_text(comment)
                props.update(
                    comment=comment.body,
                    language=comment.language,
                    sentiment_label=comment.sentiment,
                )
            self.out.track(
                "surveys",
                t_res + int(rng.integers(1, 30)) * 3600_000,
                "CSAT Submitted",
                props,
                ctx,
                user_id=uid,
            )
            self.facts.csat_responses += 1

    def _review(
        self,
        c: Customers,
        i: int,
        line: dict[str, Any],
        order_id: str,
        t_deliver: int,
        r: np.ndarray,
        *,
        damaged: bool,
    ) -> None:
        m = cat.MARKETS[int(c.market[i])]
        product = line["name"]
        stars = int(
            np.clip(
                round(3.9 + 1.6 * c.happiness[i] + (r[3] - 0.5) * 2 - (2 if damaged else 0)),
                1,
                5,
            )
        )
        text = texts.review(self.rng, stars=stars, language=m.language, product=product)
        self._count_text(text)
        src = "app" if c.has_app[i] and r[2] < 0.5 else "web"
        self.out.track(
            src,
            t_deliver + int(3 + r[0] * 8) * 86_400_000,
            "Product Reviewed",
            {
                "product_id": line["product_id"],
                "order_id": order_id,
                "rating": stars,
                "review_title": text.subject,
                "review_body": text.body,
                "language": text.language,
                "sentiment_label": text.sentiment,
            },
            self.app_ctx[i] if src == "app" else self.web_ctx[i],
            user_id=c.user_id[i],
            anonymous_id=c.app_anon[i] if src == "app" else c.web_anon[i],
        )
        self.facts.reviews += 1

    def _nps(self, c: Customers) -> None:
        """A relationship NPS survey to a quarter of the customers; 35 % answer."""
        rng, days = self.rng, self.cfg.days
        asked = rng.random(c.n) < 0.25
        answered = asked & (rng.random(c.n) < 0.35)
        lo = np.maximum(c.signup_day, 0) + 7
        hi = np.minimum(c.churn_day, days)
        ok = answered & (lo < hi)
        idx = np.flatnonzero(ok)
        day = self.sample_days(lo[idx], hi[idx])
        ts = self.local_to_ms(day, self.sample_local_seconds(len(idx)), c.tz_index[idx])
        raw = 7.6 + 2.6 * c.happiness[idx] + rng.normal(0, 1.3, len(idx))
        scores = np.clip(np.round(raw), 0, 10).astype(int)
        with_comment = rng.random(len(idx)) < 0.6
        for j, ci in enumerate(idx.tolist()):
            lang = cat.MARKETS[int(c.market[ci])].language
            props: dict[str, Any] = {"survey": "nps", "score": int(scores[j]), "scale": "0-10"}
            if with_comment[j]:
                comment = texts.nps_comment(rng, score=int(scores[j]), language=lang)
                self._count_text(comment)
                props.update(
                    comment=comment.body,
                    language=comment.language,
                    sentiment_label=comment.sentiment,
                )
            self.out.track(
                "surveys",
                int(ts[j]),
                "NPS Submitted",
                props,
                self.server_ctx,
                user_id=c.user_id[ci],
            )
        self.facts.nps_responses = len(idx)

    def _outage_effects(self, c: Customers) -> None:
        """During the outage, app users in the region fail to log in; many contact support."""
        o = self.outage
        affected = np.flatnonzero(
            np.array([r[0] == o["region"] for r in c.region])
            & c.has_app
            & (c.churn_day > o["day"])
            & (np.maximum(c.signup_day, 0) <= o["day"])
        )
        # monitoring fans the outage out to each affected customer (the outage-notice journey
        # reacts to these), and sends the all-clear when it is over
        for ci in affected.tolist():
            props = {"region": o["region"], "service": "app", "outage_id": f"out-{o['day']}"}
            for when, name in (
                (o["start"] + 300_000, "Outage Detected"),
                (o["end"], "Outage Resolved"),
            ):
                self.out.track(
                    "app", when, name, dict(props), self.server_ctx, user_id=c.user_id[ci]
                )
        self.facts.outage["affected_customers"] = len(affected)
        rng = self.rng
        tries = affected[rng.random(len(affected)) < 0.35]
        for ci in tries.tolist():
            t = o["start"] + int(rng.integers(0, o["end"] - o["start"]))
            ctx = self.app_ctx[ci]
            for k in range(int(rng.integers(1, 4))):
                self.out.track(
                    "app",
                    t + k * 40_000,
                    "Login Failed",
                    {"error": "upstream_timeout", "status": 503},
                    ctx,
                    user_id=c.user_id[ci],
                    anonymous_id=c.app_anon[ci],
                )
            if rng.random() < 0.3:
                self._ticket(
                    c, ci, t + 600_000, "account_login", "negative", "-", "App", channel="chat"
                )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
