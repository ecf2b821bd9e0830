"""Web and app sessions of known customers, and what follows an order.

A session is a visit on the web or in the app: page and screen views, product and content
views, a cart (often abandoned) and sometimes an order, which is then shipped, delivered (some
late), perhaps refunded, and may lead to a support ticket or a product review. Sign-up
sessions, anonymous visits before a sign-up, first app logins and shared family computers give
identity resolution its merges; research bursts before a premium purchase give the
"research -> offer" signal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from partitur.demo import catalogue as cat
from partitur.demo.state import StoryState

if TYPE_CHECKING:
    from partitur.demo.generator import Customers

_FX = {"EUR": 1.0, "GBP": 0.86, "USD": 1.08}


class Sessions(StoryState):
    """The shop: sessions, carts, orders and their aftermath."""

    #: per customer: whether the app was started yet (the first start is anonymous)
    _app_seen: np.ndarray
    #: customer index -> the web cookie of the household member whose browser they share
    _shared: dict[int, str]
    #: per session: four uniform draws that decide content topics and what follows an order
    _post_order_rng: np.ndarray

    def _sessions(self, c: Customers) -> None:
        rng, days = self.rng, self.cfg.days
        # after the sign-up day (so no logged-in visit precedes the sign-up itself)
        active_lo = np.where(c.signup_day >= 0, c.signup_day + 1, 0)
        active_hi = np.minimum(c.churn_day, days)
        weeks = np.maximum(active_hi - active_lo, 0) / 7.0
        counts = rng.poisson(c.rate * weeks)
        # every customer who signs up in the window has a sign-up session
        signup = c.signup_day >= 0
        counts = counts + signup
        cust = np.repeat(np.arange(c.n), counts)
        day = self.sample_days(active_lo[cust], active_hi[cust])
        first_of_cust = np.concatenate([[0], np.cumsum(counts)[:-1]])
        is_signup = np.zeros(len(cust), dtype=bool)
        is_signup[first_of_cust[signup & (counts > 0)]] = True
        day[is_signup] = c.signup_day[cust[is_signup]]
        # anonymous visits before signing up (1-4 within 21 days before)
        pre_n = np.where(signup & (rng.random(c.n) < 0.7), rng.integers(1, 5, c.n), 0)
        pre_cust = np.repeat(np.arange(c.n), pre_n)
        pre_day = c.signup_day[pre_cust] - rng.integers(1, 22, len(pre_cust))
        self.facts.signups_with_anonymous_history = int((pre_n > 0).sum())
        # research bursts: financing guides 3-5 times in a week, then often a premium purchase
        researcher = (rng.random(c.n) < 0.08) & (active_hi - active_lo > 20)
        res_n = np.where(researcher, rng.integers(3, 6, c.n), 0)
        res_cust = np.repeat(np.arange(c.n), res_n)
        burst_start = active_lo + (
            rng.random(c.n) * np.maximum(active_hi - active_lo - 18, 1)
        ).astype(np.int64)
        res_day = burst_start[res_cust] + rng.integers(0, 7, len(res_cust))
        buys = researcher & (rng.random(c.n) < 0.55)
        buy_cust = np.flatnonzero(buys)
        buy_day = burst_start[buy_cust] + rng.integers(6, 17, len(buy_cust))
        self.facts.researchers = int(researcher.sum())

        kinds = np.concatenate(
            [
                np.where(is_signup, 1, 0),
                np.full(len(pre_cust), 2),
                np.full(len(res_cust), 3),
                np.full(len(buy_cust), 4),
            ]
        )
        all_cust = np.concatenate([cust, pre_cust, res_cust, buy_cust])
        all_day = np.concatenate([day, pre_day, res_day, buy_day])
        keep = (all_day >= 0) & (all_day < np.minimum(c.churn_day[all_cust], days))
        kinds, all_cust, all_day = kinds[keep], all_cust[keep], all_day[keep]
        n = len(all_cust)
        t0 = self.local_to_ms(all_day, self.sample_local_seconds(n), c.tz_index[all_cust])
        app_session = c.has_app[all_cust] & (rng.random(n) < 0.6) & (kinds != 2)
        logged_in = (rng.random(n) < 0.72) & (kinds != 2)
        n_views = 1 + rng.poisson(1.1, n)
        add = rng.random(n) < 0.28
        convert = rng.random(n) < 0.42
        content = rng.random(n) < 0.18
        browse_cat = np.where(
            rng.random(n) < 0.6,
            c.fav_category[all_cust],
            rng.choice(len(cat.CATEGORIES), size=n, p=self.cat_weights),
        )
        gaps = rng.exponential(55_000, (n, 16)).astype(np.int64) + 4_000
        late = rng.random(n) < 0.09
        damaged = rng.random(n) < 0.03
        refund = rng.random(n) < 0.06
        reviews = rng.random(n) < 0.14
        ship_delay = rng.integers(12, 48, n) * 3600_000
        deliver_delay = rng.integers(24, 96, n) * 3600_000 + np.where(
            late, rng.integers(3, 9, n) * 86_400_000, 0
        )
        # app first logins: the app was used anonymously once before (a second device merge)
        self._app_seen = np.zeros(c.n, dtype=bool)
        self._shared = self._shared_devices(c)
        self.facts.sessions = n
        view_products = self.pick_products(np.repeat(browse_cat, n_views))
        view_offsets = np.concatenate([[0], np.cumsum(n_views)])
        items = 1 + (rng.random(n) < 0.25)
        extra_item = self.pick_products(browse_cat)
        self._post_order_rng = rng.random((n, 4))
        for s in np.argsort(t0, kind="stable").tolist():
            i = int(all_cust[s])
            self._session(
                c,
                i,
                int(kinds[s]),
                int(t0[s]),
                bool(app_session[s]),
                bool(logged_in[s]),
                view_products[view_offsets[s] : view_offsets[s + 1]],
                bool(add[s]),
                bool(convert[s]),
                bool(content[s]),
                int(browse_cat[s]),
                gaps[s],
                (bool(late[s]), bool(damaged[s]), bool(refund[s]), bool(reviews[s])),
                (int(ship_delay[s]), int(deliver_delay[s])),
                int(items[s]),
                int(extra_item[s]),
                s,
            )

    def _shared_devices(self, c: Customers) -> dict[int, str]:
        """A few households share one browser: the second customer uses the first's cookie."""
        pairs = max(c.n // 200, 1)
        older = np.flatnonzero(c.signup_day < 0)
        if len(older) < 2 * pairs:
            return {}
        chosen = self.rng.choice(older, size=2 * pairs, replace=False)
        shared = {
            int(b): c.web_anon[int(a)] for a, b in zip(chosen[::2], chosen[1::2], strict=True)
        }
        self.facts.shared_devices = len(shared)
        return shared

    def _session(
        self,
        c: Customers,
        i: int,
        kind: int,
        t: int,
        on_app: bool,
        logged_in: bool,
        products: np.ndarray,
        add: bool,
        convert: bool,
        content: bool,
        category: int,
        gaps: np.ndarray,
        aftermath: tuple[bool, bool, bool, bool],
        delays: tuple[int, int],
        items: int,
        extra_item: int,
        s: int,
    ) -> None:
        m = cat.MARKETS[int(c.market[i])]
        lang = m.language
        src = "app" if on_app else "web"
        ctx = self.app_ctx[i] if on_app else self.web_ctx[i]
        anon = c.app_anon[i] if on_app else self._shared.get(i, c.web_anon[i])
        # kind: 0 regular, 1 sign-up, 2 anonymous before sign-up, 3 research, 4 premium purchase
        uid: str | None = c.user_id[i] if logged_in or kind in (3, 4) else None
        if kind in (1, 2):
            uid = None
        g = 0

        def step() -> int:
            nonlocal t, g
            t += int(gaps[g % len(gaps)])
            g += 1
            return t

        out = self.out
        if on_app and not self._app_seen[i]:
            # first app start is anonymous; the login then links the device to the customer
            self._app_seen[i] = True
            out.track(
                "app", t, "Application Installed", {"version": "5.3.1"}, ctx, anonymous_id=anon
            )
            if kind != 1:
                out.view("app", step(), "Login", {}, ctx, user_id=None, anonymous_id=anon)
                out.identify(
                    "app",
                    step(),
                    self.traits(c, i, full=False),
                    ctx,
                    user_id=c.user_id[i],
                    anonymous_id=anon,
                )
                self.facts.app_first_logins += 1
                uid = c.user_id[i]
            t = step()
        home = "Home"
        out.view(
            src,
            t,
            home,
            {"path": "/", "title": f"{cat.COMPANY} – Home"},
            ctx,
            user_id=uid,
            anonymous_id=anon,
        )
        if kind == 1:
            # sign-up: the anonymous history merges into the new customer
            out.view(
                src,
                step(),
                "Sign Up",
                {"path": "/account/signup"},
                ctx,
                user_id=None,
                anonymous_id=anon,
            )
            uid = c.user_id[i]
            out.identify(
                src, step(), self.traits(c, i, full=False), ctx, user_id=uid, anonymous_id=anon
            )
            out.track(
                src,
                step(),
                "Signed Up",
                {"method": "email", "platform": src},
                ctx,
                user_id=uid,
                anonymous_id=anon,
            )
        if kind == 3 or (content and kind != 4):
            topic_i = 0 if kind == 3 else int(self._post_order_rng[s, 3] * len(cat.CONTENT_TOPICS))
            topic = cat.CONTENT_TOPICS[topic_i]
            slug = topic[3][int(self._post_order_rng[s, 2] * len(topic[3]))]
            title = topic[2] if lang == "de" else topic[1]
            out.view(
                src,
                step(),
                "Article",
                {
                    "path": f"/magazine/{topic[0]}/{slug}",
                    "title": title,
                    "category": topic[0],
                    "content_id": slug,
                },
                ctx,
                user_id=uid,
                anonymous_id=anon,
            )
        if kind in (3, 4):
            products = self.premium[(products + s) % len(self.premium)][: max(len(products), 2)]
            category = 0
        cname = cat.CATEGORIES[category]
        out.view(
            src,
            step(),
            "Category",
            {
                "path": f"/c/{cname.key}",
                "title": cname.name_de if lang == "de" else cname.name_en,
                "category": cname.key,
            },
            ctx,
            user_id=uid,
            anonymous_id=anon,
        )
        fx = _FX[m.currency]
        for p in products.tolist():
            prod = self.products[p]
            out.track(
                src,
                step(),
                "Product Viewed",
                {
                    "product_id": prod["product_id"],
                    "sku": prod["sku"],
                    "name": prod["name"],
                    "category": prod["category"],
                    "price": round(prod["price"] * fx, 2),
                    "currency": m.currency,
                },
                ctx,
                user_id=uid,
                anonymous_id=anon,
            )
        if kind == 4:
            add, convert = True, True
        if not add or kind == 3:
            return
        cart = [int(products[-1])] + ([extra_item] if items > 1 else [])
        for p in cart:
            prod = self.products[p]
            out.track(
                src,
                step(),
                "Product Added",
                {
                    "product_id": prod["product_id"],
                    "name": prod["name"],
                    "category": prod["category"],
                    "price": round(prod["price"] * fx, 2),
                    "quantity": 1,
                    "currency": m.currency,
                },
                ctx,
                user_id=uid,
                anonymous_id=anon,
            )
        if not convert or kind == 2:
            self.facts.abandoned_carts += 1
            return
        if uid is None:
            # checkout needs a login: the anonymous session is linked to the customer here
            uid = c.user_id[i]
            out.identify(src, step(), {"email": c.email[i]}, ctx, user_id=uid, anonymous_id=anon)
        self._order_seq += 1
        order_id = f"NH-{self._order_seq + 100000}"
        lines = [
            {
                "product_id": self.products[p]["product_id"],
                "name": self.products[p]["name"],
                "category": self.products[p]["category"],
                "price": round(self.products[p]["price"] * fx, 2),
                "quantity": 1,
            }
            for p in cart
        ]
        revenue = round(sum(line["price"] for line in lines), 2)
        shipping = 0.0 if revenue >= 50 else 4.95
        out.track(
            src,
            step(),
            "Checkout Started",
            {"order_id": order_id, "value": revenue, "currency": m.currency},
            ctx,
            user_id=uid,
            anonymous_id=anon,
        )
        t_order = step()
        out.track(
            "shop",
            t_order,
            "Order Completed",
            {
                "order_id": order_id,
                "total": round(revenue + shipping, 2),
                "revenue": revenue,
                "shipping": shipping,
                "currency": m.currency,
                "products": lines,
                "platform": src,
                "payment_method": ("invoice", "card", "paypal", "instalments")[
                    3 if kind == 4 and self._post_order_rng[s, 0] < 0.5 else s % 3
                ],
            },
            self.server_ctx,
            user_id=uid,
        )
        self.facts.orders += 1
        self._aftermath(c, i, order_id, t_order, lines, aftermath, delays, s)

    def _aftermath(
        self,
        c: Customers,
        i: int,
        order_id: str,
        t_order: int,
        lines: list[dict[str, Any]],
        aftermath: tuple[bool, bool, bool, bool],
        delays: tuple[int, int],
        s: int,
    ) -> None:
        late, damaged, refund, wants_review = aftermath
        m = cat.MARKETS[int(c.market[i])]
        uid = c.user_id[i]
        t_ship = t_order + delays[0]
        t_deliver = t_ship + delays[1]
        out, ctx = self.out, self.server_ctx
        out.track(
            "shop",
            t_ship,
            "Order Shipped",
            {"order_id": order_id, "carrier": ("DHL", "DPD", "Royal Mail", "UPS")[s % 4]},
            ctx,
            user_id=uid,
        )
        out.track(
            "shop",
            t_deliver,
            "Order Delivered",
            {
                "order_id": order_id,
                "late": late,
                "days_late": int((delays[1] - 24 * 3600_000) // 86_400_000) if late else 0,
            },
            ctx,
            user_id=uid,
        )
        if late:
            self.facts.late_deliveries += 1
        product = lines[0]["name"]
        r = self._post_order_rng[s]
        churning = c.churn_day[i] < self.cfg.days
        if late and r[0] < 0.55:
            sentiment = "negative" if r[1] < 0.75 else "neutral"
            self._ticket(
                c, i, t_ship + int(r[2] * delays[1]), "delivery_delay", sentiment, order_id, product
            )
        elif damaged:
            self._ticket(
                c,
                i,
                t_deliver + 3600_000 * 5,
                "damaged_item",
                "negative" if r[1] < 0.7 else "neutral",
                order_id,
                product,
            )
        elif refund:
            t_ret = t_deliver + int(2 + r[2] * 10) * 86_400_000
            out.track(
                "shop",
                t_ret,
                "Order Refunded",
                {
                    "order_id": order_id,
                    "total": lines[0]["price"],
                    "currency": m.currency,
                    "reason": ("size", "changed_mind", "quality")[s % 3],
                },
                ctx,
                user_id=uid,
            )
            if r[1] < 0.35:
                self._ticket(
                    c,
                    i,
                    t_ret - 86_400_000,
                    "return_refund",
                    "neutral" if r[0] < 0.6 else "negative",
                    order_id,
                    product,
                )
        elif r[1] < 0.07 + (0.1 if churning else 0):
            topic = ("payment_issue", "product_question", "account_login")[s % 3]
            upset = (churning or r[2] < 0.3) and topic != "product_question"
            self._ticket(
                c,
                i,
                t_order + 7200_000,
                topic,
                "negative" if upset else "neutral",
                order_id,
                product,
            )
        elif r[1] > 0.985:
            self._ticket(c, i, t_deliver + 86_400_000, "praise", "positive", order_id, product)
        if wants_review and not late:
            self._review(c, i, lines[0], order_id, t_deliver, r, damaged=damaged)
