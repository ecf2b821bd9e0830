"""The demo data generator: a deterministic online retailer with a customer service team.

``generate(DemoConfig(...))`` is pure: the same configuration (seed, sizes and end of the window)
gives the same messages, byte for byte. Sizes, times and choices are drawn with numpy in bulk;
the Segment message dicts are then built in tight loops. The result is time-ordered, so that
loading it replays the history as it happened (anonymous visits before the sign-up that merges
them, orders before their shipping, tickets before their CSAT survey).

What is in the data (``DemoFacts`` counts each part):

- customers in three markets (de-DE, en-GB, en-US) with regions, timezones, emails, phones,
  consent traits, loyalty tiers and a favourite product category;
- web and app sessions with daily and weekly seasonality in the customer's local time:
  page/screen views, product views, content views, carts (many abandoned), orders;
- anonymous visitors, some of whom sign up during the window (anonymous history merges into
  the new customer), app installs used anonymously before the first login (a second merge),
  and a few shared family computers (two customers on one browser);
- a "research -> offer" signal: customers who read financing guides several times within a week
  before buying a premium electronics item;
- orders with shipping, delivery (some late), returns and refunds; newsletters with opens,
  clicks and unsubscribes; CRM identifies (crm_id, loyalty, consent) and consent changes;
- support tickets (German and English texts with a known sentiment), resolutions, CSAT surveys,
  NPS surveys with comments and product reviews with star ratings;
- churners whose activity stops (after worse experiences), and one regional app outage with a
  burst of login errors and tickets;
- a handful of malformed messages from a buggy app release (they belong in quarantine).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from partitur.core.memory import collector_paused
from partitur.demo import catalogue as cat
from partitur.demo import texts

#: Sources of the demo workspace (each gets a write key).
SOURCES = ("web", "app", "shop", "email", "crm", "support", "surveys")
_SRC = {name: i for i, name in enumerate(SOURCES)}

#: Share of each local hour of the day in online activity (sums to 1 after normalising).
_HOURS = np.array(
    [
        0.6,
        0.3,
        0.2,
        0.15,
        0.15,
        0.3,
        0.9,
        1.8,
        2.6,
        3.0,
        3.3,
        3.6,
        4.2,
        4.0,
        3.6,
        3.5,
        3.6,
        4.0,
        4.8,
        5.6,
        6.0,
        5.4,
        3.8,
        1.8,
    ]
)
#: Monday .. Sunday
_WEEKDAYS = np.array([0.96, 0.93, 0.95, 0.99, 1.04, 1.12, 1.18])
_FX = {"EUR": 1.0, "GBP": 0.86, "USD": 1.08}
#: length of an E.164 mobile number with its "+"
_PHONE_LENGTH = {"DE": 14, "GB": 13, "US": 12}


@dataclass(frozen=True)
class DemoConfig:
    customers: int = 10_000
    days: int = 182
    seed: int = 42
    #: end of the generated window (exclusive); the CLI uses the current hour
    end: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def __post_init__(self) -> None:
        if self.customers < 10:
            raise ValueError("customers must be at least 10")
        if not 7 <= self.days <= 3660:
            raise ValueError("days must be between 7 and 3660")
        if self.end.tzinfo is None:
            raise ValueError("end must be timezone-aware")


@dataclass
class DemoFacts:
    """What the generator put into the data, for the summary and for tests."""

    customers: int = 0
    anonymous_visitors: int = 0
    signups_in_window: int = 0
    signups_with_anonymous_history: int = 0
    app_first_logins: int = 0
    shared_devices: int = 0
    churned: int = 0
    researchers: int = 0
    sessions: int = 0
    orders: int = 0
    abandoned_carts: int = 0
    late_deliveries: int = 0
    tickets: int = 0
    reviews: int = 0
    nps_responses: int = 0
    csat_responses: int = 0
    emails_sent: int = 0
    malformed: int = 0
    texts_by_language: dict[str, int] = field(default_factory=dict)
    outage: dict[str, Any] = field(default_factory=dict)
    events_by_source: dict[str, int] = field(default_factory=dict)


@dataclass
class DemoDataset:
    config: DemoConfig
    #: Segment messages in time order
    messages: list[dict[str, Any]]
    #: index into ``SOURCES`` per message
    source_index: np.ndarray
    facts: DemoFacts
    products: list[dict[str, Any]]

    def chunks(self, size: int) -> Iterator[dict[str, list[dict[str, Any]]]]:
        """Consecutive slices of ``size`` messages, grouped by source name (time order kept)."""
        for start in range(0, len(self.messages), size):
            part = self.source_index[start : start + size]
            grouped: dict[str, list[dict[str, Any]]] = {}
            for offset, src in enumerate(part.tolist()):
                grouped.setdefault(SOURCES[src], []).append(self.messages[start + offset])
            yield grouped


def _ascii(text: str) -> str:
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@dataclass
class _Customers:
    n: int
    market: np.ndarray
    region: list[tuple[str, str, str]]
    tz_index: np.ndarray
    first: list[str]
    last: list[str]
    email: list[str]
    phone: list[str]
    user_id: list[str]
    crm_id: list[str]
    web_anon: list[str]
    app_anon: list[str]
    has_app: np.ndarray
    signup_day: np.ndarray  # < 0: customer before the window
    churn_day: np.ndarray  # >= days: does not churn
    rate: np.ndarray  # sessions per week
    fav_category: np.ndarray
    email_opt_in: np.ndarray
    sms_opt_in: np.ndarray
    push_opt_in: np.ndarray
    tier: list[str]
    birthday: list[str]
    happiness: np.ndarray  # latent satisfaction -1..1, drives scores and texts


class _Builder:
    """Collects messages with their time (ms since epoch) and source index."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.src: list[int] = []
        self.msgs: list[dict[str, Any]] = []

    def add(self, source: str, ts_ms: int, msg: dict[str, Any]) -> None:
        self.ts.append(ts_ms)
        self.src.append(_SRC[source])
        self.msgs.append(msg)

    def track(
        self,
        source: str,
        ts_ms: int,
        event: str,
        props: dict[str, Any],
        context: dict[str, Any],
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
    ) -> None:
        msg: dict[str, Any] = {"type": "track", "event": event, "properties": props}
        if user_id:
            msg["userId"] = user_id
        if anonymous_id:
            msg["anonymousId"] = anonymous_id
        msg["context"] = context
        self.add(source, ts_ms, msg)

    def view(
        self,
        source: str,
        ts_ms: int,
        name: str,
        props: dict[str, Any],
        context: dict[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str,
    ) -> None:
        msg: dict[str, Any] = {
            "type": "screen" if source == "app" else "page",
            "name": name,
            "properties": props,
            "anonymousId": anonymous_id,
            "context": context,
        }
        if user_id:
            msg["userId"] = user_id
        self.add(source, ts_ms, msg)

    def identify(
        self,
        source: str,
        ts_ms: int,
        traits: dict[str, Any],
        context: dict[str, Any],
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
    ) -> None:
        msg: dict[str, Any] = {"type": "identify", "traits": traits, "context": context}
        if user_id:
            msg["userId"] = user_id
        if anonymous_id:
            msg["anonymousId"] = anonymous_id
        self.add(source, ts_ms, msg)


class _Generator:
    def __init__(self, config: DemoConfig) -> None:
        self.cfg = config
        self.rng = np.random.default_rng(config.seed)
        self.out = _Builder()
        self.facts = DemoFacts()
        end = config.end.astimezone(UTC)
        self.end_ms = int(end.timestamp() * 1000)
        self.start_date: date = (end - timedelta(days=config.days)).date()
        self.day0_ms = int(
            datetime(
                self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=UTC
            ).timestamp()
            * 1000
        )
        self.start_ms = self.end_ms - config.days * 86_400_000
        self.timezones = sorted({r[2] for m in cat.MARKETS for r in m.regions})
        self._tz_offsets()
        self._day_weights()
        self._catalogue()
        self.server_ctx = {"library": {"name": "analytics-python", "version": "2.3.3"}}
        self._order_seq = 0
        self._ticket_seq = 0

    # --- calendar --------------------------------------------------------------------------

    def _tz_offsets(self) -> None:
        """UTC offset (ms) of each timezone on each local day of the window (at local noon)."""
        days = self.cfg.days + 40
        table = np.zeros((len(self.timezones), days), dtype=np.int64)
        for i, name in enumerate(self.timezones):
            zone = ZoneInfo(name)
            for d in range(days):
                day = self.start_date + timedelta(days=d)
                noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
                offset = noon.utcoffset() or timedelta(0)
                table[i, d] = int(offset.total_seconds() * 1000)
        self.offsets = table

    def _day_weights(self) -> None:
        """Relative activity per day: weekday pattern, Black Friday week, December run-up."""
        weights = np.empty(self.cfg.days + 40)
        for d in range(len(weights)):
            day = self.start_date + timedelta(days=d)
            w = _WEEKDAYS[day.weekday()]
            if day.month == 11 and 22 <= day.day <= 30:
                w *= 1.7
            elif day.month == 12 and day.day <= 20:
                w *= 1.35
            elif day.month == 12 and day.day >= 24:
                w *= 0.7
            weights[d] = w
        self.day_w = weights[: self.cfg.days]
        self.day_cdf = np.concatenate([[0.0], np.cumsum(self.day_w)])
        hours = _HOURS / _HOURS.sum()
        self.hour_cdf = np.cumsum(hours)

    def sample_days(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """One day per row, in [lo, hi), following the seasonal day weights."""
        lo = np.clip(lo, 0, self.cfg.days - 1)
        hi = np.clip(np.maximum(hi, lo + 1), 1, self.cfg.days)
        u = self.rng.random(len(lo))
        target = self.day_cdf[lo] + u * (self.day_cdf[hi] - self.day_cdf[lo])
        days = np.searchsorted(self.day_cdf, target, side="right") - 1
        return np.asarray(np.clip(days, lo, hi - 1), dtype=np.int64)

    def local_to_ms(self, day: np.ndarray, seconds: np.ndarray, tz: np.ndarray) -> np.ndarray:
        """Local wall time (day of window, seconds after local midnight) -> UTC ms."""
        d = np.clip(day, 0, self.offsets.shape[1] - 1)
        utc = self.day0_ms + day * 86_400_000 + seconds * 1000 - self.offsets[tz, d]
        return np.asarray(utc, dtype=np.int64)

    def sample_local_seconds(self, n: int) -> np.ndarray:
        hours = np.searchsorted(self.hour_cdf, self.rng.random(n) * self.hour_cdf[-1])
        return np.asarray(hours * 3600 + self.rng.integers(0, 3600, n), dtype=np.int64)

    # --- world -----------------------------------------------------------------------------

    def _catalogue(self) -> None:
        products: list[dict[str, Any]] = []
        cat_start: list[int] = []
        for ci, category in enumerate(cat.CATEGORIES):
            cat_start.append(len(products))
            for noun in category.nouns:
                brands = self.rng.choice(len(cat.BRANDS), size=3, replace=False)
                for b in brands.tolist():
                    price = float(
                        np.exp(
                            np.log(category.median_price) + category.price_sigma * self.rng.normal()
                        )
                    )
                    price = max(4.99, round(price) - 0.01)
                    products.append(
                        {
                            "product_id": f"P{len(products) + 1001}",
                            "sku": f"{category.key[:3].upper()}-{len(products) + 1001}",
                            "name": f"{cat.BRANDS[b]} {noun}",
                            "category": category.key,
                            "category_index": ci,
                            "price": price,
                        }
                    )
        cat_start.append(len(products))
        self.products = products
        self.cat_start = np.array(cat_start)
        self.prices = np.array([p["price"] for p in products])
        self.cat_weights = np.array([c.weight for c in cat.CATEGORIES])
        self.cat_weights /= self.cat_weights.sum()
        # premium items for the research -> offer journey
        self.premium = np.array(
            [
                i
                for i, p in enumerate(products)
                if p["category"] == "electronics" and p["price"] >= 250
            ]
            or [i for i, p in enumerate(products) if p["category"] == "electronics"]
        )

    def pick_products(self, categories: np.ndarray) -> np.ndarray:
        """A product per row from the given category indices (popular items more often)."""
        start = self.cat_start[categories]
        size = self.cat_start[categories + 1] - start
        rank = np.minimum(self.rng.zipf(1.6, len(categories)) - 1, 10_000)
        return np.asarray(start + rank % size, dtype=np.int64)

    def _customers(self, n: int) -> _Customers:
        rng, days = self.rng, self.cfg.days
        mw = np.array([m.weight for m in cat.MARKETS])
        market = rng.choice(len(cat.MARKETS), size=n, p=mw / mw.sum())
        region_u = rng.random(n)
        first_i = rng.integers(0, 1000, n)
        last_i = rng.integers(0, 1000, n)
        dom_i = rng.integers(0, len(cat.EMAIL_DOMAINS), n)
        phone_n = rng.integers(0, 10_000_000, n)
        regions: list[tuple[str, str, str]] = []
        tz_index = np.empty(n, dtype=np.int64)
        first: list[str] = []
        last: list[str] = []
        emails: list[str] = []
        phones: list[str] = []
        for i in range(n):
            m = cat.MARKETS[int(market[i])]
            rw = np.cumsum([r[3] for r in m.regions])
            r = m.regions[int(np.searchsorted(rw, region_u[i] * rw[-1]))]
            regions.append((r[0], r[1], r[2]))
            tz_index[i] = self.timezones.index(r[2])
            f = m.first_names[int(first_i[i]) % len(m.first_names)]
            la = m.last_names[int(last_i[i]) % len(m.last_names)]
            first.append(f)
            last.append(la)
            emails.append(f"{_ascii(f)}.{_ascii(la)}{i + 1}@{cat.EMAIL_DOMAINS[int(dom_i[i])]}")
            # a bijection of the index: every customer has a distinct number
            prefix = m.phone_prefixes[int(phone_n[i]) % len(m.phone_prefixes)]
            width = _PHONE_LENGTH[m.country] - len(prefix)
            phones.append(prefix + str((i * 7919 + 1009) % 10**width).zfill(width))
        seed = self.cfg.seed
        user_id = [f"C{100001 + i}" for i in range(n)]
        crm_id = [f"CRM-{seed % 1000:03d}-{i + 1:06d}" for i in range(n)]
        web_anon = [
            f"w-{seed:x}-{i:06x}-{int(v):08x}" for i, v in enumerate(rng.integers(0, 2**32, n))
        ]
        app_anon = [
            f"a-{seed:x}-{i:06x}-{int(v):08x}" for i, v in enumerate(rng.integers(0, 2**32, n))
        ]
        has_app = rng.random(n) < 0.45
        # 60 % were customers before the window; the rest sign up during it
        signup_day = np.where(
            rng.random(n) < 0.6,
            -rng.integers(1, 900, n),
            rng.integers(0, days - 3, n),
        )
        churners = rng.random(n) < 0.18
        churn_lo = np.maximum(signup_day, 0) + 14
        churn_day = np.where(
            churners & (churn_lo < days - 10),
            churn_lo + (rng.random(n) * np.maximum(days - 10 - churn_lo, 1)).astype(np.int64),
            days + 1000,
        )
        rate = rng.gamma(1.3, 0.19, n) + 0.04
        fav = rng.choice(len(cat.CATEGORIES), size=n, p=self.cat_weights)
        email_opt = rng.random(n) < 0.65
        sms_opt = rng.random(n) < 0.25
        push_opt = has_app & (rng.random(n) < 0.6)
        q = np.quantile(rate, [0.6, 0.9])
        tier = ["gold" if r >= q[1] else ("silver" if r >= q[0] else "bronze") for r in rate]
        bday_days = rng.integers(0, 365 * 55, n)
        birthday = [(date(1950, 1, 1) + timedelta(days=int(d))).isoformat() for d in bday_days]
        happiness = np.clip(rng.normal(0.35, 0.45, n) - np.where(churn_day < days, 0.6, 0.0), -1, 1)
        self.facts.customers = n
        self.facts.churned = int((churn_day < days).sum())
        self.facts.signups_in_window = int((signup_day >= 0).sum())
        return _Customers(
            n=n,
            market=market,
            region=regions,
            tz_index=tz_index,
            first=first,
            last=last,
            email=emails,
            phone=phones,
            user_id=user_id,
            crm_id=crm_id,
            web_anon=web_anon,
            app_anon=app_anon,
            has_app=has_app,
            signup_day=signup_day,
            churn_day=churn_day,
            rate=rate,
            fav_category=fav,
            email_opt_in=email_opt,
            sms_opt_in=sms_opt,
            push_opt_in=push_opt,
            tier=tier,
            birthday=birthday,
            happiness=happiness,
        )

    # --- contexts and traits -----------------------------------------------------------------

    def contexts(self, c: _Customers) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """One shared context dict per customer and platform (messages share them)."""
        web: list[dict[str, Any]] = []
        app: list[dict[str, Any]] = []
        ios = self.rng.random(c.n) < 0.55
        for i in range(c.n):
            m = cat.MARKETS[int(c.market[i])]
            code, name, tz = c.region[i]
            location = {"country": m.country, "region": name, "region_code": code}
            web.append(
                {
                    "locale": m.locale,
                    "timezone": tz,
                    "library": {"name": "analytics.js", "version": "4.1.0"},
                    "location": location,
                }
            )
            app.append(
                {
                    "locale": m.locale,
                    "timezone": tz,
                    "library": {"name": "analytics-ios" if ios[i] else "analytics-android"},
                    "app": {"name": "Nordhafen", "version": "5.3.1", "build": "531"},
                    "os": {"name": "iOS" if ios[i] else "Android"},
                    "location": location,
                }
            )
        return web, app

    def traits(self, c: _Customers, i: int, *, full: bool) -> dict[str, Any]:
        m = cat.MARKETS[int(c.market[i])]
        code, name, tz = c.region[i]
        t: dict[str, Any] = {
            "email": c.email[i],
            "first_name": c.first[i],
            "last_name": c.last[i],
            "locale": m.locale,
            "timezone": tz,
            "country": m.country,
            "region": code,
        }
        if full:
            t.update(
                {
                    "phone": c.phone[i],
                    "crm_id": c.crm_id[i],
                    "birthday": c.birthday[i],
                    "address": {"country": m.country, "state": name},
                    "loyalty_tier": c.tier[i],
                    "email_opt_in": bool(c.email_opt_in[i]),
                    "sms_opt_in": bool(c.sms_opt_in[i]),
                    "push_opt_in": bool(c.push_opt_in[i]),
                    "preferred_channel": self.preferred_channel(c, i),
                    "currency": m.currency,
                }
            )
        return t

    @staticmethod
    def preferred_channel(c: _Customers, i: int) -> str:
        if c.push_opt_in[i]:
            return "push"
        if c.sms_opt_in[i] and not c.email_opt_in[i]:
            return "sms"
        return "email"

    # --- the story ---------------------------------------------------------------------------

    def run(self) -> DemoDataset:
        cfg = self.cfg
        c = self._customers(cfg.customers)
        self.web_ctx, self.app_ctx = self.contexts(c)
        self.outage = self._outage(c)
        self._crm(c)
        self._sessions(c)
        self._anonymous_visitors(max(cfg.customers // 2, 5))
        self._emails(c)
        self._nps(c)
        self._outage_effects(c)
        self._malformed()
        return self._finish()

    def _crm(self, c: _Customers) -> None:
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

    def _outage(self, c: _Customers) -> dict[str, Any]:
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

    def _sessions(self, c: _Customers) -> None:
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

    def _shared_devices(self, c: _Customers) -> dict[int, str]:
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
        c: _Customers,
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
        c: _Customers,
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
            out.track(
                src,
                t_deliver + int(3 + r[0] * 8) * 86_400_000,
                "Product Reviewed",
                {
                    "product_id": lines[0]["product_id"],
                    "order_id": order_id,
                    "rating": stars,
                    "review_title": text.subject,
                    "review_body": text.body,
                    "language": text.language,
                    "sentiment_label": text.sentiment,
                },
                self.app_ctx[i] if src == "app" else self.web_ctx[i],
                user_id=uid,
                anonymous_id=c.app_anon[i] if src == "app" else c.web_anon[i],
            )
            self.facts.reviews += 1

    def _ticket(
        self,
        c: _Customers,
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

    def _count_text(self, text: texts.Text) -> None:
        by = self.facts.texts_by_language
        by[text.language] = by.get(text.language, 0) + 1

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

    def _emails(self, c: _Customers) -> None:
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

    def _nps(self, c: _Customers) -> None:
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

    def _outage_effects(self, c: _Customers) -> None:
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

    def _finish(self) -> DemoDataset:
        ts = np.array(self.out.ts, dtype=np.int64)
        src = np.array(self.out.src, dtype=np.int8)
        keep = (ts >= self.start_ms) & (ts < self.end_ms)
        order = np.flatnonzero(keep)[np.argsort(ts[keep], kind="stable")]
        stamps = np.datetime_as_string(ts[order].astype("datetime64[ms]"), unit="ms")
        msgs = self.out.msgs
        seed = self.cfg.seed
        result: list[dict[str, Any]] = []
        for k, (o, stamp) in enumerate(zip(order.tolist(), stamps.tolist(), strict=True)):
            msg = msgs[o]
            msg["messageId"] = f"demo-{seed}-{k:08d}"
            msg["timestamp"] = stamp + "Z"
            result.append(msg)
        # count what is inside the window (some follow-ups fall after its end)
        names = Counter(m.get("event") for m in result if m["type"] == "track")
        f = self.facts
        f.orders, f.tickets, f.reviews = (
            names["Order Completed"],
            names["Ticket Created"],
            names["Product Reviewed"],
        )
        f.nps_responses, f.csat_responses, f.emails_sent = (
            names["NPS Submitted"],
            names["CSAT Submitted"],
            names["Email Sent"],
        )
        f.late_deliveries = sum(
            1 for m in result if m.get("event") == "Order Delivered" and m["properties"]["late"]
        )
        src = src[order]
        counts = np.bincount(src, minlength=len(SOURCES))
        self.facts.events_by_source = {SOURCES[i]: int(counts[i]) for i in range(len(SOURCES))}
        return DemoDataset(
            config=self.cfg,
            messages=result,
            source_index=src,
            facts=self.facts,
            products=[{k: v for k, v in p.items() if k != "category_index"} for p in self.products],
        )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def generate(config: DemoConfig) -> DemoDataset:
    """Generate the demo history described in the module docstring; pure and deterministic."""
    # Hundreds of thousands of small dicts and no cycles: the cyclic garbage collector would
    # rescan them again and again (a third of the run time), so it pauses meanwhile.
    with collector_paused():
        return _Generator(config).run()
