"""Marketing and CRM: CRM identifies, consent changes, newsletters, anonymous visitors.

Every customer arrives with a CRM identify (crm_id, loyalty tier, consent); some change their
e-mail consent later. A newsletter goes out every two weeks with opens, clicks and unsubscribes.
Visitors who never sign up browse anonymously, some leaving a cart behind, and a buggy app
release sends a few malformed messages that belong in quarantine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from partitur.demo import catalogue as cat
from partitur.demo.state import StoryState

if TYPE_CHECKING:
    from partitur.demo.generator import Customers


class Marketing(StoryState):
    """What marketing and the CRM send, and who browses without an account."""

    def _crm(self, c: Customers) -> None:
        """Existing customers arrive with a CRM identify on the window's first day; new ones a
        day after signing up. Some change consent or loyalty tier later."""
        existing_ts = self.start_ms + self.rng.integers(0, 6 * 3600_000, c.n)
        new_ts = (
            self.day0_ms + (c.signup_day + 1) * 86_400_000 + self.rng.integers(0, 86_400_000, c.n)
        )
        consent_change = self.rng.random(c.n) < 0.06
        change_day = self.rng.integers(1, self.cfg.days, c.n)
        for i in range(c.n):
            ts = int(existing_ts[i]) if c.signup_day[i] < 0 else int(new_ts[i])
            self.out.identify(
                "crm", ts, self.traits(c, i, full=True), self.server_ctx, user_id=c.user_id[i]
            )
            if consent_change[i] and change_day[i] < c.churn_day[i]:
                opt = not bool(c.email_opt_in[i])
                when = self.day0_ms + int(change_day[i]) * 86_400_000 + 43_200_000
                self.out.identify(
                    "crm", when, {"email_opt_in": opt}, self.server_ctx, user_id=c.user_id[i]
                )
                self.out.track(
                    "crm",
                    when + 1000,
                    "Consent Updated",
                    {"channel": "email", "purpose": "marketing", "granted": opt},
                    self.server_ctx,
                    user_id=c.user_id[i],
                )

    def _anonymous_visitors(self, n: int) -> None:
        """Visitors who never sign up: one to three anonymous sessions, some with a cart."""
        rng = self.rng
        sessions = rng.integers(1, 4, n)
        vis = np.repeat(np.arange(n), sessions)
        m_idx = rng.choice(len(cat.MARKETS), size=n, p=[m.weight for m in cat.MARKETS])
        tz = np.array([self.timezones.index(cat.MARKETS[int(k)].regions[0][2]) for k in m_idx])
        day = self.sample_days(np.zeros(len(vis), dtype=np.int64), np.full(len(vis), self.cfg.days))
        t0 = self.local_to_ms(day, self.sample_local_seconds(len(vis)), tz[vis])
        views = 1 + rng.poisson(1.5, len(vis))
        cats = rng.choice(len(cat.CATEGORIES), size=len(vis), p=self.cat_weights)
        prods = self.pick_products(np.repeat(cats, views))
        offs = np.concatenate([[0], np.cumsum(views)])
        added = rng.random(len(vis)) < 0.12
        gaps = rng.exponential(40_000, len(prods) + 3 * len(vis)).astype(np.int64) + 3000
        ctxs = [
            {
                "locale": m.locale,
                "timezone": m.regions[0][2],
                "library": {"name": "analytics.js", "version": "4.1.0"},
            }
            for m in cat.MARKETS
        ]
        seed = self.cfg.seed
        g = 0
        for s in range(len(vis)):
            v = int(vis[s])
            anon = f"v-{seed:x}-{v:06x}"
            ctx = ctxs[int(m_idx[v])]
            t = int(t0[s])
            self.out.view("web", t, "Home", {"path": "/"}, ctx, user_id=None, anonymous_id=anon)
            last = None
            for p in prods[offs[s] : offs[s + 1]].tolist():
                t += int(gaps[g])
                g += 1
                prod = self.products[p]
                last = prod
                self.out.track(
                    "web",
                    t,
                    "Product Viewed",
                    {
                        "product_id": prod["product_id"],
                        "name": prod["name"],
                        "category": prod["category"],
                        "price": prod["price"],
                    },
                    ctx,
                    anonymous_id=anon,
                )
            if added[s] and last is not None:
                t += int(gaps[g])
                g += 1
                self.out.track(
                    "web",
                    t,
                    "Product Added",
                    {
                        "product_id": last["product_id"],
                        "name": last["name"],
                        "category": last["category"],
                        "price": last["price"],
                        "quantity": 1,
                    },
                    ctx,
                    anonymous_id=anon,
                )
                self.facts.abandoned_carts += 1
        self.facts.anonymous_visitors = n

    def _emails(self, c: Customers) -> None:
        """A newsletter every two weeks (Thursday, 9:00 local) to part of the opted-in base."""
        rng, days = self.rng, self.cfg.days
        first_thursday = (3 - self.start_date.weekday()) % 7
        campaigns = list(range(first_thursday, days, 14))
        nine = np.full(c.n, 9 * 3600)
        for k, day in enumerate(campaigns):
            name = f"newsletter-{(self.start_date + timedelta(days=day)).isoformat()}"
            reach = c.email_opt_in & (rng.random(c.n) < 0.45) & (np.maximum(c.signup_day, -1) < day)
            idx = np.flatnonzero(reach)
            t_send = self.local_to_ms(np.full(len(idx), day), nine[idx], c.tz_index[idx])
            active = c.churn_day[idx] > day
            open_p = np.where(active, 0.22 + 0.15 * c.happiness[idx], 0.04)
            opened = rng.random(len(idx)) < open_p
            clicked = opened & (rng.random(len(idx)) < 0.18)
            unsub = rng.random(len(idx)) < np.where(active, 0.002, 0.02)
            open_delay = (rng.exponential(5.0, len(idx)) * 3600_000).astype(np.int64) + 60_000
            for j, ci in enumerate(idx.tolist()):
                uid = c.user_id[ci]
                props = {
                    "campaign_id": name,
                    "campaign_name": f"Newsletter {k + 1}",
                    "email_id": f"em-{k}-{ci}",
                }
                ts = int(t_send[j])
                self.out.track("email", ts, "Email Sent", props, self.server_ctx, user_id=uid)
                if opened[j]:
                    self.out.track(
                        "email",
                        ts + int(open_delay[j]),
                        "Email Opened",
                        props,
                        self.server_ctx,
                        user_id=uid,
                    )
                    if clicked[j]:
                        self.out.track(
                            "email",
                            ts + int(open_delay[j]) + 20_000,
                            "Email Link Clicked",
                            {**props, "link": "/sale"},
                            self.server_ctx,
                            user_id=uid,
                        )
                if unsub[j]:
                    self.out.track(
                        "email",
                        ts + int(open_delay[j]) + 60_000,
                        "Unsubscribed",
                        props,
                        self.server_ctx,
                        user_id=uid,
                    )
            self.facts.emails_sent += len(idx)

    def _malformed(self) -> None:
        """A buggy app release sends a few messages without any id or with an unknown type."""
        t = self.end_ms - 2 * 86_400_000
        for k in range(6):
            self.out.add(
                "app",
                t + k * 60_000,
                {"type": "track", "event": "Screen Loaded", "properties": {"build": "5.3.2-beta"}},
            )
        for k in range(3):
            self.out.add(
                "app",
                t + k * 90_000,
                {"type": "trak", "event": "Product Viewed", "anonymousId": f"bad-{k}"},
            )
        self.facts.malformed = 9
