"""Identity resolution's planner, without a database: who is who after a pass, merges and the
survivor rule, limited and suppressed identifiers, traits and activity."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from partitur.events.resolution import IdentityDoc, ResolveUnit
from partitur.identity import planner
from partitur.identity.extract import Blocklist, Identifier, key_identifiers, value_hash
from partitur.identity.graph import DEFAULT_LIMITS
from partitur.identity.planner import KnownGraph, PassInput, PassPlan
from partitur.profiles.contracts import ProfileState

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
BLOCKLIST = Blocklist(["undefined", "null"])


def unit(
    user: str | None = None,
    anon: str | None = None,
    *,
    seqs: Sequence[int] = (1,),
    first: datetime = T0,
    last: datetime | None = None,
    orders: int = 0,
    revenue: float = 0.0,
    channel: str | None = None,
    source: str = "src_web",
    locale: str | None = None,
    timezone: str | None = None,
    per_event: bool = False,
) -> ResolveUnit:
    """A unit as ``events.resolution.resolve_units`` reads it (SQLite's seqs text)."""
    last = last or first
    return ResolveUnit(
        workspace_id="ws",
        user_id=user,
        anonymous_id=anon,
        first_seq=min(seqs),
        events=len(seqs),
        first_ts=first,
        last_ts=last,
        orders=orders,
        revenue=revenue,
        last_seq=max(seqs),
        channel=channel,
        source_id=source,
        locale=locale,
        locale_seq=max(seqs) if locale else None,
        locale_ts=last if locale else None,
        timezone=timezone,
        timezone_seq=max(seqs) if timezone else None,
        timezone_ts=last if timezone else None,
        seqs=",".join(map(str, seqs)),
        per_event=per_event,
    )


def doc(
    seq: int,
    *,
    user: str | None = None,
    anon: str | None = None,
    at: datetime = T0,
    kind: str = "identify",
    traits: dict[str, Any] | None = None,
    context_traits: dict[str, Any] | None = None,
    timezone: str | None = None,
) -> IdentityDoc:
    return IdentityDoc(
        seq=seq,
        workspace_id="ws",
        type=kind,
        user_id=user,
        anonymous_id=anon,
        timestamp=at,
        traits=traits,
        context_traits=context_traits,
        external_ids=None,
        previous_id=None,
        timezone=timezone,
    )


def doc_identifiers(d: IdentityDoc) -> tuple[Identifier, ...]:
    ids = list(key_identifiers(d.user_id, d.anonymous_id, BLOCKLIST))
    for source in (d.traits, d.context_traits):
        if source and "email" in source and ("email", source["email"]) not in ids:
            ids.append(("email", source["email"]))
    return tuple(ids)


def batch(units: Sequence[ResolveUnit], docs: Sequence[IdentityDoc] = ()) -> PassInput:
    return PassInput(
        workspace_id="ws",
        units=list(units),
        unit_ids=[key_identifiers(u.user_id, u.anonymous_id, BLOCKLIST) for u in units],
        docs=list(docs),
        doc_ids=[doc_identifiers(d) for d in docs],
    )


def state(pid: str, *, created: datetime = T0, **traits: Any) -> ProfileState:
    s = ProfileState(id=pid, workspace_id="ws", created_at=created)
    s.traits = dict(traits)
    s.trait_times = {name: (created).isoformat(timespec="microseconds") for name in traits}
    return s


def fresh_ids(prefix: str = "prf_new") -> Iterator[str]:
    return (f"{prefix}{n:03d}" for n in itertools.count())


def plan(
    inp: PassInput,
    *,
    known: dict[Identifier, str] | None = None,
    states: Sequence[ProfileState] = (),
    limited: dict[str, dict[str, set[str]]] | None = None,
    sources: dict[str, str] | None = None,
    now: datetime = NOW,
    ids: Iterator[str] | None = None,
) -> PassPlan:
    return planner.plan_pass(
        inp,
        KnownGraph(profiles=known or {}, limited=limited or {}),
        {s.id: s for s in states},
        limits=DEFAULT_LIMITS,
        sources=sources or {"src_web": "web"},
        new_profile_ids=ids or fresh_ids(),
        now=now,
    )


# -- who is who ---------------------------------------------------------------------------------


def test_messages_sharing_an_identifier_land_on_one_new_profile() -> None:
    inp = batch(
        [unit("u-1", "a-1", seqs=(1, 4)), unit(None, "a-1", seqs=(2,)), unit("u-2", seqs=(3,))],
        [doc(1, user="u-1", anon="a-1", traits={"email": "ada@example.com"})],
    )
    p = plan(inp).identities
    assert p.unit_profiles == ["prf_new000", "prf_new000", "prf_new001"]
    assert p.doc_profiles == ["prf_new000"]
    assert p.new_profiles == ["prf_new000", "prf_new001"]
    assert p.new_identities == {
        ("user_id", "u-1"): "prf_new000",
        ("anonymous_id", "a-1"): "prf_new000",
        ("email", "ada@example.com"): "prf_new000",
        ("user_id", "u-2"): "prf_new001",
    }
    assert p.merges == [] and not p.touch_known and p.refused == 0


def test_known_identifiers_keep_their_profile_and_are_not_added_again() -> None:
    inp = batch([unit("u-1", "a-9", seqs=(7,))])
    p = plan(inp, known={("user_id", "u-1"): "prf_old"}, states=[state("prf_old")]).identities
    assert p.unit_profiles == ["prf_old"]
    assert p.new_profiles == []
    assert p.new_identities == {("anonymous_id", "a-9"): "prf_old"}
    assert p.touch_known


def test_a_link_between_two_known_profiles_merges_the_younger_into_the_older() -> None:
    known = {("user_id", "u-1"): "prf_b", ("anonymous_id", "a-1"): "prf_a"}
    older = state("prf_b", created=T0, plan="basic", name="Ada")
    younger = state("prf_a", created=T0 + timedelta(days=2), plan="premium")
    younger.computed = {"event_count": 4, "order_count": 1, "revenue": 10.5}
    older.computed = {"event_count": 2, "order_count": 0, "revenue": 0.0}
    inp = batch(
        [unit("u-1", "a-1", seqs=(12,), first=T0 + timedelta(days=3))],
        [doc(12, user="u-1", anon="a-1", at=T0 + timedelta(days=3))],
    )
    result = plan(inp, known=known, states=[older, younger])
    ids = result.identities
    assert [(m.survivor_id, m.merged_id, m.event_seq) for m in ids.merges] == [
        ("prf_b", "prf_a", 12)
    ]
    assert ids.merges[0].reason == {"linked_kinds": ["anonymous_id", "user_id"]}
    assert ids.moves == {"prf_a": "prf_b"}
    assert ids.unit_profiles == ids.doc_profiles == ["prf_b"]
    assert ids.new_profiles == [] and ids.new_identities == {}
    # the survivor holds the most recent value of each trait and both profiles' counts;
    # the merged one is not written as changed (marking it merged empties it)
    (changed,) = result.profiles.changed
    assert changed.id == "prf_b"
    assert changed.traits == {"plan": "premium", "name": "Ada"}
    assert changed.computed["event_count"] == 2 + 4 + 1
    assert changed.computed["order_count"] == 1
    assert changed.computed["revenue"] == 10.5
    assert result.profiles.new == []


def test_of_profiles_as_old_the_known_users_survives_then_the_smaller_id() -> None:
    for known_user, anonymous in (("prf_a", "prf_b"), ("prf_b", "prf_a")):
        inp = batch([unit("u-1", "a-1", seqs=(5,))])
        p = plan(
            inp,
            known={("user_id", "u-1"): known_user, ("anonymous_id", "a-1"): anonymous},
            limited={known_user: {"user_id": {"u-1"}}},
            states=[state("prf_a"), state("prf_b")],
        ).identities
        assert p.moves == {anonymous: known_user}
    # no limited identifier on either side: the smaller id
    inp = batch([unit(None, "a-1", seqs=(5,))], [doc(5, anon="a-1", traits={"email": "e@x.io"})])
    p = plan(
        inp,
        known={("email", "e@x.io"): "prf_b", ("anonymous_id", "a-1"): "prf_a"},
        states=[state("prf_a"), state("prf_b")],
    ).identities
    assert p.moves == {"prf_b": "prf_a"}


def test_a_second_user_id_is_refused_and_the_anonymous_id_stays_with_the_first() -> None:
    inp = batch([unit("u-2", "a-1", seqs=(3,))])
    p = plan(
        inp,
        known={("anonymous_id", "a-1"): "prf_1"},
        limited={"prf_1": {"user_id": {"u-1"}}},
        states=[state("prf_1")],
    ).identities
    assert p.refused == 1
    assert p.merges == []
    # the message belongs to its anchor's (the new user's) profile; a-1 is not moved
    assert p.unit_profiles == ["prf_new000"]
    assert p.new_identities == {("user_id", "u-2"): "prf_new000"}


def test_within_one_pass_the_first_user_id_keeps_a_shared_anonymous_id() -> None:
    inp = batch([unit("u-1", "a-1", seqs=(1,)), unit("u-2", "a-1", seqs=(2,))])
    p = plan(inp).identities
    assert p.refused == 1
    assert p.new_identities[("anonymous_id", "a-1")] == p.unit_profiles[0]
    assert p.unit_profiles[0] != p.unit_profiles[1]


def test_an_event_with_only_blocked_values_gets_a_profile_of_its_own_or_its_documents() -> None:
    inp = batch(
        [
            unit("undefined", None, seqs=(1,), per_event=True),
            unit("undefined", None, seqs=(2,), per_event=True),
        ],
        [doc(2, user="undefined", traits={"email": "bo@example.com"})],
    )
    p = plan(inp).identities
    assert p.new_profiles == ["prf_new000", "prf_new001"]
    assert p.unit_profiles == ["prf_new001", "prf_new000"]
    assert p.new_identities == {("email", "bo@example.com"): "prf_new000"}
    assert p.doc_profiles == ["prf_new000"]


def test_link_names_the_profiles_to_hold_and_the_new_profiles_to_make() -> None:
    inp = batch(
        [unit("u-1", "a-1", seqs=(1,)), unit("u-3", seqs=(2,)), unit("u-4", seqs=(3,))],
        [doc(2, user="u-3", traits={"plan": "gold"}), doc(3, user="u-4", kind="group", traits={})],
    )
    known = KnownGraph(
        profiles={
            ("user_id", "u-1"): "prf_1",
            ("anonymous_id", "a-1"): "prf_2",
            ("user_id", "u-3"): "prf_3",
            ("user_id", "u-4"): "prf_4",
        },
        limited={},
    )
    sights = planner.sightings(inp)
    assert set(sights.keys) == set(known.profiles)
    linking = planner.link(inp, sights, known, limits=DEFAULT_LIMITS)
    # merging (1, 2) and receiving traits (3); a group call's traits are the group's (4 not)
    assert linking.held == {"prf_1", "prf_2", "prf_3"}
    assert linking.new_profiles == 0


# -- suppressed identifiers ---------------------------------------------------------------------


def test_events_naming_an_erased_identifier_are_dropped_and_counted_per_identifier() -> None:
    inp = batch(
        [unit("u-gone", "a-1", seqs=(1, 2, 3)), unit("u-2", seqs=(4, 5)), unit("u-3", seqs=(6,))],
        [
            doc(1, user="u-gone", anon="a-1", traits={"email": "gone@example.com"}),
            doc(4, user="u-2", traits={"email": "gone@example.com"}),
            doc(6, user="u-3", traits={"plan": "basic"}),
        ],
    )
    hashed = planner.suppression_hashes(inp)
    assert hashed[("user_id", "u-gone")] == ("user_id", value_hash("user_id", "u-gone"))
    gone_user = hashed[("user_id", "u-gone")]
    gone_mail = hashed[("email", "gone@example.com")]
    drops = planner.plan_drops(inp, hashed, {gone_user, gone_mail})
    # the erased user's unit goes whole; the other user's document naming the erased e-mail
    # goes alone (the rest of u-2's events stay); u-3 is untouched
    assert [u.user_id for u in drops.units] == ["u-gone"]
    assert drops.seqs == [4]
    assert drops.counts == {gone_user: 3, gone_mail: 2}


def test_nothing_is_dropped_when_no_identifier_is_suppressed() -> None:
    inp = batch([unit("u-1", seqs=(1,))], [doc(1, user="u-1", traits={"a": 1})])
    drops = planner.plan_drops(inp, planner.suppression_hashes(inp), set())
    assert drops.units == [] and drops.seqs == [] and drops.counts == {}


# -- traits and activity ------------------------------------------------------------------------


def test_traits_apply_by_recency_not_by_arrival_and_history_keeps_each_change() -> None:
    inp = batch(
        [unit("u-1", seqs=(1, 2, 3, 4))],
        [
            doc(1, user="u-1", at=T0 + timedelta(hours=2), traits={"plan": "premium"}),
            doc(2, user="u-1", at=T0, traits={"plan": "basic", "name": "Ada"}),
            doc(3, user="u-1", kind="track", context_traits={"company": "ACME"}),
            doc(4, user="u-1", kind="group", traits={"plan": "team"}),
        ],
    )
    result = plan(inp)
    (new,) = result.profiles.new
    assert new.traits == {"plan": "premium", "name": "Ada", "company": "ACME"}
    changes = [(h.trait, h.value, h.source) for h in result.traits.history]
    # oldest first: the later "premium" arrived first but applies last
    assert changes == [
        ("plan", "basic", "event:2"),
        ("name", "Ada", "event:2"),
        ("company", "ACME", "event:3"),
        ("plan", "premium", "event:1"),
    ]
    assert {h.profile_id for h in result.traits.history} == {new.id}


def test_an_identify_timezone_trait_sets_the_profile_timezone_unless_the_context_has_one() -> None:
    inp = batch(
        [unit("u-1", seqs=(1,)), unit("u-2", seqs=(2,))],
        [
            doc(1, user="u-1", traits={"timezone": "Europe/Berlin"}),
            doc(2, user="u-2", traits={"timezone": "Europe/Paris"}, timezone="Asia/Tokyo"),
        ],
    )
    by_id = {s.id: s for s in plan(inp).profiles.new}
    assert by_id["prf_new000"].timezone == "Europe/Berlin"
    assert by_id["prf_new001"].timezone is None  # the context's zone comes with the activity


def test_activity_is_folded_into_held_profiles_and_left_to_sql_for_the_others() -> None:
    later = T0 + timedelta(days=1)
    inp = batch(
        [
            unit("u-1", seqs=(1, 2), first=T0, orders=1, revenue=9.99, locale="de-DE"),
            unit(None, "a-1", seqs=(3,), first=later, channel="email", timezone="Europe/Rome"),
            unit("u-1", "a-1", seqs=(4,), first=T0 - timedelta(days=1)),
            unit("u-7", seqs=(5, 6, 7), first=T0, last=later, orders=2, revenue=20.0),
        ]
    )
    result = plan(
        inp,
        known={("user_id", "u-7"): "prf_7"},
        sources={"src_web": "Website"},
    )
    (new,) = result.profiles.new
    assert new.computed == {
        "event_count": 4,
        "order_count": 1,
        "revenue": 9.99,
        "last_channel": "email",
    }
    assert (new.first_seen_at, new.last_seen_at) == (T0 - timedelta(days=1), later)
    assert (new.locale, new.timezone) == ("de-DE", "Europe/Rome")
    # u-7's profile is not held (no merge, no traits): its activity goes to the set-based update
    activity = result.profiles.activity
    assert activity.profile_ids == ["prf_7"]
    assert (activity.events, activity.orders, activity.revenue) == ([3], [2], [20.0])
    assert (activity.first_ts, activity.last_ts) == ([T0], [later])
    assert activity.channels == ["Website"]  # no channel of its own: its source's name
    assert activity.locale_ts == [None] and activity.timezone_ts == [None]
    assert result.profiles.changed == []


# -- the staged planner equals the plan at once; passes compose ----------------------------------


@dataclass
class Store:
    """What a writer would leave behind, in memory: the graph, profiles and merges."""

    identities: dict[Identifier, str] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)
    merged_into: dict[str, str] = field(default_factory=dict)

    def live(self, pid: str) -> str:
        while pid in self.merged_into:
            pid = self.merged_into[pid]
        return pid

    def apply(self, inp: PassInput, now: datetime, ids: Iterator[str]) -> list[str]:
        keys = {i for ids_ in (*inp.unit_ids, *inp.doc_ids) for i in ids_}
        known = {k: self.identities[k] for k in keys if k in self.identities}
        held = {pid for pid in known.values()}
        limited: dict[str, dict[str, set[str]]] = {}
        for (kind, value), pid in self.identities.items():
            if pid in held and kind == "user_id":
                limited.setdefault(pid, {}).setdefault(kind, set()).add(value)
        result = planner.plan_pass(
            inp,
            KnownGraph(profiles=known, limited=limited),
            {
                pid: ProfileState(id=pid, workspace_id="ws", created_at=self.created[pid])
                for pid in held
            },
            limits=DEFAULT_LIMITS,
            sources={},
            new_profile_ids=ids,
            now=now,
        )
        plan_ = result.identities
        for pid in plan_.new_profiles:
            self.created[pid] = now
        self.identities.update(plan_.new_identities)
        for merged, survivor in plan_.moves.items():
            self.merged_into[merged] = survivor
            for key, pid in self.identities.items():
                if pid == merged:
                    self.identities[key] = survivor
        return plan_.unit_profiles


