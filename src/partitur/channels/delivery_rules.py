"""Pure delivery decisions: consent, frequency caps, quiet hours, send-time optimisation,
retry backoff, circuit breaking and rate limiting.

No I/O and no clock: every function takes the facts it needs (``now`` included) and returns a
verdict, so each rule is testable without a database and cheap enough to run per message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from partitur.channels.contracts import CapRule

Action = Literal["send", "suppress", "cap", "defer"]

#: Channels whose marketing messages need an explicit opt-in; the others only honour opt-outs.
OPT_IN_CHANNELS = frozenset({"email", "sms", "push"})


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str = ""
    until: datetime | None = None


SEND = Verdict("send")


# --- consent -------------------------------------------------------------------------------


def consent_verdict(
    *,
    channel: str,
    category: str,
    group: str | None,
    consents: Mapping[tuple[str, str], str],
    suppressed: bool,
) -> Verdict:
    """May this message go out as far as consent and suppression are concerned?

    ``consents`` maps ``(channel, group)`` to ``granted|pending|revoked``; group ``"*"`` is the
    whole channel. A suppressed address (hard bounce, complaint, STOP) blocks every category;
    transactional messages are exempt from consent; marketing needs an opt-in on email, SMS and
    push (a channel-wide grant or a grant of the message's group) and is blocked by any revocation
    of the channel or the group.
    """
    if suppressed:
        return Verdict("suppress", "address is on the suppression list")
    if category == "transactional":
        return SEND
    channel_state = consents.get((channel, "*"))
    group_state = consents.get((channel, group)) if group else None
    if channel_state == "revoked" or group_state == "revoked":
        return Verdict("suppress", f"consent for {channel} revoked")
    if channel not in OPT_IN_CHANNELS:
        return SEND
    if group_state == "granted" or (channel_state == "granted" and group_state is None):
        return SEND
    if group_state == "pending" or channel_state == "pending":
        return Verdict("suppress", f"{channel} opt-in not confirmed yet (double opt-in pending)")
    return Verdict("suppress", f"no {channel} marketing consent")


# --- frequency caps --------------------------------------------------------------------------


@dataclass(slots=True)
class Candidate:
    """A message competing for cap slots."""

    id: str
    channel: str
    priority: int
    created_at: datetime
    category: str = "marketing"


def cap_contest(
    *,
    sent: Sequence[tuple[str, datetime]],
    candidates: Iterable[Candidate],
    rules: Sequence[CapRule],
    now: datetime,
) -> dict[str, Verdict]:
    """Decide which of one profile's due messages fit under the frequency caps.

    ``sent`` lists ``(channel, sent_at)`` of the profile's marketing messages already sent. The
    candidates are admitted highest journey priority first (then oldest first), each admitted
    one counting against the caps of the next; transactional messages are exempt and do not count.
    """
    counts: list[int] = []
    for rule in rules:
        since = now - _hours(rule.window_hours)
        scope = rule.channel
        count = 0
        for channel, at in sent:
            if at > since and (scope is None or scope == channel):
                count += 1
        counts.append(count)
    verdicts: dict[str, Verdict] = {}
    ordered = list(candidates)
    if len(ordered) > 1:
        ordered.sort(key=lambda c: (-c.priority, c.created_at, c.id))
    for cand in ordered:
        if cand.category == "transactional":
            verdicts[cand.id] = SEND
            continue
        blocked: CapRule | None = None
        for i, rule in enumerate(rules):
            if (rule.channel is None or rule.channel == cand.channel) and counts[i] >= rule.limit:
                blocked = rule
                break
        if blocked is not None:
            where = blocked.channel or "all channels"
            verdicts[cand.id] = Verdict(
                "cap",
                f"frequency cap: {blocked.limit} per {blocked.window_hours:g} h on {where}",
            )
            continue
        for i, rule in enumerate(rules):
            if rule.channel is None or rule.channel == cand.channel:
                counts[i] += 1
        verdicts[cand.id] = SEND
    return verdicts


@lru_cache(maxsize=64)
def _hours(hours: float) -> timedelta:
    return timedelta(hours=hours)


# --- quiet hours ---------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The zone called ``name``; an unknown or empty name falls back (never raises)."""
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


@lru_cache(maxsize=256)
def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_hours_verdict(
    *,
    now: datetime,
    timezone: str | None,
    start: str | None,
    end: str | None,
    fallback: str = "UTC",
) -> Verdict:
    """Send now, or defer until the quiet window ends in the profile's local time.

    The window runs from ``start`` to ``end`` local time and may span midnight (21:00-08:00).
    """
    if not start or not end or start == end:
        return SEND
    tz = zone(timezone, fallback)
    local = now.astimezone(tz)
    begin, finish = parse_hhmm(start), parse_hhmm(end)
    t = local.time()
    overnight = begin > finish
    quiet = (t >= begin or t < finish) if overnight else (begin <= t < finish)
    if not quiet:
        return SEND
    release_day = local.date()
    if overnight and t >= begin:
        release_day = release_day + timedelta(days=1)
    release = datetime.combine(release_day, finish, tzinfo=tz)
    return Verdict("defer", f"quiet hours until {finish:%H:%M} local", release.astimezone(UTC))


# --- send-time optimisation ----------------------------------------------------------------


def best_hour(
    engagements: Sequence[datetime], *, timezone: str | None, fallback_hour: int, min_events: int
) -> int:
    """The local hour at which this profile most often opens or clicks (ties: the earliest);
    ``fallback_hour`` until there are ``min_events`` engagements."""
    if len(engagements) < min_events:
        return fallback_hour
    tz = zone(timezone)
    counts = [0] * 24
    for at in engagements:
        counts[at.astimezone(tz).hour] += 1
    return max(range(24), key=lambda h: (counts[h], -h))


def next_send_time(*, now: datetime, hour: int, timezone: str | None) -> datetime:
    """The next moment (now included, within the hour) at ``hour`` o'clock local time."""
    tz = zone(timezone)
    local = now.astimezone(tz)
    if local.hour == hour:
        return now
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target = (target + timedelta(days=1)).replace(hour=hour)
    return target.astimezone(UTC)


# --- one combined decision -----------------------------------------------------------------


@dataclass(slots=True)
class DeliveryFacts:
    """Everything the gate needs about one message, loaded in bulk by the dispatcher."""

    channel: str
    category: str
    group: str | None
    consents: Mapping[tuple[str, str], str]
    suppressed: bool
    timezone: str | None
    cap: Verdict = SEND


def gate(
    facts: DeliveryFacts,
    *,
    now: datetime,
    quiet_start: str | None,
    quiet_end: str | None,
    quiet_channels: frozenset[str] | set[str],
    fallback_timezone: str = "UTC",
) -> Verdict:
    """Consent, then caps (decided per profile by ``cap_contest``), then quiet hours.

    Transactional messages skip consent, caps and quiet hours (never suppression).
    """
    verdict = consent_verdict(
        channel=facts.channel,
        category=facts.category,
        group=facts.group,
        consents=facts.consents,
        suppressed=facts.suppressed,
    )
    if verdict.action != "send":
        return verdict
    if facts.cap.action != "send":
        return facts.cap
    if facts.category == "transactional" or facts.channel not in quiet_channels:
        return SEND
    return quiet_hours_verdict(
        now=now,
        timezone=facts.timezone,
        start=quiet_start,
        end=quiet_end,
        fallback=fallback_timezone,
    )


# --- retries -------------------------------------------------------------------------------


def jitter_fraction(key: str, attempt: int) -> float:
    """A deterministic value in [0, 1) from the message and attempt (a seeded hash, no RNG)."""
    digest = hashlib.blake2b(f"{key}:{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def backoff(*, attempt: int, base_seconds: float, max_seconds: float, jitter: float) -> timedelta:
    """Exponential backoff with "equal jitter": half fixed, half spread by ``jitter`` in [0, 1)."""
    ceiling = min(max_seconds, base_seconds * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=ceiling / 2 + ceiling / 2 * jitter)


@dataclass
class CircuitBreaker:
    """Per-endpoint breaker: ``threshold`` consecutive failures open it for ``cooldown``.

    After the cooldown it is half-open: one trial request goes, the others are deferred by
    ``trial_wait`` at a time until the trial's outcome is recorded (a success closes the
    circuit, a failure opens it for another cooldown); a trial whose outcome never comes is
    replaced after a cooldown. The open state is shared by workers through the store; the trial
    is per worker process, so each process probes with at most one request."""

    threshold: int = 5
    cooldown: timedelta = timedelta(seconds=60)
    trial_wait: timedelta = timedelta(seconds=10)
    failures: dict[str, int] = field(default_factory=dict)
    open_until: dict[str, datetime] = field(default_factory=dict)
    #: endpoint -> when this process's outstanding trial request is given up
    trials: dict[str, datetime] = field(default_factory=dict)

    def load(self, endpoint: str, failures: int, open_until: datetime | None) -> None:
        """Take over an endpoint's state as stored (shared by every worker process)."""
        self.failures[endpoint] = failures
        if open_until is None:
            self.open_until.pop(endpoint, None)
            self.trials.pop(endpoint, None)
        else:
            self.open_until[endpoint] = open_until

    def state(self, endpoint: str) -> tuple[int, datetime | None]:
        """``(consecutive failures, open until)`` of an endpoint, to store."""
        return self.failures.get(endpoint, 0), self.open_until.get(endpoint)

    def allows(self, endpoint: str, now: datetime) -> datetime | None:
        """None if a request may go; else when to ask again."""
        until = self.open_until.get(endpoint)
        if until is None:
            return None
        if now < until:
            return until
        trial = self.trials.get(endpoint)
        if trial is not None and now < trial:
            return min(trial, now + self.trial_wait)
        self.trials[endpoint] = now + self.cooldown  # this request is the trial
        return None

    def record(self, endpoint: str, ok: bool, now: datetime) -> None:
        self.trials.pop(endpoint, None)
        if ok:
            self.failures.pop(endpoint, None)
            self.open_until.pop(endpoint, None)
            return
        count = self.failures.get(endpoint, 0) + 1
        self.failures[endpoint] = count
        if count >= self.threshold:
            self.open_until[endpoint] = now + self.cooldown


@dataclass
class TokenBucket:
    """A provider's rate limit: ``rate`` messages per second with a burst of ``burst``."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: datetime | None = None

    def take(self, now: datetime) -> float:
        """Take one token; return 0.0 if granted, else the seconds to wait for one."""
        if self.updated is None or self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        elapsed = max((now - self.updated).total_seconds(), 0.0)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate
