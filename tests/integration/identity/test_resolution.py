from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, inspect, select

from partitur.context import Context
from partitur.events.tables import events
from partitur.identity import service as identity
from partitur.identity.loops import IdentityResolver
from partitur.identity.tables import identities, identity_merges
from partitur.privacy.service import subject_history
from partitur.profiles import service as profiles
from partitur.storage import bulk as scratch
from tests.conftest import START
from tests.integration.identity.conftest import Timeline
from tests.support.events import insert_events, message


def _profile_ids(ctx: Context) -> dict[int, str | None]:
    with ctx.store.read() as conn:
        return {r[0]: r[1] for r in conn.execute(select(events.c.seq, events.c.profile_id))}


def test_anonymous_visitor_who_identifies_is_merged_with_the_known_customer(
    ctx: Context, timeline: Timeline
) -> None:
    known = timeline.add(
        message(
            "identify",
            at=START - timedelta(days=3),
            user_id="u-1",
            traits={"email": "Ada@Example.com", "plan": "basic", "name": "Ada"},
        )
    )
    timeline.resolve()
    ctx.clock.advance(timedelta(hours=1))
    visits = timeline.add(
        message("page", at=START, anonymous_id="anon-1", context={"locale": "de-DE"}),
        message("track", at=START + timedelta(minutes=1), anonymous_id="anon-1", event="Viewed"),
    )
    timeline.resolve()
    with ctx.store.read() as conn:
        older = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-1"
        )
        anon = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="anonymous_id", value="anon-1"
        )
    assert older.id != anon.id

    ctx.clock.advance(timedelta(hours=1))
    link = timeline.add(
        message(
            "identify",
            at=START + timedelta(minutes=5),
            user_id="u-1",
            anonymous_id="anon-1",
            traits={"plan": "premium"},
            context={"timezone": "Europe/Berlin"},
        )
    )
    timeline.resolve()

    owners = _profile_ids(ctx)
    with ctx.store.read() as conn:
        merged = profiles.get_profile(conn, profile_id=anon.id)
        survivor = profiles.get_profile(conn, profile_id=older.id)
        rows = conn.execute(select(identity_merges)).mappings().all()
        audit = subject_history(
            conn, workspace_id=ctx.workspace_id, subject_type="profile", subject_id=survivor.id
        )
    # the survivor is the older profile; the merged id redirects to it
    assert merged.id == survivor.id == older.id
    assert merged.requested_id == anon.id
    assert survivor.merged_from == [anon.id]
    assert {owners[s] for s in visits + known + link} == {older.id}
    assert survivor.traits == {"email": "Ada@Example.com", "plan": "premium", "name": "Ada"}
    assert survivor.identities == {
        "anonymous_id": ["anon-1"],
        "email": ["ada@example.com"],
        "user_id": ["u-1"],
    }
    assert survivor.computed["event_count"] == 4
    assert survivor.timezone == "Europe/Berlin"
    assert survivor.locale == "de-DE"
    assert [(r["survivor_id"], r["merged_id"], r["event_seq"]) for r in rows] == [
        (older.id, anon.id, link[0])
    ]
    assert [a.action for a in audit] == ["profile.merge"]
    with ctx.store.read() as conn:
        assert identity.resolved_position(conn) == link[0]


def test_blocked_values_never_link_two_people(ctx: Context, timeline: Timeline) -> None:
    timeline.add(
        message(
            "identify", at=START, user_id="u-a", anonymous_id="00000000", traits={"email": "a@x.io"}
        ),
        message(
            "identify", at=START, user_id="u-b", anonymous_id="00000000", traits={"email": "null"}
        ),
        message("track", at=START, user_id="u-c", anonymous_id="undefined", event="Tick"),
        message("track", at=START, user_id="u-d", anonymous_id="Undefined", event="Tick"),
        message("track", at=START, user_id="u-e", anonymous_id="--", event="Tick"),
    )
    timeline.resolve()
    with ctx.store.read() as conn:
        found = [
            profiles.find_profile(conn, workspace_id=ctx.workspace_id, kind="user_id", value=u)
            for u in ("u-a", "u-b", "u-c", "u-d", "u-e")
        ]
    assert len({p.id for p in found}) == 5
    assert all("anonymous_id" not in p.identities for p in found)
    assert found[0].identities == {"user_id": ["u-a"], "email": ["a@x.io"]}


