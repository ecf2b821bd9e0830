"""Consent, caps, quiet hours, send-time, backoff, breaker and rate limit are pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from partitur.channels.contracts import CapRule
from partitur.channels.delivery_rules import (
    Candidate,
    CircuitBreaker,
    DeliveryFacts,
    TokenBucket,
    backoff,
    best_hour,
    cap_contest,
    consent_verdict,
    gate,
    jitter_fraction,
    next_send_time,
    quiet_hours_verdict,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 13:00 in Berlin


def test_marketing_email_needs_an_opt_in_but_transactional_does_not() -> None:
    none: dict[tuple[str, str], str] = {}
    assert (
        consent_verdict(
            channel="email", category="marketing", group=None, consents=none, suppressed=False
        ).action
        == "suppress"
    )
    assert (
        consent_verdict(
            channel="email", category="transactional", group=None, consents=none, suppressed=False
        ).action
        == "send"
    )
    granted = {("email", "*"): "granted"}
    assert (
        consent_verdict(
            channel="email", category="marketing", group=None, consents=granted, suppressed=False
        ).action
        == "send"
    )


def test_a_revoked_group_blocks_only_that_group_and_suppression_blocks_everything() -> None:
    consents = {("email", "*"): "granted", ("email", "news"): "revoked"}
    assert (
        consent_verdict(
            channel="email", category="marketing", group="news", consents=consents, suppressed=False
        ).action
        == "suppress"
    )
    assert (
        consent_verdict(
            channel="email",
            category="marketing",
            group="offers",
            consents=consents,
            suppressed=False,
        ).action
        == "send"
    )
    hard = consent_verdict(
        channel="email", category="transactional", group=None, consents=consents, suppressed=True
    )
    assert hard.action == "suppress" and "suppression" in hard.reason


def test_pending_double_opt_in_is_not_consent() -> None:
    verdict = consent_verdict(
        channel="email",
        category="marketing",
        group="news",
        consents={("email", "news"): "pending"},
        suppressed=False,
    )
    assert verdict.action == "suppress" and "double opt-in" in verdict.reason


def test_in_app_needs_no_opt_in_but_honours_an_opt_out() -> None:
    assert (
        consent_verdict(
            channel="in_app", category="marketing", group=None, consents={}, suppressed=False
        ).action
        == "send"
    )
    assert (
        consent_verdict(
            channel="in_app",
            category="marketing",
            group=None,
            consents={("in_app", "*"): "revoked"},
            suppressed=False,
        ).action
        == "suppress"
    )


def _cand(
    cid: str, priority: int, channel: str = "email", category: str = "marketing", minutes: int = 0
) -> Candidate:
    return Candidate(cid, channel, priority, NOW - timedelta(minutes=minutes), category)


def test_the_higher_priority_journey_wins_the_last_cap_slot() -> None:
    rules = [CapRule(limit=2, window_hours=24)]
    sent = [("email", NOW - timedelta(hours=3))]
    verdicts = cap_contest(
        sent=sent, candidates=[_cand("low", 1, minutes=10), _cand("high", 9)], rules=rules, now=NOW
    )
    assert verdicts["high"].action == "send"
    assert verdicts["low"].action == "cap"
    assert "2 per 24 h" in verdicts["low"].reason


def test_caps_use_a_rolling_window_and_per_channel_limits() -> None:
    rules = [CapRule(limit=5, window_hours=24), CapRule(channel="sms", limit=1, window_hours=24)]
    sent = [("sms", NOW - timedelta(hours=25)), ("sms", NOW - timedelta(hours=23))]
    verdicts = cap_contest(
        sent=sent,
        candidates=[_cand("sms", 0, "sms"), _cand("mail", 0, "email")],
        rules=rules,
        now=NOW,
    )
    assert verdicts["sms"].action == "cap"
    assert verdicts["mail"].action == "send"
    later = cap_contest(
        sent=sent, candidates=[_cand("sms", 0, "sms")], rules=rules, now=NOW + timedelta(hours=2)
    )
    assert later["sms"].action == "send"


def test_transactional_messages_are_exempt_from_caps_and_do_not_use_slots() -> None:
    rules = [CapRule(limit=1, window_hours=24)]
    verdicts = cap_contest(
        sent=[],
        candidates=[_cand("receipt", 0, category="transactional"), _cand("promo", 0)],
        rules=rules,
        now=NOW,
    )
    assert verdicts == {"receipt": verdicts["receipt"], "promo": verdicts["promo"]}
    assert verdicts["receipt"].action == verdicts["promo"].action == "send"


def test_quiet_hours_defer_to_the_local_morning_not_drop() -> None:
    late = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
    verdict = quiet_hours_verdict(now=late, timezone="Europe/Berlin", start="21:00", end="08:00")
    assert verdict.action == "defer"
    assert verdict.until == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # 08:00 Berlin
    early = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # 06:00 Berlin
    assert quiet_hours_verdict(
        now=early, timezone="Europe/Berlin", start="21:00", end="08:00"
    ).until == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    assert (
        quiet_hours_verdict(now=NOW, timezone="Europe/Berlin", start="21:00", end="08:00").action
        == "send"
    )


def test_quiet_hours_follow_the_profiles_timezone_and_fall_back_for_unknown_zones() -> None:
    at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 04:00 Berlin, 22:00 New York (the day before)
    assert (
        quiet_hours_verdict(now=at, timezone="America/New_York", start="21:00", end="08:00").action
        == "defer"
    )
    assert (
        quiet_hours_verdict(now=at, timezone="Asia/Tokyo", start="21:00", end="08:00").action
        == "send"
    )  # 12:00
    assert (
        quiet_hours_verdict(now=at, timezone="Not/AZone", start="21:00", end="08:00").action
        == "defer"
    )  # UTC 03:00


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_a_deferred_message_is_released_outside_quiet_hours(now: datetime) -> None:
    verdict = quiet_hours_verdict(now=now, timezone="Europe/Berlin", start="21:00", end="08:00")
    if verdict.action == "defer":
        # 21:00-08:00 is 11 hours of wall time, 12 on the night clocks go back
        assert verdict.until is not None and now < verdict.until <= now + timedelta(
            hours=12, minutes=1
        )
        again = quiet_hours_verdict(
            now=verdict.until, timezone="Europe/Berlin", start="21:00", end="08:00"
        )
        assert again.action == "send"


def test_gate_skips_caps_and_quiet_hours_for_transactional_messages() -> None:
    night = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    facts = DeliveryFacts(
        channel="email",
        category="transactional",
        group=None,
        consents={},
        suppressed=False,
        timezone="Europe/Berlin",
    )
    assert (
        gate(
            facts, now=night, quiet_start="21:00", quiet_end="08:00", quiet_channels={"email"}
        ).action
        == "send"
    )
    marketing = DeliveryFacts(
        channel="email",
        category="marketing",
        group=None,
        consents={("email", "*"): "granted"},
        suppressed=False,
        timezone="Europe/Berlin",
    )
    assert (
        gate(
            marketing, now=night, quiet_start="21:00", quiet_end="08:00", quiet_channels={"email"}
        ).action
        == "defer"
    )


def test_best_hour_is_learned_from_engagement_with_a_fallback() -> None:
    opens = [datetime(2026, 3, d, 18, 15, tzinfo=UTC) for d in range(1, 5)] + [
        datetime(2026, 3, 5, 7, 0, tzinfo=UTC)
    ]
    assert best_hour(opens, timezone="Europe/Berlin", fallback_hour=10, min_events=3) == 19
    assert best_hour(opens[:2], timezone="Europe/Berlin", fallback_hour=10, min_events=3) == 10
    when = next_send_time(now=NOW, hour=19, timezone="Europe/Berlin")
    assert when == datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    assert next_send_time(now=NOW, hour=9, timezone="Europe/Berlin") == datetime(
        2026, 3, 3, 8, 0, tzinfo=UTC
    )


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    delays = [
        backoff(attempt=a, base_seconds=10, max_seconds=300, jitter=jitter_fraction("m", a))
        for a in range(1, 8)
    ]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(300, 10 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay.total_seconds() <= ceiling
    assert jitter_fraction("m", 1) == jitter_fraction("m", 1) != jitter_fraction("n", 1)


def test_circuit_opens_after_consecutive_failures_and_closes_after_cooldown() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=timedelta(seconds=60))
    for _ in range(2):
        breaker.record("hook", False, NOW)
    assert breaker.allows("hook", NOW) is None
    breaker.record("hook", False, NOW)
    assert breaker.allows("hook", NOW + timedelta(seconds=10)) == NOW + timedelta(seconds=60)
    assert breaker.allows("other", NOW) is None
    later = NOW + timedelta(seconds=61)
    assert breaker.allows("hook", later) is None  # half-open: this one request is the trial
    # the others ask again in 10 s while the trial is out
    assert breaker.allows("hook", later) == later + timedelta(seconds=10)
    breaker.record("hook", False, later)  # the trial failed: open for another cooldown
    assert breaker.allows("hook", later + timedelta(seconds=30)) == later + timedelta(seconds=60)
    again = later + timedelta(seconds=60)
    assert breaker.allows("hook", again) is None
    breaker.record("hook", True, again)  # the trial answered: closed
    assert breaker.failures == {}
    assert breaker.allows("hook", again) is None
    assert breaker.allows("hook", again) is None
    # a trial that never answers is replaced after a cooldown
    for _ in range(3):
        breaker.record("hook", False, again)
    probe = again + timedelta(seconds=60)
    assert breaker.allows("hook", probe) is None
    assert breaker.allows("hook", probe + timedelta(seconds=59)) is not None
    assert breaker.allows("hook", probe + timedelta(seconds=60)) is None


def test_token_bucket_limits_a_provider_rate() -> None:
    bucket = TokenBucket(rate=2, burst=2)
    assert [bucket.take(NOW) for _ in range(2)] == [0.0, 0.0]
    assert bucket.take(NOW) == 0.5
    assert bucket.take(NOW + timedelta(seconds=1)) == 0.0


@given(
    sent_hours=st.lists(st.floats(min_value=0.01, max_value=48), max_size=6),
    priorities=st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=8),
    limit=st.integers(min_value=0, max_value=4),
)
def test_a_cap_contest_never_admits_more_than_the_limit_and_prefers_priority(
    sent_hours: list[float], priorities: list[int], limit: int
) -> None:
    rules = [CapRule(limit=limit, window_hours=24)]
    sent = [("email", NOW - timedelta(hours=h)) for h in sent_hours]
    cands = [_cand(f"c{i}", p) for i, p in enumerate(priorities)]
    verdicts = cap_contest(sent=sent, candidates=cands, rules=rules, now=NOW)
    admitted = [c for c in cands if verdicts[c.id].action == "send"]
    recent = sum(1 for h in sent_hours if h < 24)
    assert len(admitted) == max(0, min(len(cands), limit - recent))
    if admitted and len(admitted) < len(cands):
        assert min(c.priority for c in admitted) >= max(
            c.priority for c in cands if verdicts[c.id].action == "cap"
        )
