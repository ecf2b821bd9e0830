"""Use cases of the decisions domain: policies, value tiers, routing and next best offer.

``next_best_offer`` is what the journey engine's ``decide`` node calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.durations import parse_duration
from partitur.core.errors import InvalidDocument, NotFound, ValidationFailed
from partitur.core.rules import (
    ProfileFacts,
    Rule,
    longest_window,
    referenced_events,
    referenced_segments,
)
from partitur.decisions import logic
from partitur.decisions import repository as repo
from partitur.decisions.contracts import (
    Offer,
    OfferDecision,
    OfferIn,
    OfferSettings,
    RouteDecision,
    RouteRequest,
    RoutingPolicy,
    ValueAssessment,
    ValueModel,
)
from partitur.decisions.defaults import (
    DEFAULT_OFFER_SETTINGS,
    DEFAULT_ROUTING_POLICY,
    DEFAULT_VALUE_MODEL,
)
from partitur.events import service as events
from partitur.ml import service as ml
from partitur.profiles import service as profiles
from partitur.profiles.contracts import ProfileSnapshot
from partitur.segments import service as segments

PolicyKind = Literal["routing", "value_model", "offers"]
_POLICIES: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "routing": (RoutingPolicy, DEFAULT_ROUTING_POLICY),
    "value_model": (ValueModel, DEFAULT_VALUE_MODEL),
    "offers": (OfferSettings, DEFAULT_OFFER_SETTINGS),
}
M = TypeVar("M", bound=BaseModel)
#: Parsed live policies per (workspace, kind): the decision hot path reads them on every call.
#: A change made in this process is seen at once; other processes see it within the TTL.
POLICY_TTL_SECONDS = 2.0
_policy_cache: dict[tuple[str, str], tuple[float, int, BaseModel]] = {}
#: workspace -> (expires, active offers): the catalogue changes rarely and is read by every
#: offer decision; saving or deleting an offer here drops the entry at once, other processes
#: see the change within POLICY_TTL_SECONDS.
_active_offer_cache: dict[str, tuple[float, list[Offer]]] = {}


def _invalid(exc: ValidationError, what: str) -> InvalidDocument:
    problems = [
        {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return InvalidDocument(f"the {what} is not valid", problems=problems)


# --- policies -------------------------------------------------------------------------------


def get_policy(conn: Connection, *, workspace_id: str, kind: str) -> tuple[int, BaseModel]:
    """The live version of a policy (version 0 = the built-in default)."""
    if kind not in _POLICIES:
        raise NotFound(f"no policy kind {kind!r}", field="kind")
    cached = _policy_cache.get((workspace_id, kind))
    if cached is not None and cached[0] > time.monotonic():
        return cached[1], cached[2]
    model, default = _POLICIES[kind]
    row = repo.latest_policy(conn, workspace_id, kind)
    version, policy = (
        (0, model.model_validate(default))
        if row is None
        else (int(row.version), model.model_validate(row.document))
    )
    _policy_cache[(workspace_id, kind)] = (time.monotonic() + POLICY_TTL_SECONDS, version, policy)
    return version, policy


def _typed(conn: Connection, workspace_id: str, kind: str, model: type[M]) -> M:
    _, policy = get_policy(conn, workspace_id=workspace_id, kind=kind)
    assert isinstance(policy, model)
    return policy


@action(
    "decision_policy.save",
    permission=Permission.manage_offers,
    subject="decision_policy",
    subject_key="kind",
)
def put_policy(
    conn: Connection,
    *,
    workspace_id: str,
    kind: str,
    document: Any,
    now: datetime,
    actor: Actor,
) -> tuple[int, BaseModel]:
    """Validate and store a new version of a policy. Raises ``InvalidDocument``."""
    if kind not in _POLICIES:
        raise NotFound(f"no policy kind {kind!r}", field="kind")
    model, _ = _POLICIES[kind]
    try:
        policy = model.model_validate(document)
    except ValidationError as exc:
        raise _invalid(exc, f"{kind} policy") from exc
    stored = policy.model_dump(mode="json", by_alias=True, exclude_none=True)
    version = repo.insert_policy(
        conn, workspace_id=workspace_id, kind=kind, document=stored, now=now, actor=actor.label
    )
    _policy_cache.pop((workspace_id, kind), None)
    describe(details={"version": version})
    return version, policy


# --- value tiers ----------------------------------------------------------------------------


def _snapshot(conn: Connection, workspace_id: str, profile_id: str) -> ProfileSnapshot:
    snapshot = profiles.snapshot(conn, workspace_id=workspace_id, profile_id=profile_id)
    if snapshot is None:
        raise NotFound(f"no profile {profile_id}", field="profile_id")
    return snapshot


def assess_value(conn: Connection, *, workspace_id: str, profile_id: str) -> ValueAssessment:
    """Value score, tier and service level of one profile under the live value model."""
    model = _typed(conn, workspace_id, "value_model", ValueModel)
    snapshot = _snapshot(conn, workspace_id, profile_id)
    score, tier, contributions = logic.assess_value(model, snapshot.traits, snapshot.computed)
    raw = logic.raw_inputs(model, snapshot.traits, snapshot.computed)
    return ValueAssessment(
        profile_id=snapshot.id,
        score=round(score, 4),
        tier=tier,
        service_level=model.service_levels.get(tier),
        contributions=contributions,
        reasons=logic.value_reasons(model, raw, np.array(list(contributions.values()))),
    )


def score_value_matrix(
    model: ValueModel, rows: Iterable[tuple[str, dict[str, Any], dict[str, Any]]]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, scores, tiers) for many profiles at once (the maths is vectorised)."""
    ids, scores, tiers, _ = _value_matrix(model, rows)
    return ids, scores, tiers


