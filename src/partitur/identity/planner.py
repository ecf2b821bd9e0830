"""Identity resolution's planner: what a pass changes, decided without I/O and without a clock.

A pass over one workspace's share of the event log is planned in stages, each a function of
what was read and of the stages before it:

1. ``sightings``: the distinct identifier tuples of the pass's units and identity documents,
   each with the first seq that carries it, and every identifier among them. The resolver
   looks those up in the graph (``KnownGraph``).
2. ``link``: union-find over the tuples against the known graph, under the per-kind limits
   (``identity.graph``). It says which existing profiles are about to merge or receive
   traits (the resolver loads their states) and how many new profiles the pass makes.
3. ``plan_identities`` -> ``IdentityPlan``: the survivor of each merge, the new profiles, the
   profile of every unit and document, the new identities.
4. ``plan_traits`` -> ``TraitPlan``: merged profiles folded into their survivors, then the
   traits of identify calls and ``context.traits`` applied oldest first; the trait history.
5. ``plan_profiles`` -> ``ProfilePlan``: the pass's activity folded into the profiles held in
   memory and left to a set-based update for the others; the new and changed profiles.

``plan_pass`` plans stages 2 to 5 at once (a ``PassPlan``). The resolver plans them one at a
time instead, because its writer writes each stage's part on a thread of its own while the
next stage is planned: on a backlog the writer's statements (the events' assignment, the
identities) and the planning of traits and activity take seconds each, and one after the
other they would add up.

Before planning, ``suppression_hashes`` and ``plan_drops`` say which events name erased people
(the suppression list); the resolver drops them and reads the pass again.

The states handed to ``plan_traits`` and ``plan_profiles`` are folded in place: the plan takes
them over (copying a backlog's states would cost as much as folding them).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from partitur.events.resolution import IdentityDoc, ResolveUnit, event_time
from partitur.identity import graph
from partitur.identity.extract import Identifier, value_hash
from partitur.identity.graph import Links, Merge
from partitur.profiles import traits as profile_traits
from partitur.profiles.contracts import HistoryRow, ProfileActivity, ProfileState

#: an identifier as the suppression list keeps it: (kind, ``extract.value_hash``)
HashedIdentifier = tuple[str, str]


@dataclass(frozen=True, slots=True)
class PassInput:
    """One workspace's share of a pass, as read: its units (events summed up per user_id and
    anonymous_id, or single events where those cannot say whose an event is) and its identity
    documents, each with its identifiers (anchor first; none for blocked values only)."""

    workspace_id: str
    units: list[ResolveUnit]
    unit_ids: list[tuple[Identifier, ...]]
    docs: list[IdentityDoc]
    doc_ids: list[tuple[Identifier, ...]]


# -- suppressed identifiers ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Drops:
    """The events of a pass that name erased people: whole units, single documents (events
    whose unit is kept), and how many events each suppressed identifier cost."""

    units: list[ResolveUnit]
    seqs: list[int]
    counts: dict[HashedIdentifier, int]


def suppression_hashes(inp: PassInput) -> dict[Identifier, HashedIdentifier]:
    """Every identifier of the pass as the suppression list would hold it."""
    keys = {i for ids in itertools.chain(inp.unit_ids, inp.doc_ids) for i in ids}
    return {i: (i[0], value_hash(*i)) for i in keys}


def plan_drops(
    inp: PassInput,
    hashed: Mapping[Identifier, HashedIdentifier],
    suppressed: set[HashedIdentifier],
) -> Drops:
    """The units and documents naming an identifier of ``suppressed`` (``hashed``: from
    ``suppression_hashes``), counted per identifier: a unit's events count once for each
    suppressed identifier it names, a document once more for each one only it names."""
    counts: defaultdict[HashedIdentifier, int] = defaultdict(int)
    units: list[ResolveUnit] = []
    # a unit's hits by what a document has in common with it: its seq (an event of its own)
    # or its (user_id, anonymous_id)
    unit_hits: dict[object, set[HashedIdentifier]] = {}
    for unit, ids in zip(inp.units, inp.unit_ids, strict=True):
        hits = {hashed[i] for i in ids if hashed[i] in suppressed}
        unit_hits[unit.first_seq if unit.per_event else (unit.user_id, unit.anonymous_id)] = hits
        if hits:
            units.append(unit)
            for h in hits:
                counts[h] += unit.events
    seqs = []
    for doc, ids in zip(inp.docs, inp.doc_ids, strict=True):
        own = unit_hits.get(doc.seq)
        if own is None:
            own = unit_hits.get((doc.user_id, doc.anonymous_id), set())
        more = {hashed[i] for i in ids if hashed[i] in suppressed} - own
        if more and not own:
            seqs.append(doc.seq)
        for h in more:
            counts[h] += 1
    return Drops(units=units, seqs=seqs, counts=dict(counts))


# -- the graph ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sightings:
    """The distinct identifier tuples of a pass in the order first seen (``first_seqs``), and
    every identifier among them once (``keys``: what the resolver looks up in the graph)."""

    first_seqs: list[int]
    tuples: list[tuple[Identifier, ...]]
    keys: list[Identifier]


def sightings(inp: PassInput) -> Sightings:
    """The pass's identifier tuples, each once with the first seq that carries it."""
    distinct: dict[tuple[Identifier, ...], int] = {}
    for seq, ids in itertools.chain(
        ((u.first_seq, ids) for u, ids in zip(inp.units, inp.unit_ids, strict=True)),
        ((d.seq, ids) for d, ids in zip(inp.docs, inp.doc_ids, strict=True)),
    ):
        if ids and distinct.get(ids, seq) >= seq:
            distinct[ids] = seq
    ordered = sorted(distinct.items(), key=itemgetter(1))
    return Sightings(
        first_seqs=[seq for _, seq in ordered],
        tuples=[ids for ids, _ in ordered],
        keys=list({i for ids in distinct for i in ids}),
    )