def test_a_second_user_id_starts_a_new_profile_instead_of_merging(
    ctx: Context, timeline: Timeline
) -> None:
    first = timeline.add(message("identify", at=START, user_id="u-1", anonymous_id="shared-device"))
    timeline.resolve()
    second = timeline.add(
        message(
            "identify", at=START + timedelta(hours=1), user_id="u-2", anonymous_id="shared-device"
        ),
        message("track", at=START + timedelta(hours=2), anonymous_id="shared-device", event="Tap"),
    )
    timeline.resolve()
    owners = _profile_ids(ctx)
    with ctx.store.read() as conn:
        one = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-1"
        )
        two = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-2"
        )
        merges = conn.execute(select(identity_merges)).all()
    assert one.id != two.id
    assert merges == []
    # the anonymous id stays where it was; the identify message goes to its user_id's profile
    assert one.identities == {"user_id": ["u-1"], "anonymous_id": ["shared-device"]}
    assert two.identities == {"user_id": ["u-2"]}
    assert owners[first[0]] == one.id
    assert owners[second[0]] == two.id
    assert owners[second[1]] == one.id


def test_email_and_external_ids_link_and_alias_joins_previous_id(
    ctx: Context, timeline: Timeline
) -> None:
    timeline.add(
        message("identify", at=START, user_id="u-1", traits={"email": " Bob@Shop.DE "}),
        message(
            "track",
            at=START,
            anonymous_id="a-9",
            event="Order Completed",
            properties={"revenue": 30.5},
            context={"traits": {"email": "bob@shop.de"}, "channel": "browser"},
        ),
        message(
            "track",
            at=START + timedelta(minutes=1),
            anonymous_id="a-10",
            event="Order Completed",
            properties={"total": "12.25"},
            context={"externalIds": [{"id": "C-77", "type": "crm", "collection": "users"}]},
        ),
        message("alias", at=START, user_id="u-1", extra={"previousId": "a-10"}),
        message("identify", at=START, user_id="u-2", traits={"crm_id": "C-77"}),
    )
    timeline.resolve()
    with ctx.store.read() as conn:
        bob = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="email", value="BOB@shop.de"
        )
        other = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-2"
        )
    assert bob.identities["anonymous_id"] == ["a-10", "a-9"]
    # C-77 came with a-10, which the alias joined to u-1; u-2's claim on it is refused
    assert bob.identities["external:crm"] == ["C-77"]
    assert "external:crm" not in other.identities
    assert bob.computed["order_count"] == 2
    assert bob.computed["revenue"] == 42.75
    assert bob.computed["event_count"] == 4