def _value_matrix(
    model: ValueModel, rows: Iterable[tuple[str, dict[str, Any], dict[str, Any]]]
) -> tuple[list[str], np.ndarray, np.ndarray, list[list[str]]]:
    ids: list[str] = []
    raw: list[list[float]] = []
    features = list(model.features.values())
    for pid, traits, computed in rows:
        ids.append(pid)
        raw.append(
            [logic._number(logic._read(f.path, traits, computed), f.default) for f in features]
        )
    matrix = np.asarray(raw, dtype=np.float64).reshape(len(ids), len(features))
    scores, contributions = logic.score_matrix(model, matrix)
    reasons = [logic.value_reasons(model, matrix[i], contributions[i])[:3] for i in range(len(ids))]
    return ids, scores, logic.tiers_of(model, scores), reasons


@action("value.refresh", permission=Permission.manage_models, subject="value_model")
def score_all_values(conn: Connection, *, workspace_id: str, now: datetime, actor: Actor) -> int:
    """Store ``computed.value`` ({score, tier, queue, reasons: the three largest contributions})
    and ``computed.tier`` on every profile of the workspace. Returns how many profiles were
    updated."""
    model = _typed(conn, workspace_id, "value_model", ValueModel)
    updated = 0
    for page in profiles.iter_live_profiles(conn, workspace_id=workspace_id):
        chunk = [(p.id, p.traits, p.computed) for p in page]
        ids, scores, tiers, reasons = _value_matrix(model, chunk)
        values = {
            pid: {
                "value": {
                    "score": round(float(s), 4),
                    "tier": str(t),
                    "reasons": why,
                    "queue": model.service_levels[str(t)].queue
                    if str(t) in model.service_levels
                    else None,
                    "as_of": now.isoformat(),
                },
                "tier": str(t),
            }
            for pid, s, t, why in zip(ids, scores, tiers, reasons, strict=True)
        }
        updated += profiles.merge_computed(conn, workspace_id=workspace_id, values=values, now=now)
    describe(subject_id=workspace_id, details={"profiles": updated})
    return updated


def tier_shares(conn: Connection, *, workspace_id: str) -> dict[str, float]:
    """Share of the workspace's live profiles in each tier of the live value model (tiers
    in the model's order, highest first; profiles without a tier are not counted)."""
    model = _typed(conn, workspace_id, "value_model", ValueModel)
    counts = dict.fromkeys([t.name for t in sorted(model.tiers, key=lambda t: -t.min_score)], 0)
    for page in profiles.iter_live_profiles(conn, workspace_id=workspace_id):
        for profile in page:
            tier = profile.computed.get("tier")
            if isinstance(tier, str) and tier in counts:
                counts[tier] += 1
    total = sum(counts.values()) or 1
    return {t: n / total for t, n in counts.items()}