@dataclass(frozen=True, slots=True)
class KnownGraph:
    """The graph around a pass: the existing profile of each of its identifiers that has one,
    and the values of limited kinds (``user_id``) those profiles hold."""

    profiles: Mapping[Identifier, str]
    limited: Mapping[str, Mapping[str, set[str]]]


@dataclass(frozen=True, slots=True)
class Linking:
    """The pass's identifiers linked (``links``), before survivors are chosen. ``anchors``:
    the identifiers that decide each unit's profile (none: a profile of its own); ``held``:
    the existing profiles whose states the plan needs (those about to merge, whose ages pick
    the survivors, and those whose traits change); ``new_profiles``: how many the pass makes.
    """

    links: Links
    anchors: list[tuple[Identifier, ...]]
    held: frozenset[str]
    new_profiles: int


def link(
    inp: PassInput, sights: Sightings, known: KnownGraph, *, limits: Mapping[str, int]
) -> Linking:
    """Link the pass's identifiers against the known graph."""
    links = graph.link(
        zip(sights.first_seqs, sights.tuples, strict=True),
        existing=known.profiles,
        profile_limited=known.limited,
        limits=limits,
    )
    # a unit's anchor is its own identifiers'; a unit of one event with nothing but blocked
    # values takes its document's (if any), else it gets a profile of its own, linked to nothing
    single_ids = {d.seq: ids for d, ids in zip(inp.docs, inp.doc_ids, strict=True) if ids}
    anchors = [
        ids or (single_ids.get(u.first_seq, ()) if u.per_event else ())
        for u, ids in zip(inp.units, inp.unit_ids, strict=True)
    ]
    isolated = sum(1 for ids in anchors if not ids)
    held = links.merging()
    for n in _trait_docs(inp.docs):
        ids = inp.doc_ids[n]
        if ids:
            owners = links.profiles[links.owner[ids[0]]]
            if len(owners) == 1:  # more: they merge, and are held already
                held.add(owners[0])
    return Linking(
        links=links,
        anchors=anchors,
        held=frozenset(held),
        new_profiles=sum(1 for owners in links.profiles.values() if not owners) + isolated,
    )