def test_concurrent_ingestion_loses_no_events_and_keeps_one_profile_per_user(
    ctx: Context, timeline: Timeline
) -> None:
    import threading

    users = [f"u-{i}" for i in range(8)]
    stop = threading.Event()
    written: list[int] = []
    lock = threading.Lock()

    def ingest(worker: int) -> None:
        for round_ in range(15):
            batch = [
                message(
                    "identify" if round_ % 3 == 0 else "track",
                    at=START + timedelta(seconds=round_),
                    user_id=u if (round_ + worker) % 2 else None,
                    anonymous_id=f"anon-{u}-{worker}",
                    event=None if round_ % 3 == 0 else "Tick",
                )
                for u in users
            ]
            seqs = timeline.add(*batch)
            with lock:
                written.extend(seqs)

    def resolve_loop() -> None:
        while not stop.is_set():
            timeline.resolver.run_once(ctx.clock.now())

    resolvers = [threading.Thread(target=resolve_loop) for _ in range(2)]
    writers = [threading.Thread(target=ingest, args=(w,)) for w in range(3)]
    for t in resolvers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in resolvers:
        t.join()
    timeline.resolve()

    owners = _profile_ids(ctx)
    assert len(written) == 3 * 15 * 8
    assert all(owners[s] is not None for s in written)
    with ctx.store.read() as conn:
        ids = conn.execute(
            select(identities.c.value, identities.c.profile_id).where(
                identities.c.kind == "user_id"
            )
        ).all()
        live = {
            p.id
            for p in (
                profiles.find_profile(conn, workspace_id=ctx.workspace_id, kind="user_id", value=u)
                for u in users
            )
        }
        assert identity.resolved_position(conn) == max(written)
    assert sorted(v for v, _ in ids) == sorted(users)
    assert len(live) == len(users)
    # every event of a user's anonymous ids ends on that user's one profile
    assert {owners[s] for s in written} == live


def test_a_delivery_event_naming_its_recipient_profile_lands_on_that_profile(
    ctx: Context, timeline: Timeline
) -> None:
    timeline.add(message("identify", at=START, user_id="u-7", traits={"email": "b@example.com"}))
    timeline.resolve()
    with ctx.store.read() as conn:
        customer = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-7"
        )
    # the channels' delivery events carry "profile:<id>" when the profile has no user id trait
    (queued,) = timeline.add(
        message(
            "track",
            at=START + timedelta(minutes=1),
            anonymous_id=f"profile:{customer.id}",
            event="message.queued",
        )
    )
    (stray,) = timeline.add(
        message(
            "track", at=START + timedelta(minutes=2), anonymous_id="profile:prf_gone", event="x"
        )
    )
    timeline.resolve()
    ids = _profile_ids(ctx)
    assert ids[queued] == customer.id
    assert ids[stray] not in (None, customer.id)  # an unknown profile id is just anonymous


def test_later_events_update_activity_locale_and_timezone_by_recency(
    ctx: Context, timeline: Timeline
) -> None:
    """Events without traits of a known person (summed up per user in SQL): counts add up, the
    latest locale, timezone and channel win, and an older event arriving late changes none."""
    timeline.add(message("identify", at=START, user_id="u-7", traits={"name": "Grace"}))
    timeline.resolve()
    timeline.add(
        message(
            "track",
            at=START + timedelta(hours=2),
            user_id="u-7",
            event="Order Completed",
            properties={"revenue": 20.5},
            context={"locale": "fr-FR", "timezone": "Europe/Paris", "channel": "web"},
        ),
        message(
            "page",
            at=START + timedelta(hours=1),
            user_id="u-7",
            context={"locale": "it-IT", "timezone": "  ", "channel": "app"},
        ),
    )
    timeline.resolve()
    timeline.add(
        message(
            "track",
            at=START + timedelta(minutes=30),
            user_id="u-7",
            event="Order Completed",
            properties={"total": "4.5"},
            context={"locale": "es-ES", "timezone": "Europe/Madrid", "channel": "crm"},
        )
    )
    timeline.resolve()
    with ctx.store.read() as conn:
        found = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value="u-7"
        )
    assert found.locale == "fr-FR"
    assert found.timezone == "Europe/Paris"
    assert found.computed["event_count"] == 4
    assert found.computed["order_count"] == 2
    assert found.computed["revenue"] == 25.0
    assert found.computed["last_channel"] == "web"
    assert found.traits == {"name": "Grace"}
    assert _profile_ids(ctx) and set(_profile_ids(ctx).values()) == {found.id}