# --- routing --------------------------------------------------------------------------------


def _rule_events(rules: Iterable[Rule | None]) -> tuple[set[str], timedelta | None, bool]:
    names: set[str] = set()
    windows: list[timedelta | None] = []
    for rule in rules:
        if rule is None:
            continue
        found = referenced_events(rule)
        if found:
            names |= found
            windows.append(longest_window(rule))
    unbounded = any(w is None for w in windows)
    longest = max((w for w in windows if w is not None), default=None)
    return names, longest, unbounded


def _segments(
    conn: Connection, workspace_id: str, profile_id: str, rules: Iterable[Rule | None]
) -> frozenset[str]:
    """Segment memberships, read only when a rule asks about segments."""
    if not any(referenced_segments(r) for r in rules if r is not None):
        return frozenset()
    return segments.memberships(conn, workspace_id=workspace_id, profile_id=profile_id)


def route_request(
    conn: Connection, *, workspace_id: str, request: RouteRequest, now: datetime
) -> RouteDecision:
    """Where a contact goes: target, priority and the reasons. Raises ``NotFound``."""

    policy = _typed(conn, workspace_id, "routing", RoutingPolicy)
    model = _typed(conn, workspace_id, "value_model", ValueModel)
    snapshot = _snapshot(conn, workspace_id, request.profile_id)
    tier = snapshot.computed.get("tier")
    if not isinstance(tier, str):
        _, tier, _ = logic.assess_value(model, snapshot.traits, snapshot.computed)

    names, window, unbounded = _rule_events(r.when for r in policy.rules)
    lookback = parse_duration(policy.digital_lookback)
    since = None if unbounded else now - max(window or lookback, lookback)
    history = events.latest_events(
        conn,
        workspace_id=workspace_id,
        profile_id=snapshot.id,
        names=names | set(policy.digital_events),
        since=since,
        now=now,
    )
    digital_cutoff = now - lookback
    intent = request.intent.casefold()
    tried_digital = any(
        e.event in policy.digital_events
        and e.timestamp >= digital_cutoff
        and str(e.properties.get(policy.topic_property, "")).casefold() == intent
        for e in history
    )
    facts_request: dict[str, Any] = {
        "intent": request.intent,
        "channel": request.channel,
        "urgency": request.urgency,
        "escalated": request.escalated,
        "recent_digital_same_topic": tried_digital,
    }
    if request.text:
        sentiment = ml.analyse_sentiment(request.text)
        facts_request["sentiment"] = sentiment.score
        facts_request["sentiment_label"] = sentiment.label
    facts = ProfileFacts(
        traits={**snapshot.traits, "request": facts_request, "tier": tier},
        computed=snapshot.computed,
        recent_events=history,
        segments=_segments(conn, workspace_id, snapshot.id, [r.when for r in policy.rules]),
    )
    return logic.route(policy, facts, now, tier)


# --- offers ---------------------------------------------------------------------------------


