"""Union-find over identifier tuples with per-kind limits: the pure heart of identity resolution.

Rules (see docs/identity-and-profiles.md):

* Each message's identifiers are linked to its *anchor* (the first identifier, in the order
  user_id, anonymous_id, external ids, email, phone).
* A link that would give one profile more values of a limited kind than allowed (default: more
  than one ``user_id``) is refused: the identifier stays where it was and the message belongs to
  its anchor's profile.
* When a link joins two existing profiles they are merged; the survivor is the oldest profile
  (on a tie, one holding a limited identifier such as a userId, then the smallest id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from partitur.identity.extract import Identifier

DEFAULT_LIMITS: dict[str, int] = {"user_id": 1}

Node = tuple[str, str]  # an Identifier, or ("@profile", id) for an existing profile


@dataclass(slots=True)
class _Component:
    limited: dict[str, set[str]] = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)
    #: (seq, anchor kind, other kind) of the first link that joined profiles
    links: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Merge:
    survivor_id: str
    merged_id: str
    event_seq: int | None
    reason: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Links:
    """The union-find's answer, before survivors are chosen: ``owner`` maps each identifier to
    a component key; ``profiles`` gives the existing profiles of each component (distinct, in
    the order met; none for a component that needs a new profile); ``first_link`` the first
    link that joined two of them (seq, anchor kind, other kind), for components that hold
    more than one; ``refused`` counts the links the limits refused."""

    owner: dict[Identifier, int]
    profiles: dict[int, tuple[str, ...]]
    first_link: dict[int, tuple[int, str, str]]
    refused: int

    def merging(self) -> set[str]:
        """The existing profiles about to merge (whose ages pick the survivors)."""
        return {p for held in self.profiles.values() if len(held) > 1 for p in held}


@dataclass
class Resolution:
    """Where every identifier of the batch belongs.

    ``owner`` maps each identifier to a component key; ``profile_of_component`` gives the
    existing survivor profile of a component or ``None`` for a component that needs a new
    profile. ``merges`` lists existing profiles to fold into a survivor. ``refused`` counts links
    the limits refused.
    """

    owner: dict[Identifier, int]
    profile_of_component: dict[int, str | None]
    merges: list[Merge]
    refused: int

    def profile_for(self, identifier: Identifier) -> tuple[int, str | None]:
        comp = self.owner[identifier]
        return comp, self.profile_of_component[comp]


class _UnionFind:
    def __init__(self, limits: Mapping[str, int]) -> None:
        self.parent: dict[Node, Node] = {}
        self.comp: dict[Node, _Component] = {}
        self.limits = limits

    def find(self, node: Node) -> Node:
        parent = self.parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    def add(self, node: Node, component: _Component | None) -> bool:
        """A new node; ``component`` None for an identifier: it gets one only when a union
        needs it (see ``_lone``), so most identifiers cost no component at all."""
        if node in self.parent:
            return False
        self.parent[node] = node
        if component is not None:
            self.comp[node] = component
        return True

    def _lone(self, root: Node) -> _Component:
        """The component of a lone identifier of a limited kind, made on first need: it
        carries the identifier's own value."""
        made = self.comp[root] = _Component(limited={root[0]: {root[1]}})
        return made

    def fits(self, a: _Component, b: _Component) -> bool:
        for kind, limit in self.limits.items():
            va = a.limited.get(kind)
            vb = b.limited.get(kind)
            if va and vb and len(va | vb) > limit:
                return False
        return True

    def union(self, a: Node, b: Node, *, force: bool = False, link: tuple[int, str, str]) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        comp, limits = self.comp, self.limits
        ca, cb = comp.get(ra), comp.get(rb)
        if cb is None and rb[0] not in limits:  # nothing to carry over, nothing to refuse
            self.parent[rb] = ra
            return True
        if ca is None and ra[0] not in limits:
            self.parent[ra] = rb
            return True
        # both carry something: a component, or (made now) a limited identifier's own value
        ca = ca or self._lone(ra)
        cb = cb or self._lone(rb)
        if not force and not self.fits(ca, cb):
            return False
        if ca.profiles and cb.profiles:
            ca.links.append(link)
        if len(ca.profiles) + len(ca.limited) < len(cb.profiles) + len(cb.limited):
            ra, rb, ca, cb = rb, ra, cb, ca
        self.parent[rb] = ra
        for kind, values in cb.limited.items():
            ca.limited.setdefault(kind, set()).update(values)
        ca.profiles.extend(cb.profiles)
        ca.links.extend(cb.links)
        del comp[rb]
        return True


