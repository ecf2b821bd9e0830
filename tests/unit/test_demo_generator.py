"""The demo generator: deterministic, realistic shapes and every story the demo promises."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from partitur.core.clock import parse_iso8601
from partitur.demo.generator import SOURCES, DemoConfig, DemoDataset, generate

END = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> DemoDataset:
    return generate(DemoConfig(customers=1500, days=120, seed=7, end=END))


def _is_valid(m: dict[str, Any]) -> bool:
    return m["type"] in {"identify", "track", "page", "screen"} and bool(
        m.get("userId") or m.get("anonymousId")
    )


def _valid(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if _is_valid(m)]


def test_same_seed_gives_the_same_messages_and_another_seed_does_not() -> None:
    config = DemoConfig(customers=200, days=30, seed=3, end=END)
    first, again = generate(config), generate(config)
    assert first.messages == again.messages
    assert first.source_index.tolist() == again.source_index.tolist()
    other = generate(DemoConfig(customers=200, days=30, seed=4, end=END))
    assert other.messages != first.messages


def test_messages_are_segment_messages_in_time_order_inside_the_window(demo: DemoDataset) -> None:
    stamps = [parse_iso8601(m["timestamp"]) for m in demo.messages]
    assert stamps == sorted(stamps)
    assert stamps[0] >= END - timedelta(days=120)
    assert stamps[-1] < END
    ids = [m["messageId"] for m in demo.messages]
    assert len(set(ids)) == len(ids)
    assert {m["type"] for m in _valid(demo.messages)} == {"identify", "track", "page", "screen"}
    assert all("event" in m for m in demo.messages if m["type"] == "track")
    assert set(demo.facts.events_by_source) == set(SOURCES)
    assert all(n > 0 for n in demo.facts.events_by_source.values())


def test_a_few_malformed_messages_are_included_for_the_quarantine(demo: DemoDataset) -> None:
    bad = [k for k, m in enumerate(demo.messages) if not _is_valid(m)]
    assert len(bad) == demo.facts.malformed == 9
    assert {SOURCES[demo.source_index[k]] for k in bad} == {"app"}


def test_anonymous_visitors_who_sign_up_link_their_history_by_identify(demo: DemoDataset) -> None:
    first_seen_anonymous: dict[str, int] = {}
    linked_later = set()
    for k, m in enumerate(demo.messages):
        anon = m.get("anonymousId")
        if not anon:
            continue
        if not m.get("userId"):
            first_seen_anonymous.setdefault(anon, k)
        elif anon in first_seen_anonymous and m["type"] == "identify":
            linked_later.add(anon)
    app_devices = {a for a in linked_later if a.startswith("a-")}
    web_signups = {a for a in linked_later if a.startswith("w-")}
    assert len(web_signups) >= demo.facts.signups_with_anonymous_history * 0.8
    assert len(app_devices) > 50
    never_identified = {a for a in first_seen_anonymous if a.startswith("v-")}
    assert len(never_identified) > 100


def test_shared_browsers_carry_two_user_ids_on_one_anonymous_id(demo: DemoDataset) -> None:
    users_per_anon: dict[str, set[str]] = defaultdict(set)
    for m in demo.messages:
        if m.get("anonymousId") and m.get("userId"):
            users_per_anon[m["anonymousId"]].add(m["userId"])
    shared = [a for a, users in users_per_anon.items() if len(users) > 1]
    assert 0 < len(shared) <= demo.facts.shared_devices


def test_identifiers_of_different_customers_never_collide(demo: DemoDataset) -> None:
    owner: dict[tuple[str, str], str] = {}
    for m in demo.messages:
        if m["type"] != "identify" or "userId" not in m:
            continue
        for kind in ("email", "phone", "crm_id"):
            value = m["traits"].get(kind)
            if value:
                assert owner.setdefault((kind, value), m["userId"]) == m["userId"]


def test_customers_have_locales_timezones_regions_and_consent(demo: DemoDataset) -> None:
    crm = [
        m
        for k, m in enumerate(demo.messages)
        if SOURCES[demo.source_index[k]] == "crm"
        and m["type"] == "identify"
        and "email" in m["traits"]
    ]
    assert {m["traits"]["locale"] for m in crm} == {"de-DE", "en-GB", "en-US"}
    zones = {m["traits"]["timezone"] for m in crm}
    assert {"Europe/Berlin", "Europe/London", "America/New_York"} <= zones
    for m in crm[:50]:
        traits = m["traits"]
        assert traits["email"].endswith(("example.com", "example.net", "example.org"))
        assert traits["phone"].startswith("+")
        assert isinstance(traits["email_opt_in"], bool)
        assert traits["region"][:2] == traits["country"]


def test_activity_follows_the_local_time_of_day(demo: DemoDataset) -> None:
    hours: Counter[int] = Counter()
    for m in demo.messages:
        if m["type"] == "page" and m.get("name") == "Home" and "timezone" in m["context"]:
            local = parse_iso8601(m["timestamp"]).astimezone(ZoneInfo(m["context"]["timezone"]))
            hours[local.hour] += 1
    evening = sum(hours[h] for h in (19, 20, 21))
    night = sum(hours[h] for h in (2, 3, 4))
    assert evening > 10 * night


def test_carts_are_often_abandoned(demo: DemoDataset) -> None:
    names = Counter(m.get("event") for m in demo.messages)
    assert names["Order Completed"] == demo.facts.orders > 100
    assert demo.facts.abandoned_carts > demo.facts.orders
    assert names["Product Added"] > names["Order Completed"] * 1.5


def test_churned_customers_go_quiet(demo: DemoDataset) -> None:
    last_active: dict[str, datetime] = {}
    for m in demo.messages:
        if m.get("userId") and m["type"] in {"page", "screen"}:
            last_active[m["userId"]] = parse_iso8601(m["timestamp"])
    quiet = [u for u, t in last_active.items() if t < END - timedelta(days=45)]
    assert demo.facts.churned > 100
    assert len(quiet) >= demo.facts.churned * 0.3


def test_tickets_reviews_and_surveys_carry_texts_in_german_and_english(
    demo: DemoDataset,
) -> None:
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in demo.messages:
        if m["type"] == "track":
            by_event[m["event"]].append(m["properties"])
    tickets = by_event["Ticket Created"]
    assert {t["language"] for t in tickets} == {"de", "en"}
    assert {t["sentiment_label"] for t in tickets} >= {"negative", "neutral", "positive"}
    german = [t["text"] for t in tickets if t["language"] == "de"]
    assert any("Bestellung" in text or "Lieferung" in text for text in german)
    assert len(set(german)) > len(german) * 0.6  # varied, not one template
    for review in by_event["Product Reviewed"]:
        expected = {5: "positive", 4: "positive", 3: "neutral", 2: "negative", 1: "negative"}
        assert review["sentiment_label"] == expected[review["rating"]]
        assert review["review_body"]
    for nps in by_event["NPS Submitted"]:
        assert 0 <= nps["score"] <= 10
        if "comment" in nps:
            assert nps["sentiment_label"] == (
                "positive" if nps["score"] >= 9 else "neutral" if nps["score"] >= 7 else "negative"
            )
    assert all(1 <= c["score"] <= 5 for c in by_event["CSAT Submitted"])
    assert by_event["CSAT Submitted"] and by_event["Ticket Resolved"]
    assert demo.facts.texts_by_language["de"] > 100
    assert demo.facts.texts_by_language["en"] > 100


def test_financing_research_precedes_premium_purchases(demo: DemoDataset) -> None:
    views: dict[str, list[datetime]] = defaultdict(list)
    for m in demo.messages:
        props = m.get("properties") or {}
        if m.get("name") == "Article" and props.get("category") == "financing" and m.get("userId"):
            views[m["userId"]].append(parse_iso8601(m["timestamp"]))
    bursts = [
        u
        for u, times in views.items()
        if any(times[k + 2] - times[k] <= timedelta(days=7) for k in range(len(times) - 2))
    ]
    assert len(bursts) >= demo.facts.researchers * 0.5


def test_a_regional_outage_causes_login_failures_in_that_region_only(demo: DemoDataset) -> None:
    outage = demo.facts.outage
    start, end = parse_iso8601(outage["start"]), parse_iso8601(outage["end"])
    failures = [m for m in demo.messages if m.get("event") == "Login Failed"]
    assert failures
    for m in failures:
        assert start <= parse_iso8601(m["timestamp"]) <= end + timedelta(minutes=5)
        assert m["context"]["location"]["region_code"] == outage["region"]


def test_chunks_cover_every_message_once_grouped_by_source(demo: DemoDataset) -> None:
    seen = []
    for chunk in demo.chunks(1000):
        assert set(chunk) <= set(SOURCES)
        for messages in chunk.values():
            seen.extend(m["messageId"] for m in messages)
    assert sorted(seen) == sorted(m["messageId"] for m in demo.messages)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="customers"):
        DemoConfig(customers=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        DemoConfig(end=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