def _offer(row: Any) -> Offer:
    return Offer(
        key=row.key,
        name=row.name,
        placements=row.placements or [],
        eligibility=row.eligibility,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        priority=row.priority,
        cost=Decimal(str(row.cost)),
        margin=Decimal(str(row.margin)),
        propensity_score=row.propensity_score,
        base_propensity=float(row.base_propensity),
        per_profile_cap=row.per_profile_cap,
        per_profile_window=row.per_profile_window,
        global_cap=row.global_cap,
        active=bool(row.active),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _active_offers(conn: Connection, workspace_id: str) -> list[Offer]:
    cached = _active_offer_cache.get(workspace_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    offers = [_offer(r) for r in repo.offer_rows(conn, workspace_id, active_only=True)]
    _active_offer_cache[workspace_id] = (time.monotonic() + POLICY_TTL_SECONDS, offers)
    return offers


def list_offers(conn: Connection, *, workspace_id: str) -> list[Offer]:
    return [_offer(r) for r in repo.offer_rows(conn, workspace_id)]


def get_offer(conn: Connection, *, workspace_id: str, key: str) -> Offer:
    row = repo.offer_row(conn, workspace_id, key)
    if row is None:
        raise NotFound(f"no offer {key}", field="key")
    return _offer(row)


@action("offer.save", permission=Permission.manage_offers, subject="offer", subject_key="key")
def put_offer(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    offer: OfferIn,
    now: datetime,
    actor: Actor,
) -> Offer:
    """Create or replace an offer in the catalogue."""
    from partitur.decisions.tables import decision_offers

    if not key or len(key) > 100 or not key.replace("-", "").replace("_", "").isalnum():
        raise ValidationFailed("offer keys are letters, digits, - and _", field="key")
    values = offer.model_dump(mode="python", by_alias=True)
    values["eligibility"] = (
        offer.eligibility.model_dump(mode="json", by_alias=True, exclude_defaults=False)
        if offer.eligibility is not None
        else None
    )
    _active_offer_cache.pop(workspace_id, None)
    existing = repo.offer_row(conn, workspace_id, key)
    if existing is None:
        conn.execute(
            decision_offers.insert().values(
                workspace_id=workspace_id, key=key, created_at=now, updated_at=now, **values
            )
        )
    else:
        conn.execute(
            decision_offers.update()
            .where(decision_offers.c.id == existing.id)
            .values(updated_at=now, **values)
        )
    describe(subject_id=key)
    return get_offer(conn, workspace_id=workspace_id, key=key)


@action("offer.delete", permission=Permission.manage_offers, subject="offer", subject_key="key")
def delete_offer(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> None:
    from partitur.decisions.tables import decision_offers

    row = repo.offer_row(conn, workspace_id, key)
    if row is None:
        raise NotFound(f"no offer {key}", field="key")
    conn.execute(decision_offers.delete().where(decision_offers.c.id == row.id))
    _active_offer_cache.pop(workspace_id, None)
    describe(subject_id=key)


def next_best_offer(
    conn: Connection, *, workspace_id: str, profile_id: str, placement: str, now: datetime
) -> OfferDecision:
    """Choose the offer to show ``profile_id`` in ``placement`` and record the impression.

    Eligible offers (active, valid now, in this placement, eligibility rule true, under the
    per-profile and global caps) are ranked by propensity x (margin - cost) minus fatigue,
    then arbitrated by priority class. Profiles in the holdout group get no offer (recorded,
    for measuring uplift). Raises ``NotFound`` for an unknown profile."""
    decision, impression = choose_offer(
        conn, workspace_id=workspace_id, profile_id=profile_id, placement=placement, now=now
    )
    if impression is not None:
        record_offer_impression(conn, impression)
    return decision


@dataclass(frozen=True)
class OfferImpression:
    """What ``choose_offer`` decided, to be recorded by ``record_offer_impression``."""

    workspace_id: str
    profile_id: str
    offer_key: str | None
    placement: str
    holdout: bool
    score: float | None
    at: datetime


def record_offer_impression(conn: Connection, impression: OfferImpression) -> None:
    """Store an impression (in a write transaction); caps and fatigue count it from then on."""
    repo.record_impression(
        conn,
        workspace_id=impression.workspace_id,
        profile_id=impression.profile_id,
        offer_key=impression.offer_key,
        placement=impression.placement,
        holdout=impression.holdout,
        score=impression.score,
        now=impression.at,
    )


def choose_offer(
    conn: Connection, *, workspace_id: str, profile_id: str, placement: str, now: datetime
) -> tuple[OfferDecision, OfferImpression | None]:
    """The decision of ``next_best_offer`` without writing: reads only, so the decision API
    runs it outside the write lock and records the impression in a short write transaction
    after it. Caps count the impressions committed before; two decisions for one profile at
    the same instant can both see the same count (a cap may be passed by one)."""
    settings = _typed(conn, workspace_id, "offers", OfferSettings)
    snapshot = _snapshot(conn, workspace_id, profile_id)
    if logic.in_holdout(workspace_id, snapshot.id, settings.holdout_percent):
        held = OfferImpression(workspace_id, snapshot.id, None, placement, True, None, now)
        return OfferDecision(
            offer_key=None, score=0.0, reasons=["holdout group: no offer"], holdout=True
        ), held

    reasons: list[str] = []
    offers = []
    for offer in _active_offers(conn, workspace_id):
        if offer.placements and placement not in offer.placements:
            continue
        if (offer.valid_from and now < offer.valid_from) or (
            offer.valid_until and now >= offer.valid_until
        ):
            continue
        offers.append(offer)

    names, window, unbounded = _rule_events(o.eligibility for o in offers)
    history = (
        events.latest_events(
            conn,
            workspace_id=workspace_id,
            profile_id=snapshot.id,
            names=names,
            since=None if unbounded or window is None else now - window,
            now=now,
        )
        if names
        else []
    )
    facts = ProfileFacts(
        traits=snapshot.traits,
        computed=snapshot.computed,
        recent_events=history,
        segments=_segments(conn, workspace_id, snapshot.id, [o.eligibility for o in offers]),
    )
    from partitur.core.rules import evaluate

    eligible = []
    for offer in offers:
        if offer.eligibility is not None and not evaluate(offer.eligibility, facts, now):
            reasons.append(f"{offer.key}: not eligible")
            continue
        eligible.append(offer)

    # only offers with a global cap need the (growing) count of all their impressions
    keys = [o.key for o in eligible if o.global_cap is not None]
    global_counts = repo.impressions_per_offer(
        conn, workspace_id=workspace_id, profile_id=None, since=None, keys=keys
    )
    longest = max(
        [parse_duration(settings.fatigue_window)]
        + [parse_duration(o.per_profile_window) for o in eligible if o.per_profile_window],
    )
    shown = repo.profile_impression_times(
        conn, workspace_id=workspace_id, profile_id=snapshot.id, since=now - longest
    )
    fatigue_since = now - parse_duration(settings.fatigue_window)
    candidates = []
    for offer in eligible:
        if offer.global_cap is not None and global_counts.get(offer.key, 0) >= offer.global_cap:
            reasons.append(f"{offer.key}: global cap of {offer.global_cap} reached")
            continue
        if offer.per_profile_cap is not None:
            cap_since = (
                now - parse_duration(offer.per_profile_window)
                if offer.per_profile_window
                else datetime.min.replace(tzinfo=now.tzinfo)
            )
            seen = sum(1 for k, at in shown if k == offer.key and at >= cap_since)
            if seen >= offer.per_profile_cap:
                reasons.append(f"{offer.key}: shown {seen} times, cap {offer.per_profile_cap}")
                continue
        recent = sum(1 for k, at in shown if k == offer.key and at >= fatigue_since)
        candidates.append(logic.candidate(offer, snapshot.computed, recent, settings))

    ranked = logic.arbitrate(candidates, settings)
    summary = [
        {
            "offer_key": c.offer.key,
            "score": round(c.score, 4),
            "propensity": round(c.propensity, 4),
            "value": round(c.value, 2),
            "fatigue": round(c.fatigue, 4),
            "priority": c.offer.priority,
        }
        for c in sorted(candidates, key=lambda c: -c.score)
    ]
    if not ranked:
        reasons.append("no eligible offer with a positive score")
        return OfferDecision(offer_key=None, score=0.0, reasons=reasons, candidates=summary), None
    best = ranked[0]
    reasons.insert(
        0,
        f"{best.offer.key}: propensity {best.propensity:.2f} x value {best.value:.2f}"
        f" - fatigue {best.fatigue:.2f} = {best.score:.2f}",
    )
    if len(ranked) > 1:
        runner = ranked[1]
        why = "higher priority" if best.offer.priority > runner.offer.priority else "higher score"
        reasons.insert(1, f"chosen over {runner.offer.key} ({why})")
    impression = OfferImpression(
        workspace_id, snapshot.id, best.offer.key, placement, False, round(best.score, 6), now
    )
    return OfferDecision(
        offer_key=best.offer.key, score=round(best.score, 6), reasons=reasons, candidates=summary
    ), impression
