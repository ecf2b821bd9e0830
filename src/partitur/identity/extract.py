"""Identifiers of a message: which values name the person, normalised, with blocked values out.

Pure functions (no I/O). Kinds: ``user_id``, ``anonymous_id``, ``email``, ``phone`` and
``external:<type>`` (from ``context.externalIds`` and the configured trait names).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: The order in which an identifier decides which profile a message belongs to (its anchor).
ANCHOR_ORDER = ("user_id", "anonymous_id", "external", "email", "phone")

_ZEROS_DASHES = re.compile(r"^[0\-\s]+$")
_PHONE_JUNK = re.compile(r"[\s().\-/]")


class Blocklist:
    """Values that never link identities (case-insensitive), plus strings of only zeros/dashes."""

    def __init__(self, values: Iterable[str]) -> None:
        self._values = frozenset(v.strip().lower() for v in values)

    def blocks(self, value: str) -> bool:
        text = value.strip().lower()
        if not text or text in self._values:
            return True
        # only zeros and dashes: the first character (after the strip) tells most apart
        return text[0] in "0-" and bool(_ZEROS_DASHES.match(text))


def normalise_email(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if "@" not in text or text.startswith("@") or text.endswith("@"):
        return None
    return text


def normalise_phone(value: Any) -> str | None:
    """E.164-ish: keep a leading ``+`` and the digits; ``00`` becomes ``+``; < 6 digits is none."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = _PHONE_JUNK.sub("", str(value).strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit() or len(digits) < 6:
        return None
    return ("+" if plus else "") + digits


def normalise_id(value: Any) -> str | None:
    """user ids, anonymous ids and external ids are case-sensitive; only trimmed."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text[:255] or None


def value_hash(kind: str, value: str) -> str:
    """What the suppression list keeps of an erased identifier (never the value itself)."""
    return hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()


Identifier = tuple[str, str]


def extract_identifiers(
    *,
    user_id: Any,
    anonymous_id: Any,
    traits: Mapping[str, Any] | None,
    context_traits: Mapping[str, Any] | None,
    external_ids: Any,
    previous_id: Any,
    external_id_traits: Iterable[str],
    blocklist: Blocklist,
) -> tuple[Identifier, ...]:
    """The identifiers of one message, anchor first (see ``ANCHOR_ORDER``), without duplicates.

    ``previous_id`` (alias messages) is the earlier id of the same person: a ``user_id`` when it
    looks like one already known is impossible to tell here, so it is linked as an
    ``anonymous_id`` (what Segment's ``alias`` is used for: anonymous -> known).
    """
    found: list[Identifier] = []

    def add(kind: str, value: str | None) -> None:
        if value is not None and not blocklist.blocks(value) and (kind, value) not in found:
            found.append((kind, value))

    add("user_id", normalise_id(user_id))
    add("anonymous_id", normalise_id(anonymous_id))
    add("anonymous_id", normalise_id(previous_id))
    if isinstance(external_ids, list):
        for entry in external_ids:
            if isinstance(entry, Mapping):
                kind = normalise_id(entry.get("type"))
                if kind:
                    add(f"external:{kind.lower()}", normalise_id(entry.get("id")))
    # most messages carry no traits: skip the (slow) Mapping checks for them
    if traits is None and context_traits is None:
        return tuple(found)
    sources = [s for s in (traits, context_traits) if isinstance(s, Mapping)]
    for source in sources:
        for name in external_id_traits:
            if name in source:
                add(f"external:{name.lower()}", normalise_id(source.get(name)))
    for source in sources:
        add("email", normalise_email(source.get("email")))
    for source in sources:
        add("phone", normalise_phone(source.get("phone")))
    return tuple(found)


def key_identifiers(
    user_id: Any, anonymous_id: Any, blocklist: Blocklist
) -> tuple[Identifier, ...]:
    """The identifiers of a message that carries nothing but its ``user_id`` and
    ``anonymous_id``: what ``extract_identifiers`` gives for it, without its general
    machinery (identity resolution asks this for every (user_id, anonymous_id) of a batch)."""
    user = normalise_id(user_id)
    if user is not None and blocklist.blocks(user):
        user = None
    anonymous = normalise_id(anonymous_id)
    if anonymous is not None and blocklist.blocks(anonymous):
        anonymous = None
    if user is None:
        return () if anonymous is None else (("anonymous_id", anonymous),)
    if anonymous is None:
        return (("user_id", user),)
    return (("user_id", user), ("anonymous_id", anonymous))


def limit_for(kind: str, limits: Mapping[str, int]) -> int | None:
    return limits.get(kind)
