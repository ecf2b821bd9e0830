"""Ingestion: validate Segment messages, quarantine the bad ones, store the good once.

``normalize`` is the specification of what partitur accepts. It is hand-written (no Pydantic per
message) because it sits on the hot path of the HTTP API and of bulk imports. The tracking API,
bulk imports, fan-out and delivery events all come in through ``prepare`` and
``write_prepared``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from partitur.core.errors import ValidationFailed
from partitur.events import repository
from partitur.events.contracts import (
    MAX_MESSAGE_BYTES,
    MESSAGE_TYPES,
    PROFILE_ANONYMOUS_PREFIX,
    IngestResult,
    Rejection,
)

log = logging.getLogger(__name__)

#: Top-level fields that have their own column (everything else goes to ``extra``).
_COLUMN_FIELDS = frozenset(
    {
        "type",
        "messageId",
        "userId",
        "anonymousId",
        "timestamp",
        "originalTimestamp",
        "sentAt",
        "receivedAt",
        "properties",
        "traits",
        "context",
        "writeKey",
    }
)
_TRACK_COLUMN_FIELDS = _COLUMN_FIELDS | {"event"}
_VIEW_COLUMN_FIELDS = _COLUMN_FIELDS | {"name"}
#: Left out of the content hash that stands in for a missing messageId: a retry of the same
#: message differs only in these.
_NOT_HASHED = ("sentAt", "writeKey", "messageId", "receivedAt")
_MAX_ID = 255
_MAX_MESSAGE_ID = 200
_ZERO = timedelta(0)


def _identifier(message: dict[str, Any], key: str, limit: int = _MAX_ID) -> str | None:
    value = message.get(key)
    if value.__class__ is str:  # the common case first (hot path)
        if len(value) > limit:
            raise ValidationFailed(f"{key} is longer than {limit} characters", field=key)
        return value if value and not value.isspace() else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationFailed(f"{key} must be a string", field=key)
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise ValidationFailed(f"{key} is longer than {limit} characters", field=key)
    return text if text.strip() else None


def _time(value: Any, key: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{key} must be an ISO 8601 timestamp", field=key)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{key} is not an ISO 8601 timestamp: {value[:40]!r}", field=key
        ) from None
    zone = moment.tzinfo
    if zone is UTC:  # "...Z" and "+00:00" (hot path)
        return moment
    if zone is None:
        return moment.replace(tzinfo=UTC)
    if moment.utcoffset() != _ZERO:
        return moment.astimezone(UTC)
    return moment if moment.tzinfo is UTC else moment.replace(tzinfo=UTC)


def _document(message: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = message.get(key)
    if value is None or value.__class__ is dict or isinstance(value, dict):
        return value
    raise ValidationFailed(f"{key} must be an object", field=key)


def content_message_id(message: dict[str, Any]) -> str:
    """A stable id for a message without ``messageId``: a hash of its content, so a retried
    message dedupes like one with an id."""
    hashed = {k: v for k, v in message.items() if k not in _NOT_HASHED}
    try:
        content = orjson.dumps(hashed, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        raise ValidationFailed(f"message cannot be serialised: {exc}", field=None) from None
    digest = hashlib.blake2b(content, digest_size=16)
    return "h-" + digest.hexdigest()


def normalize(message: dict[str, Any], *, received_at: datetime) -> dict[str, Any]:
    """Turn one Segment message into a row of the ``events`` table (without workspace/source).

    Raises ``ValidationFailed(field=...)`` when the message is not acceptable: not an object,
    larger than 32 KB, unknown type, neither userId nor anonymousId, a track without ``event``,
    a group without ``groupId``, an alias without ``previousId``, a bad timestamp, or
    properties/traits/context that are not objects.
    """
    return _normalize(message, received_at, None, check_size=True)


def _normalize(
    message: Any, received_at: datetime, sent_at_default: Any, *, check_size: bool
) -> dict[str, Any]:
    (
        message_id,
        kind,
        name,
        user_id,
        anonymous_id,
        timestamp,
        original,
        sent_at,
        properties,
        traits,
        context,
        extra,
        _,
        _,
    ) = _fields(message, received_at, sent_at_default, check_size)
    return {
        "message_id": message_id,
        "type": kind,
        "event": name,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "profile_id": None,
        "timestamp": timestamp,
        "original_timestamp": original,
        "sent_at": sent_at,
        "received_at": received_at,
        "properties": properties,
        "traits": traits,
        "context": context,
        "extra": extra,
    }


def _fields(
    message: Any, received_at: datetime, sent_at_default: Any, check_size: bool
) -> tuple[Any, ...]:
    """The validation of ``normalize``: its row as a tuple (message_id, type, event, user_id,
    anonymous_id, timestamp, original_timestamp, sent_at, properties, traits, context, extra),
    then the texts the original timestamp and sentAt were read from (or None), which let a
    caller format them without going through the datetime again."""
    if not isinstance(message, dict):
        raise ValidationFailed("a message must be a JSON object", field=None)
    if check_size:
        try:
            size = len(orjson.dumps(message))
        except TypeError as exc:
            raise ValidationFailed(f"message cannot be serialised: {exc}", field=None) from None
        if size > MAX_MESSAGE_BYTES:
            raise ValidationFailed(
                f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} (32 KB)",
                field="message",
            )
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        if kind is None:
            raise ValidationFailed("type is required", field="type")
        raise ValidationFailed(
            f"type must be one of identify, track, page, screen, group, alias; not {kind!r:.40}",
            field="type",
        )
    # _identifier's common case inline (hot path): a non-blank string within the limit
    user_id = message.get("userId")
    if not (user_id.__class__ is str and 0 < len(user_id) <= _MAX_ID and not user_id.isspace()):
        user_id = _identifier(message, "userId")
    anonymous_id = message.get("anonymousId")
    if not (
        anonymous_id.__class__ is str
        and 0 < len(anonymous_id) <= _MAX_ID
        and not anonymous_id.isspace()
    ):
        anonymous_id = _identifier(message, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise ValidationFailed("userId or anonymousId is required", field="userId")

    columns = _COLUMN_FIELDS
    name: str | None = None
    if kind == "track":
        name = message.get("event")
        if not (name.__class__ is str and 0 < len(name) <= _MAX_ID and not name.isspace()):
            name = _identifier(message, "event")
        if name is None:
            raise ValidationFailed("a track message needs an event name", field="event")
        columns = _TRACK_COLUMN_FIELDS
    elif kind == "page" or kind == "screen":
        name = _identifier(message, "name")
        columns = _VIEW_COLUMN_FIELDS
    elif kind == "group":
        if _identifier(message, "groupId") is None:
            raise ValidationFailed("a group message needs a groupId", field="groupId")
    elif kind == "alias" and _identifier(message, "previousId") is None:
        raise ValidationFailed("an alias message needs a previousId", field="previousId")

    message_id = message.get("messageId")
    if not (
        message_id.__class__ is str
        and 0 < len(message_id) <= _MAX_MESSAGE_ID
        and not message_id.isspace()
    ):
        message_id = _identifier(message, "messageId", _MAX_MESSAGE_ID)
    if message_id is None:
        message_id = content_message_id(message)

    original_value = message.get("originalTimestamp")
    if original_value is not None:
        original = _time(original_value, "originalTimestamp")
    else:
        original_value = message.get("timestamp")
        original = _time(original_value, "timestamp")
    sent_value = message.get("sentAt")
    if sent_value is None:
        sent_value = sent_at_default
    sent_at = _time(sent_value, "sentAt")
    if original is None:
        timestamp = received_at
    elif sent_at is None:
        timestamp = original
    else:
        # Clock-skew correction: the device clock may be off, but the delay between the event
        # and its sending is measured on that same clock, so it carries over to ours.
        try:
            timestamp = received_at - (sent_at - original)
        except OverflowError:
            raise ValidationFailed(
                "timestamp and sentAt are too far apart", field="timestamp"
            ) from None

    properties = message.get("properties")
    if properties is not None and properties.__class__ is not dict:
        properties = _document(message, "properties")
    traits = message.get("traits")
    if traits is not None and traits.__class__ is not dict:
        traits = _document(message, "traits")
    context = message.get("context")
    if context is not None and context.__class__ is not dict:
        context = _document(message, "context")
    # most messages have no other top-level field: a subset test in C, no dict built
    extra = (
        None
        if message.keys() <= columns
        else {k: v for k, v in message.items() if k not in columns}
    )
    return (
        message_id,
        kind,
        name,
        user_id,
        anonymous_id,
        timestamp,
        original,
        sent_at,
        properties,
        traits,
        context,
        extra,
        original_value,
        sent_value,
    )


@dataclass
class PreparedBatch:
    """Messages of one request or import chunk, validated and ready to be written."""

    workspace_id: str
    source_id: str
    origin: str
    received_at: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    #: the raw payload of each rejected message (same order as ``rejected``)
    rejected_payloads: list[str] = field(default_factory=list)
    #: set by imports: quarantine rows get a dedupe key so a re-run does not add them twice
    dedupe_rejects: bool = False
    #: SQLite only: ``rows`` written to this staging file instead (bulk import workers), and how
    #: many; ``write_prepared`` copies them inside SQLite while the file is ``stage_attached``
    stage_path: str | None = None
    staged: int = 0

    def reject(self, position: int, reason: str, field: str | None, payload: str) -> None:
        self.rejected.append(Rejection(index=position, reason=reason, field=field))
        self.rejected_payloads.append(payload)


def _payload_text(message: Any) -> str:
    try:
        return orjson.dumps(message).decode()
    except TypeError:
        return repr(message)


def prepare(
    messages: Sequence[Any],
    *,
    workspace_id: str,
    source_id: str,
    received_at: datetime,
    origin: str,
    sent_at: Any = None,
    check_size: bool = True,
    positions: Sequence[int] | None = None,
) -> PreparedBatch:
    """Validate messages (no I/O). ``sent_at`` is a batch-level sentAt applied to messages
    without their own; ``check_size=False`` when the caller knows each message is small;
    ``positions`` (e.g. line numbers) name the messages in rejections instead of their index."""
    batch = PreparedBatch(
        workspace_id=workspace_id, source_id=source_id, origin=origin, received_at=received_at
    )
    rows = batch.rows
    numbered = (
        zip(positions, messages, strict=True) if positions is not None else enumerate(messages)
    )
    for index, message in numbered:
        try:
            rows.append(_normalize(message, received_at, sent_at, check_size=check_size))
        except ValidationFailed as exc:
            batch.rejected.append(Rejection(index=index, reason=exc.detail, field=exc.field))
            batch.rejected_payloads.append(_payload_text(message))
    return batch


def prepare_staged(
    numbered: Iterable[tuple[int, Any]],
    *,
    workspace_id: str,
    source_id: str,
    received_at: datetime,
    origin: str,
    stage_path: str,
    check_size: bool = True,
) -> PreparedBatch:
    """``prepare`` for a SQLite bulk import: the messages (with their line numbers, which name
    them in rejections) are validated one by one as they come and the valid ones go straight
    to a new staging file at ``stage_path`` (no row dicts, no list of messages in between) for
    ``write_prepared`` to copy into the event log; rejects are kept in the batch as by
    ``prepare``."""
    batch = PreparedBatch(
        workspace_id=workspace_id, source_id=source_id, origin=origin, received_at=received_at
    )

    def valid() -> Iterator[tuple[Any, ...]]:
        for index, message in numbered:
            try:
                yield _fields(message, received_at, None, check_size)
            except ValidationFailed as exc:
                batch.rejected.append(Rejection(index=index, reason=exc.detail, field=exc.field))
                batch.rejected_payloads.append(_payload_text(message))

    batch.staged = repository.write_stage(stage_path, valid(), received_at)
    batch.stage_path = stage_path
    return batch


def prepare_fan_out(
    message: dict[str, Any],
    *,
    profile_ids: Sequence[str],
    workspace_id: str,
    source_id: str,
    received_at: datetime,
) -> PreparedBatch:
    """One message for many people (an outage in a region, a price change for a segment): a
    copy per profile. Each copy names its profile (``anonymousId`` ``profile:<id>``, so identity
    resolution puts it there) and has the messageId ``<messageId>:<profile id>``, so a retried
    fan-out stores every copy once. Raises ``ValidationFailed`` when the message itself is not
    acceptable (checked once, before copying)."""
    if not isinstance(message, dict):
        raise ValidationFailed("a message must be a JSON object", field="message")
    base = {k: v for k, v in message.items() if k not in ("userId", "anonymousId")}
    base.setdefault("type", "track")
    base["messageId"] = str(base.get("messageId") or content_message_id(base))
    _normalize({**base, "anonymousId": "check"}, received_at, None, check_size=True)
    copies = [
        {
            **base,
            "anonymousId": PROFILE_ANONYMOUS_PREFIX + pid,
            "messageId": f"{base['messageId']}:{pid}",
        }
        for pid in profile_ids
    ]
    return prepare(
        copies,
        workspace_id=workspace_id,
        source_id=source_id,
        received_at=received_at,
        origin="api:fan-out",
        check_size=False,
    )


def _reject_key(batch: PreparedBatch, position: int, payload: str) -> str:
    text = f"{batch.source_id}\n{batch.origin}\n{position}\n{payload}"
    return hashlib.blake2b(text.encode(), digest_size=24).hexdigest()


@contextlib.contextmanager
def stage_attached(conn: Connection, batch: PreparedBatch) -> Iterator[None]:
    """Make a staged batch's file readable by ``write_prepared`` on this SQLite connection; use
    it around the transaction (SQLite cannot attach inside one). Does nothing for other
    batches."""
    if batch.stage_path is None:
        yield
        return
    with repository.stage_attached(conn, batch.stage_path):
        yield


def write_prepared(conn: Connection, batch: PreparedBatch) -> IngestResult:
    """Store a prepared batch in the caller's transaction: new events once, rejects to
    quarantine. A staged batch needs ``stage_attached`` around the transaction."""
    if batch.stage_path is not None:
        count = batch.staged
        accepted = repository.insert_from_stage(
            conn,
            workspace_id=batch.workspace_id,
            source_id=batch.source_id,
            received_at=batch.received_at,
        )
    else:
        count = len(batch.rows)
        accepted = repository.insert_events(
            conn, workspace_id=batch.workspace_id, source_id=batch.source_id, rows=batch.rows
        )
    if batch.rejected:
        repository.insert_quarantine(
            conn,
            [
                {
                    "workspace_id": batch.workspace_id,
                    "source_id": batch.source_id,
                    "received_at": batch.received_at,
                    "origin": batch.origin,
                    "position": str(r.index),
                    "reason": r.reason,
                    "field": r.field,
                    "payload": payload,
                    "dedupe_key": _reject_key(batch, r.index, payload)
                    if batch.dedupe_rejects
                    else None,
                }
                for r, payload in zip(batch.rejected, batch.rejected_payloads, strict=True)
            ],
        )
        log.info(
            "quarantined messages origin=%s source=%s count=%d",
            batch.origin,
            batch.source_id,
            len(batch.rejected),
        )
    return IngestResult(accepted=accepted, duplicates=count - accepted, rejected=batch.rejected)


def ingest_messages(
    conn: Connection,
    *,
    workspace_id: str,
    source_id: str,
    messages: list[dict[str, Any]],
    received_at: datetime,
    origin: str,
) -> IngestResult:
    """Validate and store messages in the caller's transaction.

    Invalid messages go to the quarantine (with origin, position, reason, field and the raw
    payload); valid ones are inserted once per (workspace, source, messageId). Identities are
    not resolved here: ``profile_id`` stays NULL until the identity loop sees the event. The
    caller should ``ctx.signals.notify("events")`` after committing.
    """
    batch = prepare(
        messages,
        workspace_id=workspace_id,
        source_id=source_id,
        received_at=received_at,
        origin=origin,
    )
    return write_prepared(conn, batch)