def link(
    tuples: Iterable[tuple[int, tuple[Identifier, ...]]],
    *,
    existing: Mapping[Identifier, str],
    profile_limited: Mapping[str, Mapping[str, set[str]]],
    limits: Mapping[str, int] = DEFAULT_LIMITS,
) -> Links:
    """Link ``tuples`` (first seq, identifiers anchor first; in seq order) against the
    ``existing`` graph. ``profile_limited`` holds each existing profile's values of limited
    kinds."""
    uf = _UnionFind(limits)
    refused = 0
    known = uf.parent

    def node_for(identifier: Identifier, seq: int) -> Node:
        if identifier in known:
            return identifier
        kind = identifier[0]
        if uf.add(identifier, None):
            profile_id = existing.get(identifier)
            if profile_id is not None:
                pnode: Node = ("@profile", profile_id)
                if uf.add(pnode, _Component(profiles=[profile_id])):
                    comp = uf.comp[pnode]
                    for k, values in profile_limited.get(profile_id, {}).items():
                        comp.limited.setdefault(k, set()).update(values)
                uf.union(pnode, identifier, force=True, link=(seq, kind, kind))
        return identifier

    for seq, identifiers in tuples:
        if not identifiers:
            continue
        anchor = node_for(identifiers[0], seq)
        if len(identifiers) == 1:
            continue
        for other in identifiers[1:]:
            node_for(other, seq)
            if not uf.union(anchor, other, link=(seq, identifiers[0][0], other[0])):
                refused += 1

    owner: dict[Identifier, int] = {}
    keys: dict[Node, int] = {}
    for node in uf.parent:
        if node[0] == "@profile":
            continue
        root = uf.find(node)
        owner[node] = keys.setdefault(root, len(keys))
    profiles: dict[int, tuple[str, ...]] = {}
    first_link: dict[int, tuple[int, str, str]] = {}
    for root, key in keys.items():
        comp = uf.comp.get(root)
        if comp is None or not comp.profiles:
            profiles[key] = ()  # a component that needs a new profile
            continue
        held = profiles[key] = tuple(dict.fromkeys(comp.profiles))
        if len(held) > 1 and comp.links:
            first_link[key] = min(comp.links)
    return Links(owner=owner, profiles=profiles, first_link=first_link, refused=refused)


def settle(
    links: Links,
    *,
    profile_age: Mapping[str, Any],
    profile_limited: Mapping[str, Mapping[str, set[str]]],
) -> Resolution:
    """Choose the survivor of every component that holds several existing profiles:
    ``profile_age`` gives a sort key per such profile (older first)."""
    profile_of: dict[int, str | None] = {}
    merges: list[Merge] = []
    for key, held in links.profiles.items():
        if not held:
            profile_of[key] = None
            continue
        if len(held) == 1:
            profile_of[key] = held[0]
            continue
        # the oldest survives; of profiles as old (made in one pass), one that holds a
        # limited identifier (a known user's), then the smallest id
        ordered = sorted(held, key=lambda p: (profile_age[p], not profile_limited.get(p), p))
        survivor = ordered[0]
        profile_of[key] = survivor
        first = links.first_link.get(key)
        for loser in ordered[1:]:
            merges.append(
                Merge(
                    survivor_id=survivor,
                    merged_id=loser,
                    event_seq=first[0] if first else None,
                    reason={"linked_kinds": sorted({first[1], first[2]})} if first else {},
                )
            )
    return Resolution(
        owner=links.owner, profile_of_component=profile_of, merges=merges, refused=links.refused
    )


def resolve(
    tuples: Sequence[tuple[int, tuple[Identifier, ...]]],
    *,
    existing: Mapping[Identifier, str],
    profile_limited: Mapping[str, Mapping[str, set[str]]],
    profile_age: Mapping[str, Any],
    limits: Mapping[str, int] = DEFAULT_LIMITS,
) -> Resolution:
    """``link`` then ``settle``, for a caller that knows every existing profile's age
    (``profile_age``: a sort key, older first)."""
    links = link(tuples, existing=existing, profile_limited=profile_limited, limits=limits)
    return settle(links, profile_age=profile_age, profile_limited=profile_limited)