def messages(rng: random.Random, people: int, count: int) -> list[ResolveUnit]:
    """Units of ``people`` people, each message naming some of its person's own identifiers
    (a user id, two devices): people never share an identifier."""
    out = []
    for seq in range(1, count + 1):
        p = rng.randrange(people)
        user = f"u-{p}" if rng.random() < 0.5 else None
        anon = f"a-{p}-{rng.randrange(2)}" if user is None or rng.random() < 0.5 else None
        out.append(unit(user, anon, seqs=(seq,)))
    return out


def partition(units: Sequence[ResolveUnit], profiles: Sequence[str]) -> set[frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for u, pid in zip(units, profiles, strict=True):
        groups.setdefault(pid, set()).add(u.first_seq)
    return {frozenset(g) for g in groups.values()}


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=60))
def test_a_backlog_resolved_in_one_pass_or_two_groups_the_same_messages(
    seed: int, cut: int
) -> None:
    rng = random.Random(seed)
    units = messages(rng, people=6, count=60)
    one = Store()
    at_once = one.apply(batch(units), NOW, fresh_ids("p1_"))
    two = Store()
    first = two.apply(batch(units[:cut]), NOW, fresh_ids("p2a_"))
    second = two.apply(batch(units[cut:]), NOW + timedelta(hours=1), fresh_ids("p2b_"))
    in_two = [two.live(pid) for pid in first + second]
    assert partition(units, at_once) == partition(units, in_two)
    # and no profile ever holds two people's messages
    for group in partition(units, at_once):
        people = {
            (u.user_id or u.anonymous_id or "").split("-")[1] for u in units if u.first_seq in group
        }
        assert len(people) == 1


