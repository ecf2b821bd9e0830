"""What customers do with a message, through its signed links: the open pixel, tracked clicks
(redirected only to the URL signed into the link) and one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.contracts import Message
from partitur.channels.feedback import emit_events
from partitur.channels.signing import verify
from partitur.core.errors import BadRequest, NotFound


def _tracked_message(conn: Connection, message_id: str) -> dict[str, Any]:
    row = repository.message_row(conn, message_id)
    if row is None:
        raise NotFound("unknown message", field="token")
    return row


def unsubscribe(conn: Connection, *, token: str, secret_key: str, now: datetime) -> Message:
    """One-click unsubscribe from a message's link: revokes marketing consent for the message's
    channel (or its subscription group, when the send named one)."""
    row = _tracked_message(conn, str(verify(secret_key, "unsubscribe", token)["m"]))
    group = str(row["payload"].get("group") or "*")
    repository.write_consent(
        conn,
        workspace_id=row["workspace_id"],
        profile_id=row["profile_id"],
        channel=row["channel"],
        group=group,
        status="revoked",
        action="revoked",
        source=f"unsubscribe link {row['id']}",
        now=now,
    )
    emit_events(
        conn,
        workspace_id=row["workspace_id"],
        items=[("unsubscribed", row, {"group": group})],
        now=now,
    )
    return Message.model_validate(row)


def record_open(conn: Connection, *, token: str, secret_key: str, now: datetime) -> None:
    """The open pixel was loaded: the first open is recorded, with its event."""
    row = _tracked_message(conn, str(verify(secret_key, "open", token)["m"]))
    if row["opened_at"] is not None:
        return
    repository.update_message(
        conn, message_id=row["id"], values={"opened_at": now, "updated_at": now}
    )
    emit_events(conn, workspace_id=row["workspace_id"], items=[("opened", row, {})], now=now)


def record_click(conn: Connection, *, token: str, secret_key: str, now: datetime) -> str:
    """Record a click and return the signed target URL (never a URL from the request)."""
    claims = verify(secret_key, "click", token)
    url = str(claims["u"])
    if not url.startswith(("http://", "https://")):
        raise BadRequest("link is not valid", field="token")
    row = _tracked_message(conn, str(claims["m"]))
    clicks = int(row["clicks"] or 0) + 1
    values: dict[str, Any] = {"clicks": clicks, "updated_at": now}
    if row["clicked_at"] is None:
        values["clicked_at"] = now
    if row["opened_at"] is None:
        values["opened_at"] = now  # a click proves the open the pixel may have missed
    repository.update_message(conn, message_id=row["id"], values=values)
    emit_events(
        conn,
        workspace_id=row["workspace_id"],
        items=[("clicked", row, {"url": url, "_seq": clicks})],
        now=now,
    )
    return url