# -- who is who ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentityPlan:
    """Who is who after a pass: ``unit_profiles`` and ``doc_profiles`` (parallel to the
    pass's units and documents), the ``new_profiles`` (ids in the order given out, ascending),
    the ``new_identities`` (each with its profile), the ``merges`` (``moves``: each merged
    profile's survivor) and the links the limits ``refused``. ``touch_known``: some of the
    pass's identifiers were in the graph already (they are marked seen)."""

    workspace_id: str
    unit_profiles: list[str]
    doc_profiles: list[str]
    new_profiles: list[str]
    new_identities: dict[Identifier, str]
    touch_known: bool
    merges: list[Merge]
    moves: dict[str, str]
    refused: int


def plan_identities(
    inp: PassInput,
    sights: Sightings,
    linking: Linking,
    known: KnownGraph,
    *,
    ages: Mapping[str, datetime],
    new_profile_ids: Iterable[str],
) -> IdentityPlan:
    """Who is who: of existing profiles that link, the oldest survives (by ``ages``, the
    creation times of at least the profiles about to merge); of profiles as old (made in one
    pass), one holding a limited identifier (a known user's), then the smallest id. New
    profiles take their ids from ``new_profile_ids`` (``linking.new_profiles`` of them)."""
    resolution = graph.settle(linking.links, profile_age=ages, profile_limited=known.limited)
    owner = resolution.owner
    supply = list(itertools.islice(new_profile_ids, linking.new_profiles))
    if len(supply) < linking.new_profiles:
        raise ValueError(f"{linking.new_profiles} new profile ids needed, {len(supply)} given")
    fresh_ids = iter(supply)
    created: list[str] = []  # in the order given out: ascending

    def new_profile() -> str:
        profile_id = next(fresh_ids)
        created.append(profile_id)
        return profile_id

    profile_of = {
        comp: pid if pid is not None else new_profile()
        for comp, pid in resolution.profile_of_component.items()
    }
    unit_profiles = [profile_of[owner[ids[0]]] if ids else new_profile() for ids in linking.anchors]
    single_profile = {
        u.first_seq: pid for u, pid in zip(inp.units, unit_profiles, strict=True) if u.per_event
    }
    doc_profiles = [
        profile_of[owner[ids[0]]] if ids else single_profile[d.seq]
        for d, ids in zip(inp.docs, inp.doc_ids, strict=True)
    ]
    return IdentityPlan(
        workspace_id=inp.workspace_id,
        unit_profiles=unit_profiles,
        doc_profiles=doc_profiles,
        new_profiles=created,
        new_identities={
            key: profile_of[owner[key]] for key in sights.keys if key not in known.profiles
        },
        touch_known=bool(known.profiles),
        merges=resolution.merges,
        moves={m.merged_id: m.survivor_id for m in resolution.merges},
        refused=resolution.refused,
    )


# -- traits -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraitPlan:
    """The trait history of a pass: each change of a trait, oldest first."""

    history: list[HistoryRow]


def plan_traits(
    inp: PassInput,
    identities: IdentityPlan,
    states: dict[str, ProfileState],
    *,
    now: datetime,
) -> TraitPlan:
    """Fold merged profiles into their survivors (traits by recency, counts add up), then
    apply the traits of identify calls and ``context.traits`` oldest first. ``states`` holds
    the profiles of ``Linking.held``; the new profiles are added to it, made ``now``."""
    states.update(
        (pid, ProfileState(id=pid, workspace_id=inp.workspace_id, created_at=now, is_new=True))
        for pid in identities.new_profiles
    )
    for merge in identities.merges:
        profile_traits.merge_states(states[merge.survivor_id], states[merge.merged_id])
    return TraitPlan(
        history=_apply_traits(inp.docs, _trait_docs(inp.docs), identities.doc_profiles, states)
    )


def _trait_docs(docs: Sequence[IdentityDoc]) -> list[int]:
    """The documents (indices) whose traits apply to their profile (a group call's traits
    are the group's)."""
    return [n for n, d in enumerate(docs) if (d.traits or d.context_traits) and d.type != "group"]