def test_the_staged_planner_plans_what_plan_pass_plans() -> None:
    rng = random.Random(5)
    units = messages(rng, people=20, count=200)
    docs = [
        doc(u.first_seq, user=u.user_id, anon=u.anonymous_id, traits={"n": n})
        for n, u in enumerate(units[::7])
    ]
    inp = batch(units, docs)
    known = KnownGraph(
        profiles={
            ("user_id", "u-1"): "prf_k1",
            ("user_id", "u-2"): "prf_k2",
            ("anonymous_id", "a-1-0"): "prf_k3",
        },
        limited={"prf_k1": {"user_id": {"u-1"}}, "prf_k2": {"user_id": {"u-2"}}},
    )

    def states() -> dict[str, ProfileState]:
        return {
            p: state(p, created=T0 + timedelta(minutes=n))
            for n, p in enumerate(["prf_k1", "prf_k2", "prf_k3"])
        }

    whole = planner.plan_pass(
        inp,
        known,
        states(),
        limits=DEFAULT_LIMITS,
        sources={},
        new_profile_ids=fresh_ids(),
        now=NOW,
    )
    sights = planner.sightings(inp)
    linking = planner.link(inp, sights, known, limits=DEFAULT_LIMITS)
    held = {p: s for p, s in states().items() if p in linking.held}
    identities = planner.plan_identities(
        inp,
        sights,
        linking,
        known,
        ages={p: s.created_at for p, s in held.items()},
        new_profile_ids=fresh_ids(),
    )
    traits = planner.plan_traits(inp, identities, held, now=NOW)
    profiles_ = planner.plan_profiles(inp, identities, held, sources={})
    assert identities == whole.identities
    assert traits == whole.traits
    assert profiles_ == whole.profiles
    assert [m.merged_id for m in identities.merges] == ["prf_k3"]
