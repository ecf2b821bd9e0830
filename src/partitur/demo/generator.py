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

This module holds the core (configuration, facts, calendar and seasonality, catalogue,
customers) and puts the story together; its parts live beside it as mixins over
``state.StoryState``: ``sessions`` (web and app sessions, orders and their aftermath),
``service_desk`` (tickets, CSAT, NPS, reviews, the outage) and ``marketing`` (CRM, newsletters,
anonymous visitors, malformed messages).
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
from partitur.demo.marketing import Marketing
from partitur.demo.service_desk import ServiceDesk
from partitur.demo.sessions import Sessions

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
class Customers:
    """The customer base, one row per customer index (columns as arrays or lists)."""

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


class MessageBuilder:
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


class _Generator(Sessions, ServiceDesk, Marketing):
    """Sets up the window, catalogue and customers, then tells the story part by part."""

    def __init__(self, config: DemoConfig) -> None:
        self.cfg = config
        self.rng = np.random.default_rng(config.seed)
        self.out = MessageBuilder()
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

    def _customers(self, n: int) -> Customers:
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
        return Customers(
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

    def contexts(self, c: Customers) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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

    def traits(self, c: Customers, i: int, *, full: bool) -> dict[str, Any]:
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
    def preferred_channel(c: Customers, i: int) -> str:
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


def generate(config: DemoConfig) -> DemoDataset:
    """Generate the demo history described in the module docstring; pure and deterministic."""
    # Hundreds of thousands of small dicts and no cycles: the cyclic garbage collector would
    # rescan them again and again (a third of the run time), so it pauses meanwhile.
    with collector_paused():
        return _Generator(config).run()