def _apply_traits(
    docs: Sequence[IdentityDoc],
    trait_docs: list[int],
    doc_profiles: Sequence[str],
    states: Mapping[str, ProfileState],
) -> list[HistoryRow]:
    """Traits (and an identify's ``traits.timezone``) of the documents ``trait_docs`` (indices),
    applied oldest first to the profiles in ``states``; returns the history rows."""
    history: list[HistoryRow] = []
    # bound once: a call per document
    apply_traits, apply_place = profile_traits.apply_traits, profile_traits.apply_place
    moments = {n: event_time(docs[n].timestamp) for n in trait_docs}
    for n in sorted(trait_docs, key=lambda n: (moments[n], docs[n].seq)):
        doc, at = docs[n], moments[n]
        state = states[doc_profiles[n]]
        source = f"event:{doc.seq}"
        if isinstance(doc.context_traits, dict) and doc.context_traits:
            history += apply_traits(state, doc.context_traits, at=at, source=source)
        if doc.type == "identify" and isinstance(doc.traits, dict) and doc.traits:
            history += apply_traits(state, doc.traits, at=at, source=source)
            if doc.timezone is None:
                apply_place(state, timezone=doc.traits.get("timezone"), locale=None, at=at)
    return history


# -- profiles -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfilePlan:
    """The profiles a pass writes: ``new`` ones, ``changed`` ones (held in memory, not merged
    away), and the ``activity`` of the profiles not held (a set-based update adds it)."""

    new: list[ProfileState]
    changed: list[ProfileState]
    activity: ProfileActivity


def plan_profiles(
    inp: PassInput,
    identities: IdentityPlan,
    states: dict[str, ProfileState],
    *,
    sources: Mapping[str, str],
) -> ProfilePlan:
    """Fold the pass's activity (counts, first/last seen, channel, locale, timezone) into the
    profiles held in ``states`` (after ``plan_traits``); the rest goes to ``activity``. A
    unit's channel is its own, else its source's name (``sources``: id -> name)."""
    activity = _fold_activity(inp.units, identities.unit_profiles, sources, states)
    moves = identities.moves
    return ProfilePlan(
        new=[s for s in states.values() if s.is_new],
        # merged profiles are emptied when they are marked merged
        changed=[s for s in states.values() if s.dirty and not s.is_new and s.id not in moves],
        activity=activity,
    )


class _Tally:
    """One profile's activity in a pass, summed over its units; ``latest``, ``locale_at`` and
    ``timezone_at`` are (timestamp, seq) of the message that set them."""

    __slots__ = (
        "channel",
        "events",
        "first_ts",
        "last_ts",
        "latest",
        "locale",
        "locale_at",
        "orders",
        "revenue",
        "timezone",
        "timezone_at",
    )

    def __init__(
        self,
        unit: ResolveUnit,
        channel: str | None,
        latest: tuple[object, int],
        locale_at: tuple[object, int] | None,
        timezone_at: tuple[object, int] | None,
    ) -> None:
        self.events = unit.events
        self.first_ts = unit.first_ts
        self.last_ts = unit.last_ts
        self.orders = unit.orders
        self.revenue = unit.revenue
        self.channel = channel
        self.latest = latest
        self.locale = unit.locale
        self.locale_at = locale_at
        self.timezone = unit.timezone
        self.timezone_at = timezone_at