def test_a_pass_over_a_backlog_rebuilds_the_timeline_and_profile_indexes(
    ctx: Context, timeline: Timeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog (a bulk import) is resolved with the indexes of what it adds (identities,
    profiles) or changes (the timeline) dropped and built again afterwards (SQLite); the
    timelines, identities and profiles read the same, through the indexes."""
    monkeypatch.setattr(scratch, "REBUILD_MIN_ROWS", 10)
    statements: list[str] = []
    listen = (ctx.store.engine, "before_cursor_execute")

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(*listen, seen)
    timeline.add(
        *(
            message("track", at=START + timedelta(minutes=n), user_id=f"u-{n % 12}", event="x")
            for n in range(36)
        )
    )
    timeline.resolve()
    event.remove(*listen, seen)
    with ctx.store.read() as conn:
        owners = {
            n: profiles.find_profile(
                conn, workspace_id=ctx.workspace_id, kind="user_id", value=f"u-{n}"
            )
            for n in range(12)
        }
        _, page = profiles.list_events(
            conn, workspace_id=ctx.workspace_id, profile_id=owners[1].id, limit=2
        )
        indexes = {
            i["name"]
            for table in ("events", "profiles", "identities")
            for i in inspect(conn).get_indexes(table)
        }
        by_profile = conn.execute(
            select(identities.c.value).where(identities.c.profile_id == owners[5].id)
        ).all()
    assert [e.timestamp for e in page] == [START + timedelta(minutes=n) for n in (25, 13)]
    assert owners[1].last_seen_at == START + timedelta(minutes=25)
    assert by_profile == [("u-5",)]
    assert {
        "ix_events_profile_time",
        "ix_profiles_ws_seen",
        "ix_profiles_merged_into",
        "ix_identities_profile",
    } <= indexes
    assert set(_profile_ids(ctx).values()) == {p.id for p in owners.values()}
    rebuilt = [s.split()[:3] for s in statements if s.split()[1:2] == ["INDEX"]]
    if ctx.store.dialect == "sqlite":
        # each dropped once, then built once
        names = ["ix_identities_profile", "ix_events_profile_time"]
        names += ["ix_profiles_merged_into", "ix_profiles_ws_seen"]
        for name in names:
            mine = [n for n, (_, _, index) in enumerate(rebuilt) if index.strip('"') == name]
            assert [rebuilt[n][0] for n in mine] == ["DROP", "CREATE"]
        assert len(rebuilt) == 2 * len(names)
    else:
        assert rebuilt == []  # PostgreSQL would lock the tables for readers


def test_a_pass_over_interleaved_workspaces_assigns_each_event_to_its_own_profile(
    ctx: Context, timeline: Timeline
) -> None:
    # this workspace's events lie far apart, another's fill the seqs between: the other's are
    # assigned as one dense run, this one's unit by unit
    first = timeline.add(message("track", at=START, user_id="u-1", event="Viewed"))
    with ctx.store.begin() as conn:
        others = insert_events(
            conn,
            "ws_other",
            [
                message("track", at=START, user_id=f"o-{i % 300}", event="Viewed")
                for i in range(1_500)
            ],
        )
    later = timeline.add(
        message("track", at=START, user_id="u-1", event="Bought"),
        message("identify", at=START, user_id="u-2", traits={"plan": "basic"}),
    )
    assert IdentityResolver(ctx).run_until_idle() == 1_503

    owners = _profile_ids(ctx)
    with ctx.store.read() as conn:
        mine = {
            user: profiles.find_profile(
                conn, workspace_id=ctx.workspace_id, kind="user_id", value=user
            ).id
            for user in ("u-1", "u-2")
        }
        theirs = {
            i: profiles.find_profile(
                conn, workspace_id="ws_other", kind="user_id", value=f"o-{i}"
            ).id
            for i in range(300)
        }
    assert [owners[s] for s in first + later] == [mine["u-1"], mine["u-1"], mine["u-2"]]
    assert [owners[s] for s in others] == [theirs[i % 300] for i in range(1_500)]
    assert len(set(theirs.values()) | set(mine.values())) == 302
