"""What a resolution pass reads: the pass's units and identity documents with their
identifiers (``read_pass``), then the graph around them (``known_graph``).

Reads only; the planner (``identity.planner``) decides and the writer (``identity.writer``)
writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection

from partitur.events import resolution as event_log
from partitur.events.contracts import PROFILE_ANONYMOUS_PREFIX
from partitur.identity import repository as repo
from partitur.identity.extract import (
    Blocklist,
    Identifier,
    extract_identifiers,
    key_identifiers,
)
from partitur.identity.planner import KnownGraph, PassInput


class IdentifierRules:
    """How the identifiers of units and documents are told: the blocked values and the traits
    that hold external ids."""

    def __init__(self, *, blocked_values: Iterable[str], external_id_traits: Iterable[str]):
        self.blocklist = Blocklist(blocked_values)
        self.ext_traits = list(external_id_traits)

    def of_key(self, user_id: Any, anonymous_id: Any) -> tuple[Identifier, ...]:
        return key_identifiers(user_id, anonymous_id, self.blocklist)

    def of_doc(self, doc: event_log.IdentityDoc) -> tuple[Identifier, ...]:
        return extract_identifiers(
            user_id=doc.user_id,
            anonymous_id=doc.anonymous_id,
            traits=doc.traits if isinstance(doc.traits, dict) else None,
            context_traits=doc.context_traits if isinstance(doc.context_traits, dict) else None,
            external_ids=doc.external_ids,
            previous_id=doc.previous_id,
            external_id_traits=self.ext_traits,
            blocklist=self.blocklist,
        )


def read_pass(
    conn: Connection, *, after: int, upto: int, rules: IdentifierRules
) -> dict[str, PassInput]:
    """The units and identity documents (with their identifiers) of ``after < seq <= upto``,
    by workspace. A (user_id, anonymous_id) whose values are all blocked names nobody: its
    events are read again one by one (each may belong to someone else)."""
    if conn.dialect.name == "sqlite":
        # the write lock is held, so nothing commits between the reads: the documents first,
        # then the units' GROUP BY (seconds for a backlog; SQLite runs it without the GIL) on
        # a thread of its own while this one extracts the documents' identifiers
        docs = event_log.identity_documents(conn, after=after, upto=upto)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="partitur-read") as pool:
            pending = pool.submit(event_log.resolve_units, conn, after=after, upto=upto)
            doc_ids = [rules.of_doc(d) for d in docs]
            units = pending.result()
    else:
        units = event_log.resolve_units(conn, after=after, upto=upto)
        docs = event_log.identity_documents(conn, after=after, upto=upto)
        # PostgreSQL reads each statement from a fresh snapshot: an event committed between
        # the two reads waits for the next pass
        seen = {seq for unit in units for seq in event_log.seqs_of(unit)}
        docs = [doc for doc in docs if doc.seq in seen]
        doc_ids = [rules.of_doc(d) for d in docs]
    by_workspace: dict[str, tuple[list[event_log.ResolveUnit], list[Any], list[Any]]] = {}
    for unit in units:
        if unit.workspace_id not in by_workspace:
            by_workspace[unit.workspace_id] = ([], [], [])
        by_workspace[unit.workspace_id][0].append(unit)
    for doc, ids in zip(docs, doc_ids, strict=True):
        _, ws_docs, ws_doc_ids = by_workspace[doc.workspace_id]
        ws_docs.append(doc)
        ws_doc_ids.append(ids)
    del units, docs, doc_ids
    work: dict[str, PassInput] = {}
    for workspace_id in list(by_workspace):
        ws_units, ws_docs, ws_doc_ids = by_workspace.pop(workspace_id)
        ws_units, unit_ids = _key_identifiers(conn, workspace_id, ws_units, after, upto, rules)
        work[workspace_id] = PassInput(workspace_id, ws_units, unit_ids, ws_docs, ws_doc_ids)
    return work


def _key_identifiers(
    conn: Connection,
    workspace_id: str,
    units: list[event_log.ResolveUnit],
    after: int,
    upto: int,
    rules: IdentifierRules,
) -> tuple[list[event_log.ResolveUnit], list[tuple[Identifier, ...]]]:
    """The units with their identifiers (user_id and anonymous_id); where those name nobody
    (blocked values), the unit's events come back one by one."""
    key_ids = [rules.of_key(u.user_id, u.anonymous_id) for u in units]
    blocked = [
        (workspace_id, u.user_id or "", u.anonymous_id or "")
        for u, ids in zip(units, key_ids, strict=True)
        if not ids and not u.per_event
    ]
    if not blocked:
        return units, key_ids
    units = [u for u, ids in zip(units, key_ids, strict=True) if ids or u.per_event]
    units += event_log.resolve_units(conn, after=after, upto=upto, per_event_keys=blocked)
    return units, [rules.of_key(u.user_id, u.anonymous_id) for u in units]


def known_graph(
    conn: Connection, *, workspace_id: str, keys: list[Identifier], limits: Mapping[str, int]
) -> KnownGraph:
    """The graph around ``keys``: which belong to existing profiles (an ``anonymous_id``
    ``profile:<id>`` of a live profile is that profile's), and the limited kinds' values
    those profiles hold. Leaves ``keys`` staged for ``repository.touch_identities``."""
    existing = repo.existing_identities(conn, workspace_id=workspace_id, keys=keys)
    existing.update(_platform_profiles(conn, workspace_id, [k for k in keys if k not in existing]))
    limited = repo.limited_values(conn, profile_ids=set(existing.values()), kinds=limits)
    return KnownGraph(profiles=existing, limited=limited)


def _platform_profiles(
    conn: Connection, workspace_id: str, keys: list[Identifier]
) -> dict[Identifier, str]:
    """``anonymous_id`` ``profile:<id>`` of a live profile belongs to that profile (so a
    delivery event lands on its recipient instead of starting an anonymous profile)."""
    named = {
        key: key[1].removeprefix(PROFILE_ANONYMOUS_PREFIX)
        for key in keys
        if key[0] == "anonymous_id" and key[1].startswith(PROFILE_ANONYMOUS_PREFIX)
    }
    if not named:
        return {}
    live = repo.profiles_with_identities(
        conn, workspace_id=workspace_id, profile_ids=list(named.values())
    )
    return {key: pid for key, pid in named.items() if pid in live}