def _tallies(
    units: Sequence[ResolveUnit], unit_profiles: Sequence[str], sources: Mapping[str, str]
) -> dict[str, _Tally]:
    """Each profile's activity in the pass, from its units (the latest by (timestamp, seq)
    sets the channel, the locale and the timezone)."""
    tallies: dict[str, _Tally] = {}
    for unit, pid in zip(units, unit_profiles, strict=True):
        channel = unit.channel or sources.get(unit.source_id, unit.source_id)
        latest = (unit.last_ts, unit.last_seq)
        locale_at = (unit.locale_ts, unit.locale_seq) if unit.locale_seq is not None else None
        tz_at = (unit.timezone_ts, unit.timezone_seq) if unit.timezone_seq is not None else None
        tally = tallies.get(pid)
        if tally is None:
            tallies[pid] = _Tally(unit, channel, latest, locale_at, tz_at)
            continue
        tally.events += unit.events
        if unit.first_ts < tally.first_ts:
            tally.first_ts = unit.first_ts
        if latest > tally.latest:
            tally.last_ts, tally.channel, tally.latest = unit.last_ts, channel, latest
        tally.orders += unit.orders
        tally.revenue += unit.revenue
        if locale_at is not None and (tally.locale_at is None or locale_at > tally.locale_at):
            tally.locale, tally.locale_at = unit.locale, locale_at
        if tz_at is not None and (tally.timezone_at is None or tz_at > tally.timezone_at):
            tally.timezone, tally.timezone_at = unit.timezone, tz_at
    return tallies


def _fold_activity(
    units: Sequence[ResolveUnit],
    unit_profiles: Sequence[str],
    sources: Mapping[str, str],
    states: Mapping[str, ProfileState],
) -> ProfileActivity:
    """Activity per profile: folded into the ``states`` held in memory; returned for the
    others."""
    others: list[tuple[str, _Tally]] = []
    # bound once: a call per profile
    fold, apply_place = profile_traits.fold_activity, profile_traits.apply_place
    for pid, tally in _tallies(units, unit_profiles, sources).items():
        held = states.get(pid)
        if held is None:
            others.append((pid, tally))
            continue
        fold(
            held,
            events=tally.events,
            first=event_time(tally.first_ts),
            last=event_time(tally.last_ts),
            orders=tally.orders,
            revenue=tally.revenue,
            channel=tally.channel,
        )
        if tally.locale_at:
            at = event_time(tally.locale_at[0])
            apply_place(held, timezone=None, locale=tally.locale, at=at)
        if tally.timezone_at:
            at = event_time(tally.timezone_at[0])
            apply_place(held, timezone=tally.timezone, locale=None, at=at)
    tallies = [t for _, t in others]
    return ProfileActivity(
        profile_ids=[pid for pid, _ in others],
        events=[t.events for t in tallies],
        first_ts=[t.first_ts for t in tallies],
        last_ts=[t.last_ts for t in tallies],
        orders=[t.orders for t in tallies],
        revenue=[t.revenue for t in tallies],
        channels=[t.channel for t in tallies],
        locales=[t.locale for t in tallies],
        locale_ts=[t.locale_at[0] if t.locale_at else None for t in tallies],
        timezones=[t.timezone for t in tallies],
        timezone_ts=[t.timezone_at[0] if t.timezone_at else None for t in tallies],
    )


# -- the whole pass -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PassPlan:
    """Everything a pass over one workspace's share writes."""

    identities: IdentityPlan
    traits: TraitPlan
    profiles: ProfilePlan


def plan_pass(
    inp: PassInput,
    known: KnownGraph,
    states: Mapping[str, ProfileState],
    *,
    limits: Mapping[str, int],
    sources: Mapping[str, str],
    new_profile_ids: Iterable[str],
    now: datetime,
) -> PassPlan:
    """Plan a pass at once: ``known`` is the graph around the pass's identifiers, ``states``
    holds (at least) the existing profiles it links (those it needs are folded in place),
    ``new_profile_ids`` supplies the new profiles' ids (as many as needed are taken)."""
    sights = sightings(inp)
    linking = link(inp, sights, known, limits=limits)
    held = {pid: state for pid, state in states.items() if pid in linking.held}
    identities = plan_identities(
        inp,
        sights,
        linking,
        known,
        ages={pid: state.created_at for pid, state in held.items()},
        new_profile_ids=new_profile_ids,
    )
    traits = plan_traits(inp, identities, held, now=now)
    return PassPlan(
        identities=identities,
        traits=traits,
        profiles=plan_profiles(inp, identities, held, sources=sources),
    )
