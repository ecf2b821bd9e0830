"""Use cases of the channels domain: the outbox, providers, templates, consent, suppressions,
tracking, inbound feedback, the in-app inbox and agent tasks. The only writer of its tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateSyntaxError
from sqlalchemy import Connection, delete, select, update

from partitur.channels import repository
from partitur.channels.bounces import NotADsn, parse_dsn
from partitur.channels.contracts import (
    CHANNELS,
    AgentTask,
    BounceIn,
    BounceOutcome,
    ConsentChange,
    ConsentState,
    DeliveryPolicy,
    DeviceTokenIn,
    InboxItem,
    LedgerEntry,
    Message,
    Provider,
    ProviderIn,
    QueuedMessage,
    RenderedMessage,
    SendRequest,
    SubscriptionGroup,
    SubscriptionGroupIn,
    Suppression,
    Template,
    TemplateIn,
)
from partitur.channels.feedback import delivery_event, record_delivery_events
from partitur.channels.plugins import registry
from partitur.channels.recipients import Recipient, load_recipients
from partitur.channels.signing import encrypt_secrets, sign, verify
from partitur.channels.tables import (
    agent_tasks,
    bounces,
    channel_policies,
    channel_providers,
    consent_ledger,
    consents,
    device_tokens,
    inbox_items,
    message_templates,
    messages,
    subscription_groups,
    suppressions,
)
from partitur.channels.templates import TemplateBook, TemplateProblem
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import BadRequest, Conflict, NotFound, ValidationFailed
from partitur.core.ids import new_id, new_ids
from partitur.core.pagination import Page, decode_cursor, encode_cursor

# --- the outbox ----------------------------------------------------------------------------


def known_channels() -> set[str]:
    """Channels a journey may send on."""
    return set(CHANNELS)


def enqueue(conn: Connection, *, request: SendRequest, now: datetime) -> QueuedMessage:
    """Put one message in the outbox inside the caller's transaction.

    The idempotency key is unique: a repeat returns the existing message with
    ``duplicate=True`` and is never sent twice. A ``not_before`` in the future defers the send.
    """
    return enqueue_many(conn, requests=[request], now=now)[0]


def enqueue_many(
    conn: Connection, *, requests: list[SendRequest], now: datetime
) -> list[QueuedMessage]:
    """Put many messages in the outbox inside the caller's transaction; one answer per request,
    in order, exactly as if ``enqueue`` were called for each in turn.

    Set-based: one lookup of the idempotency keys, one multi-row insert (``ON CONFLICT DO
    NOTHING`` on the key, so a concurrent writer of the same key is never sent twice), the
    recipients of all new messages loaded at once and their ``message.queued`` events ingested
    as one batch per workspace. A key repeated within ``requests`` is inserted once; its later
    requests answer ``duplicate=True`` with the first one's message.
    """
    if not requests:
        return []
    firsts: dict[str, SendRequest] = {}
    for request in requests:
        firsts.setdefault(request.idempotency_key, request)
    rows = {
        key: _outbox_row(request, now, message_id)
        for (key, request), message_id in zip(
            firsts.items(), new_ids("msg", len(firsts)), strict=True
        )
    }
    existing = repository.messages_by_keys(conn, list(rows))
    fresh = [row for key, row in rows.items() if key not in existing]
    if repository.insert_messages(conn, fresh) != len(fresh):
        # another transaction took some of these keys between the lookup and the insert
        keys = [row["idempotency_key"] for row in fresh]
        stored = repository.messages_by_keys(conn, keys)
        for key in keys:
            if key not in stored:  # pragma: no cover - the unique key was taken by another row
                raise Conflict("idempotency key is taken", field="idempotency_key")
            if stored[key][0] != rows[key]["id"]:
                existing[key] = stored[key]
        fresh = [row for row in fresh if row["idempotency_key"] not in existing]
    if fresh:
        recipients = load_recipients(conn, profile_ids=[row["profile_id"] for row in fresh])
        by_workspace: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
        for row in fresh:
            by_workspace.setdefault(row["workspace_id"], []).append(("queued", row, {}))
        for workspace_id, items in by_workspace.items():
            emit_events(
                conn, workspace_id=workspace_id, items=items, now=now, recipients=recipients
            )
    answers: list[QueuedMessage] = []
    answered: set[str] = set()
    for request in requests:
        key = request.idempotency_key
        if key in existing:
            message_id, status = existing[key]
            answers.append(
                QueuedMessage.model_validate(
                    {"id": message_id, "status": status, "duplicate": True}
                )
            )
        else:
            row = rows[key]
            answers.append(
                QueuedMessage(id=row["id"], status=row["status"], duplicate=key in answered)
            )
        answered.add(key)
    return answers


def _outbox_row(request: SendRequest, now: datetime, message_id: str) -> dict[str, Any]:
    """The ``messages`` row of a new send (deferred when ``not_before`` is in the future)."""
    deferred = request.not_before is not None and request.not_before > now
    return {
        "id": message_id,
        "workspace_id": request.workspace_id,
        "profile_id": request.profile_id,
        "channel": request.channel,
        "template": request.template,
        "category": request.category,
        "journey_id": request.journey_id,
        "journey_version": request.journey_version,
        "instance_id": request.instance_id,
        "node_id": request.node_id,
        "status": "deferred" if deferred else "queued",
        "attempts": 0,
        "priority": request.priority,
        "created_at": now,
        "updated_at": now,
        "idempotency_key": request.idempotency_key,
        "next_attempt_at": request.not_before if deferred else None,
        "payload": request.payload,
        "data": request.data,
        "clicks": 0,
    }


def withdraw_queued(
    conn: Connection,
    *,
    workspace_id: str,
    journey_ids: list[str],
    created_before: datetime,
    reason: str,
    now: datetime,
) -> int:
    """Withdraw journey sends still waiting in the outbox that were made before
    ``created_before`` (a journey backfill's replayed history): they become ``suppressed`` with
    ``reason`` and are never delivered. Returns how many."""
    if not journey_ids:
        return 0
    result = conn.execute(
        update(messages)
        .where(
            messages.c.workspace_id == workspace_id,
            messages.c.journey_id.in_(journey_ids),
            messages.c.status.in_(("queued", "deferred")),
            messages.c.created_at < created_before,
        )
        .values(status="suppressed", error=reason, next_attempt_at=None, updated_at=now)
    )
    return int(result.rowcount or 0)


def emit_events(
    conn: Connection,
    *,
    workspace_id: str,
    items: list[tuple[str, dict[str, Any], dict[str, Any]]],
    now: datetime,
    recipients: dict[str, Recipient] | None = None,
) -> None:
    """Record delivery events ``(name, message row, extra properties)``."""
    if not items:
        return
    known = recipients or {}
    events = []
    for name, row, extra in items:
        rec = known.get(row["profile_id"])
        seq = int(extra.pop("_seq", 0))
        events.append(
            delivery_event(
                name=name,
                message=row,
                at=now,
                user_id=rec.external_id if rec else None,
                extra=extra,
                seq=seq,
            )
        )
    record_delivery_events(
        conn,
        workspace_id=workspace_id,
        events=events,
        profile_ids=[row["profile_id"] for _, row, _ in items],
        now=now,
    )


def _message(row: dict[str, Any]) -> Message:
    return Message.model_validate(row)


def get_message(conn: Connection, *, workspace_id: str, message_id: str) -> Message:
    row = repository.message_row(conn, message_id)
    if row is None or row["workspace_id"] != workspace_id:
        raise NotFound(f"no message {message_id}", field="message_id")
    return _message(row)


def list_messages(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str | None = None,
    status: str | None = None,
    journey_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Message]:
    query = select(messages).where(messages.c.workspace_id == workspace_id)
    if profile_id:
        query = query.where(messages.c.profile_id == profile_id)
    if status:
        query = query.where(messages.c.status == status)
    if journey_id:
        query = query.where(messages.c.journey_id == journey_id)
    if cursor:
        query = query.where(messages.c.id < str(decode_cursor(cursor)))
    rows = [
        dict(r)
        for r in conn.execute(query.order_by(messages.c.id.desc()).limit(limit + 1)).mappings()
    ]
    more = len(rows) > limit
    items = [_message(r) for r in rows[:limit]]
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more and items else None)


# --- providers -----------------------------------------------------------------------------


def _provider(row: dict[str, Any]) -> Provider:
    return Provider.model_validate(row)


@action("provider.save", permission=Permission.manage_workspace, subject="channel_provider")
def save_provider(
    conn: Connection,
    *,
    workspace_id: str,
    provider: ProviderIn,
    secret_key: str,
    now: datetime,
    actor: Actor,
) -> Provider:
    """Create or replace a provider; secrets are encrypted with a key from ``secret_key``."""
    plugins = registry()
    plugin = plugins.get(provider.kind)
    if plugin is None:
        raise ValidationFailed(
            f"unknown provider kind {provider.kind!r}; installed: {', '.join(sorted(plugins))}",
            field="kind",
        )
    if plugin.channel != provider.channel:
        raise ValidationFailed(
            f"{provider.kind} delivers {plugin.channel}, not {provider.channel}", field="channel"
        )
    values = {
        "workspace_id": workspace_id,
        "channel": provider.channel,
        "name": provider.name,
        "kind": provider.kind,
        "config": provider.config,
        "secrets": encrypt_secrets(secret_key, provider.secrets) if provider.secrets else None,
        "secret_names": sorted(provider.secrets),
        "cost": provider.cost,
        "rate_per_second": provider.rate_per_second,
        "is_default": provider.is_default,
        "updated_at": now,
    }
    if provider.is_default:
        conn.execute(
            update(channel_providers)
            .where(
                channel_providers.c.workspace_id == workspace_id,
                channel_providers.c.channel == provider.channel,
            )
            .values(is_default=False)
        )
    existing = conn.execute(
        select(channel_providers.c.id).where(
            channel_providers.c.workspace_id == workspace_id,
            channel_providers.c.channel == provider.channel,
            channel_providers.c.name == provider.name,
        )
    ).scalar()
    if existing:
        provider_id = str(existing)
        conn.execute(
            update(channel_providers).where(channel_providers.c.id == provider_id).values(**values)
        )
    else:
        provider_id = new_id("prv")
        conn.execute(channel_providers.insert().values(id=provider_id, created_at=now, **values))
    describe(
        subject_id=provider_id,
        details={"channel": provider.channel, "name": provider.name, "kind": provider.kind},
    )
    row = conn.execute(select(channel_providers).where(channel_providers.c.id == provider_id))
    return _provider(dict(row.mappings().one()))


def list_providers(conn: Connection, *, workspace_id: str) -> list[Provider]:
    return [_provider(r) for r in repository.providers(conn, workspace_id=workspace_id)]


# --- delivery policy -----------------------------------------------------------------------


def get_policy(conn: Connection, *, workspace_id: str) -> DeliveryPolicy:
    return repository.load_policy(conn, workspace_id=workspace_id)


@action("delivery_policy.save", permission=Permission.manage_workspace, subject="delivery_policy")
def set_policy(
    conn: Connection,
    *,
    workspace_id: str,
    policy: DeliveryPolicy,
    now: datetime,
    actor: Actor,
) -> DeliveryPolicy:
    document = policy.model_dump(mode="json")
    done = conn.execute(
        update(channel_policies)
        .where(channel_policies.c.workspace_id == workspace_id)
        .values(policy=document, updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(
            channel_policies.insert().values(
                workspace_id=workspace_id, policy=document, updated_at=now
            )
        )
    describe(subject_id=workspace_id, after=document)
    return policy


# --- templates -----------------------------------------------------------------------------


def template_book(conn: Connection, *, workspace_id: str) -> TemplateBook:
    policy = repository.load_policy(conn, workspace_id=workspace_id)
    return TemplateBook(
        repository.template_book_rows(conn, workspace_id=workspace_id),
        default_locale=policy.default_locale,
    )


def template_context(
    recipient: Recipient | None,
    data: dict[str, Any],
    *,
    message_id: str = "preview",
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The variables a template sees."""
    context: dict[str, Any] = {**data, "data": data, "message_id": message_id}
    context["profile"] = recipient.template_view() if recipient else {}
    context["unsubscribe_url"] = (links or {}).get("unsubscribe", "#unsubscribe")
    return context


@action("template.save", permission=Permission.edit_templates, subject="template")
def save_template(
    conn: Connection, *, workspace_id: str, template: TemplateIn, now: datetime, actor: Actor
) -> Template:
    """Create or replace one locale variant of a template, layout or snippet.

    A template that does not even parse is refused here; missing variables are reported by
    ``check_template`` (publish time).
    """
    book = TemplateBook({})
    for part, source in (
        ("subject", template.subject),
        ("body_text", template.body_text),
        ("body_html", template.body_html),
    ):
        if source:
            try:
                book.env.parse(source)
            except TemplateSyntaxError as exc:
                raise ValidationFailed(f"{part}: {exc}", field=part) from exc
    key_where = (
        message_templates.c.workspace_id == workspace_id,
        message_templates.c.kind == template.kind,
        message_templates.c.key == template.key,
        message_templates.c.locale == template.locale,
    )
    existing = conn.execute(
        select(message_templates.c.id, message_templates.c.created_at).where(*key_where)
    ).first()
    values = template.model_dump()
    if existing:
        template_id, created = str(existing[0]), existing[1]
        conn.execute(update(message_templates).where(*key_where).values(**values, updated_at=now))
    else:
        template_id, created = new_id("tpl"), now
        conn.execute(
            message_templates.insert().values(
                id=template_id, workspace_id=workspace_id, created_at=now, updated_at=now, **values
            )
        )
    describe(subject_id=f"{template.kind}:{template.key}:{template.locale}")
    return Template(
        id=template_id, workspace_id=workspace_id, created_at=created, updated_at=now, **values
    )


def list_templates(conn: Connection, *, workspace_id: str) -> list[Template]:
    rows = conn.execute(
        select(message_templates)
        .where(message_templates.c.workspace_id == workspace_id)
        .order_by(message_templates.c.kind, message_templates.c.key, message_templates.c.locale)
    ).mappings()
    return [Template.model_validate(dict(r)) for r in rows]


def check_template(conn: Connection, *, workspace_id: str, key: str, channel: str) -> list[str]:
    """Problems of template ``key`` for ``channel`` (empty list: fine).

    Every locale variant is rendered with its sample profile and sample data, so a syntax error
    or a variable missing from them is found when a journey is published, not when it sends.
    """
    book = template_book(conn, workspace_id=workspace_id)
    if channel in ("webhook", "agent_task") and not book.locales(key):
        # a template is optional there: the payload is the body / the task's reason
        if channel == "agent_task":
            return []
        hooks = [
            p
            for p in repository.providers(conn, workspace_id=workspace_id)
            if p["channel"] == "webhook"
        ]
        if not hooks:
            return [f"no webhook endpoint is configured (for {key!r})"]
        return []
    contexts: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for loc in book.locales(key):
        template = book.templates[("message", key, loc)]
        recipient = None
        if template.sample_profile_id:
            recipient = load_recipients(conn, profile_ids=[template.sample_profile_id]).get(
                template.sample_profile_id
            )
            if recipient is None:
                problems.append(f"[{loc}] sample profile {template.sample_profile_id} not found")
        contexts[loc] = template_context(recipient, template.sample_data)
    return problems + book.check(key, channel=channel, contexts=contexts)


def preview_template(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    profile_id: str | None,
    data: dict[str, Any] | None = None,
) -> RenderedMessage:
    """Render ``key`` for a real profile (its locale picks the variant). Raises
    ``NotFound`` for an unknown profile and ``ValidationFailed`` when it does not render."""
    book = template_book(conn, workspace_id=workspace_id)
    recipient = None
    if profile_id:
        recipient = load_recipients(conn, profile_ids=[profile_id]).get(profile_id)
        if recipient is None:
            raise NotFound(f"no profile {profile_id}", field="profile_id")
    template = book.pick("message", key, recipient.locale if recipient else None)
    variables = data if data is not None else (template.sample_data if template else {})
    try:
        return book.render(
            key,
            locale=recipient.locale if recipient else None,
            context=template_context(recipient, variables),
        )
    except TemplateProblem as exc:
        raise ValidationFailed(str(exc), field="template") from exc


# --- consent and subscriptions -------------------------------------------------------------


@action(
    "subscription_group.create", permission=Permission.edit_templates, subject="subscription_group"
)
def create_group(
    conn: Connection,
    *,
    workspace_id: str,
    group: SubscriptionGroupIn,
    now: datetime,
    actor: Actor,
) -> SubscriptionGroup:
    taken = conn.execute(
        select(subscription_groups.c.id).where(
            subscription_groups.c.workspace_id == workspace_id,
            subscription_groups.c.key == group.key,
        )
    ).first()
    if taken:
        raise Conflict(f"a subscription group {group.key!r} exists already", field="key")
    made = SubscriptionGroup(
        id=new_id("sgr"), workspace_id=workspace_id, created_at=now, **group.model_dump()
    )
    conn.execute(subscription_groups.insert().values(**made.model_dump()))
    describe(subject_id=made.id, details={"key": group.key})
    return made


def list_groups(conn: Connection, *, workspace_id: str) -> list[SubscriptionGroup]:
    rows = conn.execute(
        select(subscription_groups)
        .where(subscription_groups.c.workspace_id == workspace_id)
        .order_by(subscription_groups.c.key)
    ).mappings()
    return [SubscriptionGroup.model_validate(dict(r)) for r in rows]


def _write_consent(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    channel: str,
    group: str,
    status: str,
    action: str,
    source: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    key = (
        consents.c.workspace_id == workspace_id,
        consents.c.profile_id == profile_id,
        consents.c.channel == channel,
        consents.c.group_key == group,
    )
    done = conn.execute(
        update(consents).where(*key).values(status=status, source=source, updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(
            consents.insert().values(
                workspace_id=workspace_id,
                profile_id=profile_id,
                channel=channel,
                group_key=group,
                status=status,
                source=source,
                updated_at=now,
            )
        )
    conn.execute(
        consent_ledger.insert().values(
            workspace_id=workspace_id,
            profile_id=profile_id,
            channel=channel,
            group_key=group,
            action=action,
            source=source,
            at=now,
            details=details,
        )
    )


def _check_group(
    conn: Connection, workspace_id: str, channel: str, group: str
) -> dict[str, Any] | None:
    if group == "*":
        return None
    found = repository.group_channels(conn, workspace_id=workspace_id).get(group)
    if found is None:
        raise NotFound(f"no subscription group {group!r}", field="group")
    if found["channel"] != channel:
        raise ValidationFailed(
            f"group {group!r} is for {found['channel']}, not {channel}", field="group"
        )
    return found


@action("consent.change", permission=Permission.edit_profiles, subject="profile")
def set_consent(
    conn: Connection,
    *,
    workspace_id: str,
    change: ConsentChange,
    now: datetime,
    secret_key: str,
    actor: Actor,
) -> ConsentState:
    """Grant or revoke consent. Granting an email group with double opt-in makes it pending and
    queues a confirmation mail; the grant happens when the link in it is followed."""
    group = _check_group(conn, workspace_id, change.channel, change.group)
    status: str = change.status
    action: str = change.status
    if (
        change.status == "granted"
        and group is not None
        and group["double_opt_in"]
        and change.channel == "email"
    ):
        status, action = "pending", "requested"
        token = sign(
            secret_key, "optin", {"w": workspace_id, "p": change.profile_id, "g": change.group}
        )
        enqueue(
            conn,
            request=SendRequest(
                idempotency_key=f"optin:{change.profile_id}:{change.group}:{now.isoformat()}",
                workspace_id=workspace_id,
                profile_id=change.profile_id,
                channel="email",
                template="double-opt-in"
                if _has_template(conn, workspace_id, "double-opt-in")
                else None,
                category="transactional",
                payload={
                    "builtin": "double_opt_in",
                    "confirm_token": token,
                    "group": group["name"],
                },
            ),
            now=now,
        )
    _write_consent(
        conn,
        workspace_id=workspace_id,
        profile_id=change.profile_id,
        channel=change.channel,
        group=change.group,
        status=status,
        action=action,
        source=change.source,
        now=now,
    )
    describe(
        subject_id=change.profile_id,
        after={"channel": change.channel, "group": change.group, "status": status},
        details={"source": change.source, "change": action},
    )
    return ConsentState(
        profile_id=change.profile_id,
        channel=change.channel,
        group=change.group,
        status=status,  # type: ignore[arg-type]
        updated_at=now,
        source=change.source,
    )


def _has_template(conn: Connection, workspace_id: str, key: str) -> bool:
    return (
        conn.execute(
            select(message_templates.c.id).where(
                message_templates.c.workspace_id == workspace_id, message_templates.c.key == key
            )
        ).first()
        is not None
    )


def confirm_opt_in(conn: Connection, *, token: str, secret_key: str, now: datetime) -> ConsentState:
    """Follow a double-opt-in link: the pending consent becomes granted."""
    claims = verify(secret_key, "optin", token)
    workspace_id, profile_id, group = str(claims["w"]), str(claims["p"]), str(claims["g"])
    _write_consent(
        conn,
        workspace_id=workspace_id,
        profile_id=profile_id,
        channel="email",
        group=group,
        status="granted",
        action="confirmed",
        source="double-opt-in link",
        now=now,
    )
    return ConsentState(
        profile_id=profile_id,
        channel="email",
        group=group,
        status="granted",
        updated_at=now,
        source="double-opt-in link",
    )


def list_consents(conn: Connection, *, workspace_id: str, profile_id: str) -> list[ConsentState]:
    rows = conn.execute(
        select(consents)
        .where(consents.c.workspace_id == workspace_id, consents.c.profile_id == profile_id)
        .order_by(consents.c.channel, consents.c.group_key)
    ).mappings()
    return [
        ConsentState(
            group=r["group_key"],
            **{k: r[k] for k in ("profile_id", "channel", "status", "updated_at", "source")},
        )
        for r in rows
    ]


def consent_history(conn: Connection, *, workspace_id: str, profile_id: str) -> list[LedgerEntry]:
    rows = conn.execute(
        select(consent_ledger)
        .where(
            consent_ledger.c.workspace_id == workspace_id, consent_ledger.c.profile_id == profile_id
        )
        .order_by(consent_ledger.c.id)
    ).mappings()
    return [
        LedgerEntry(
            group=r["group_key"],
            **{
                k: r[k]
                for k in ("id", "profile_id", "channel", "action", "source", "at", "details")
            },
        )
        for r in rows
    ]


def suppress(
    conn: Connection, *, workspace_id: str, channel: str, address: str, reason: str, now: datetime
) -> bool:
    """Put an address on the suppression list (idempotent); True if it was not there."""
    return repository.insert_ignoring_duplicates(
        conn,
        suppressions,
        {
            "workspace_id": workspace_id,
            "channel": channel,
            "address": address,
            "reason": reason,
            "created_at": now,
        },
    )


def unsuppress(conn: Connection, *, workspace_id: str, channel: str, address: str) -> None:
    conn.execute(
        delete(suppressions).where(
            suppressions.c.workspace_id == workspace_id,
            suppressions.c.channel == channel,
            suppressions.c.address == address,
        )
    )


def list_suppressions(conn: Connection, *, workspace_id: str) -> list[Suppression]:
    rows = conn.execute(
        select(suppressions)
        .where(suppressions.c.workspace_id == workspace_id)
        .order_by(suppressions.c.created_at)
    ).mappings()
    return [Suppression.model_validate(dict(r)) for r in rows]


# --- tracking and inbound feedback ---------------------------------------------------------


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
    _write_consent(
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
    return _message(row)


def record_open(conn: Connection, *, token: str, secret_key: str, now: datetime) -> None:
    row = _tracked_message(conn, str(verify(secret_key, "open", token)["m"]))
    if row["opened_at"] is not None:
        return
    conn.execute(
        update(messages).where(messages.c.id == row["id"]).values(opened_at=now, updated_at=now)
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
    conn.execute(update(messages).where(messages.c.id == row["id"]).values(**values))
    emit_events(
        conn,
        workspace_id=row["workspace_id"],
        items=[("clicked", row, {"url": url, "_seq": clicks})],
        now=now,
    )
    return url


def record_bounce(
    conn: Connection, *, workspace_id: str, bounce: BounceIn, now: datetime
) -> BounceOutcome:
    """A bounce report, from any source. Every bounce goes in the bounce ledger; a hard bounce
    or complaint puts the address on the suppression list at once, soft bounces do so when the
    policy's ``soft_bounce_limit`` is reached within its window. The message (when known) gets
    a ``message.bounced`` event and, once its address is undeliverable, the status ``bounced``.
    """
    row = repository.message_row(conn, bounce.message_id) if bounce.message_id else None
    if bounce.message_id and (row is None or row["workspace_id"] != workspace_id):
        raise NotFound(f"no message {bounce.message_id}", field="message_id")
    address = bounce.address or (row["recipient"] if row else None)
    if not address:
        raise ValidationFailed("a bounce needs a message_id or an address", field="address")
    address = address.strip().lower() if bounce.channel == "email" else address.strip()
    reason = bounce.reason or (f"status {bounce.status}" if bounce.status else bounce.kind)
    earlier = repository.bounces_of_message(conn, message_id=row["id"]) if row else 0
    conn.execute(
        bounces.insert().values(
            id=new_id("bnc"),
            workspace_id=workspace_id,
            channel=bounce.channel,
            address=address,
            kind=bounce.kind,
            status_code=bounce.status,
            message_id=row["id"] if row else None,
            reason=reason[:2000],
            received_at=now,
        )
    )
    soft = 0
    why: str | None = None
    if bounce.kind in ("hard", "complaint"):
        why = "complaint" if bounce.kind == "complaint" else "hard_bounce"
    else:
        policy = repository.load_policy(conn, workspace_id=workspace_id)
        soft = repository.soft_bounces(
            conn,
            workspace_id=workspace_id,
            channel=bounce.channel,
            address=address,
            since=now - timedelta(days=policy.soft_bounce_window_days),
        )
        if soft >= policy.soft_bounce_limit:
            why = "soft_bounce_limit"
    if why is not None:
        suppress(
            conn,
            workspace_id=workspace_id,
            channel=bounce.channel,
            address=address,
            reason=why,
            now=now,
        )
    if row is not None:
        undeliverable = why is not None
        conn.execute(
            update(messages)
            .where(messages.c.id == row["id"])
            .values(
                status="bounced" if undeliverable else row["status"],
                error=f"{bounce.kind} bounce: {reason}",
                updated_at=now,
            )
        )
        extra: dict[str, Any] = {
            "kind": bounce.kind,
            "reason": reason,
            "status": bounce.status,
            "address": address,
            "undeliverable": undeliverable,
            "_seq": earlier + 1,  # distinct from the dispatcher's own RCPT bounce event
        }
        if bounce.kind == "soft":
            extra["soft_bounces"] = soft
        emit_events(conn, workspace_id=workspace_id, items=[("bounced", row, extra)], now=now)
    return BounceOutcome(
        address=address,
        channel=bounce.channel,
        kind=bounce.kind,
        status=bounce.status,
        message_id=row["id"] if row else None,
        soft_bounces=soft,
        undeliverable=why is not None,
    )


def record_dsn(
    conn: Connection, *, workspace_id: str, raw: bytes, now: datetime
) -> list[BounceOutcome]:
    """A bounce message as mail servers send it (RFC 3464 ``multipart/report``): every failed
    or delayed recipient it names is recorded as a hard or soft bounce (``record_bounce``).
    Raises ``ValidationFailed`` (field ``message``) when the bytes are not a DSN."""
    try:
        report = parse_dsn(raw)
    except NotADsn as exc:
        raise ValidationFailed(
            f"not a delivery status notification: {exc}", field="message"
        ) from exc
    message_id = report.message_id
    if message_id is not None:
        row = repository.message_row(conn, message_id)
        if row is None or row["workspace_id"] != workspace_id:
            message_id = None  # a message of another system (or workspace): the address counts
    outcomes = []
    for recipient in report.recipients:
        outcomes.append(
            record_bounce(
                conn,
                workspace_id=workspace_id,
                bounce=BounceIn(
                    message_id=message_id,
                    address=recipient.address,
                    channel="email",
                    kind=recipient.kind,
                    reason=recipient.reason,
                    status=recipient.status,
                ),
                now=now,
            )
        )
    return outcomes


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPP", "ABMELDEN"}
START_WORDS = {"START", "UNSTOP", "YES", "SUBSCRIBE", "ANMELDEN"}


@action("consent.sms_reply", permission=Permission.own_preferences, subject="consent")
def sms_inbound(
    conn: Connection, *, workspace_id: str, phone: str, body: str, now: datetime, actor: Actor
) -> str:
    """An inbound SMS: STOP (and synonyms) revokes SMS consent of every profile messaged at
    that number and suppresses it; START grants it again.

    Returns ``stop``, ``start`` or ``ignored``.
    """
    from partitur.channels.plugins.sms import normalise_phone

    number = normalise_phone(phone)
    word = body.strip().split()[0].upper() if body.strip() else ""
    if word in STOP_WORDS:
        status, action = "revoked", "stop"
        suppress(
            conn, workspace_id=workspace_id, channel="sms", address=number, reason="stop", now=now
        )
    elif word in START_WORDS:
        status, action = "granted", "start"
        unsuppress(conn, workspace_id=workspace_id, channel="sms", address=number)
    else:
        return "ignored"
    profile_ids = set(
        conn.execute(
            select(messages.c.profile_id).where(
                messages.c.workspace_id == workspace_id,
                messages.c.channel == "sms",
                messages.c.recipient == number,
            )
        ).scalars()
    )
    for pid in sorted(profile_ids):
        _write_consent(
            conn,
            workspace_id=workspace_id,
            profile_id=pid,
            channel="sms",
            group="*",
            status=status,
            action=status,
            source=f"sms keyword {word}",
            now=now,
            details={"phone": number},
        )
    describe(subject_id="sms", details={"keyword": action, "profiles": len(profile_ids)})
    return action


def register_device_token(
    conn: Connection, *, workspace_id: str, device: DeviceTokenIn, now: datetime
) -> None:
    conn.execute(
        delete(device_tokens).where(
            device_tokens.c.workspace_id == workspace_id, device_tokens.c.token == device.token
        )
    )
    conn.execute(
        device_tokens.insert().values(
            workspace_id=workspace_id,
            token=device.token,
            profile_id=device.profile_id,
            platform=device.platform,
            created_at=now,
        )
    )


def invalidate_tokens(
    conn: Connection, *, workspace_id: str, profile_id: str, tokens: list[str], now: datetime
) -> None:
    """Tokens a push provider reported invalid are never used again."""
    for token in tokens:
        done = conn.execute(
            update(device_tokens)
            .where(device_tokens.c.workspace_id == workspace_id, device_tokens.c.token == token)
            .values(invalidated_at=now)
        )
        if done.rowcount == 0:
            conn.execute(
                device_tokens.insert().values(
                    workspace_id=workspace_id,
                    token=token,
                    profile_id=profile_id,
                    platform="unknown",
                    created_at=now,
                    invalidated_at=now,
                )
            )


# --- in-app inbox --------------------------------------------------------------------------


def inbox_token(secret_key: str, *, workspace_id: str, profile_id: str) -> str:
    """The token an app uses to read one profile's inbox (issued by the app's backend)."""
    return sign(secret_key, "inbox", {"w": workspace_id, "p": profile_id})


def inbox_identity(secret_key: str, token: str) -> tuple[str, str]:
    claims = verify(secret_key, "inbox", token)
    return str(claims["w"]), str(claims["p"])


def list_inbox(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    unread_only: bool = False,
    after: str | None = None,
    limit: int = 50,
) -> list[InboxItem]:
    query = select(inbox_items).where(
        inbox_items.c.workspace_id == workspace_id, inbox_items.c.profile_id == profile_id
    )
    if unread_only:
        query = query.where(inbox_items.c.read_at.is_(None))
    if after:
        query = query.where(inbox_items.c.id > after).order_by(inbox_items.c.id)
    else:
        query = query.order_by(inbox_items.c.id.desc())
    rows = conn.execute(query.limit(limit)).mappings()
    return [InboxItem.model_validate(dict(r)) for r in rows]


@action(
    "inbox.mark_read",
    permission=Permission.own_preferences,
    subject="profile",
    subject_key="profile_id",
)
def mark_read(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    item_ids: list[str],
    now: datetime,
    actor: Actor,
) -> int:
    """The customer read these items of their in-app inbox."""
    done = conn.execute(
        update(inbox_items)
        .where(
            inbox_items.c.workspace_id == workspace_id,
            inbox_items.c.profile_id == profile_id,
            inbox_items.c.id.in_(item_ids),
            inbox_items.c.read_at.is_(None),
        )
        .values(read_at=now)
    )
    describe(details={"items": len(item_ids), "marked": int(done.rowcount)})
    return int(done.rowcount)


# --- agent tasks ---------------------------------------------------------------------------


def list_tasks(
    conn: Connection, *, workspace_id: str, status: str | None = None, queue: str | None = None
) -> list[AgentTask]:
    query = select(agent_tasks).where(agent_tasks.c.workspace_id == workspace_id)
    if status:
        query = query.where(agent_tasks.c.status == status)
    if queue:
        query = query.where(agent_tasks.c.queue == queue)
    rows = conn.execute(
        query.order_by(agent_tasks.c.priority.desc(), agent_tasks.c.created_at)
    ).mappings()
    return [AgentTask.model_validate(dict(r)) for r in rows]


def _task(conn: Connection, workspace_id: str, task_id: str) -> AgentTask:
    row = (
        conn.execute(
            select(agent_tasks).where(
                agent_tasks.c.id == task_id, agent_tasks.c.workspace_id == workspace_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no task {task_id}", field="task_id")
    return AgentTask.model_validate(dict(row))


@action("task.claim", permission=Permission.work_tasks, subject="agent_task", subject_key="task_id")
def claim_task(
    conn: Connection,
    *,
    workspace_id: str,
    task_id: str,
    assignee: str,
    now: datetime,
    actor: Actor,
) -> AgentTask:
    """Claim an open task; a task someone else holds is a ``Conflict``."""
    task = _task(conn, workspace_id, task_id)
    done = conn.execute(
        update(agent_tasks)
        .where(agent_tasks.c.id == task_id, agent_tasks.c.status == "open")
        .values(status="claimed", assignee=assignee, claimed_at=now)
    )
    if done.rowcount == 0:
        raise Conflict(f"task is {task.status} by {task.assignee}", field="task_id")
    describe(details={"assignee": assignee})
    return _task(conn, workspace_id, task_id)


@action(
    "task.complete", permission=Permission.work_tasks, subject="agent_task", subject_key="task_id"
)
def complete_task(
    conn: Connection,
    *,
    workspace_id: str,
    task_id: str,
    assignee: str,
    outcome: str,
    now: datetime,
    actor: Actor,
) -> AgentTask:
    """Complete a task the assignee holds (an open task is claimed and completed at once)."""
    task = _task(conn, workspace_id, task_id)
    if task.status == "done":
        raise Conflict("task is done already", field="task_id")
    if task.status == "claimed" and task.assignee != assignee:
        raise Conflict(f"task is claimed by {task.assignee}", field="assignee")
    conn.execute(
        update(agent_tasks)
        .where(agent_tasks.c.id == task_id)
        .values(
            status="done",
            assignee=assignee,
            outcome=outcome,
            completed_at=now,
            claimed_at=task.claimed_at or now,
        )
    )
    describe(details={"assignee": assignee, "outcome": outcome})
    return _task(conn, workspace_id, task_id)


# --- actions of the management API (each audited once; the functions above are what loops and
# --- other domains call inside their own work) --------------------------------------------------


@action(
    "message.send",
    permission=Permission.send_messages,
    subject="message",
    wakes=("outbox", "events"),
)
def send_message(
    conn: Connection, *, workspace_id: str, request: SendRequest, now: datetime, actor: Actor
) -> QueuedMessage:
    """Queue one message (idempotent by its key); the dispatcher sends it."""
    queued = enqueue(conn, request=request, now=now)
    describe(
        subject_id=queued.id,
        details={"channel": request.channel, "duplicate": queued.duplicate},
    )
    return queued


@action("suppression.add", permission=Permission.edit_profiles, subject="suppression")
def add_suppression(
    conn: Connection,
    *,
    workspace_id: str,
    channel: str,
    address: str,
    reason: str,
    now: datetime,
    actor: Actor,
) -> bool:
    """Put an address on the suppression list (nothing is sent to it on that channel)."""
    added = suppress(
        conn, workspace_id=workspace_id, channel=channel, address=address, reason=reason, now=now
    )
    # the address itself stays out of the audit log (personal data)
    describe(subject_id=channel, details={"reason": reason, "added": added})
    return added


@action("bounce.report", permission=Permission.ingest, subject="message", wakes=("events",))
def report_bounce(
    conn: Connection, *, workspace_id: str, bounce: BounceIn, now: datetime, actor: Actor
) -> BounceOutcome:
    """A bounce or complaint reported by a provider or a bounce mailbox."""
    outcome = record_bounce(conn, workspace_id=workspace_id, bounce=bounce, now=now)
    describe(subject_id=bounce.message_id or "", details={"kind": bounce.kind})
    return outcome


@action("bounce.report_dsn", permission=Permission.ingest, subject="message", wakes=("events",))
def report_dsn(
    conn: Connection, *, workspace_id: str, raw: bytes, now: datetime, actor: Actor
) -> list[BounceOutcome]:
    """A raw delivery status notification: each failed or delayed recipient is a bounce."""
    outcomes = record_dsn(conn, workspace_id=workspace_id, raw=raw, now=now)
    describe(details={"recipients": len(outcomes)})
    return outcomes


@action("device.register", permission=Permission.edit_profiles, subject="profile")
def register_device(
    conn: Connection, *, workspace_id: str, device: DeviceTokenIn, now: datetime, actor: Actor
) -> None:
    """Register a push token of a profile's device (a token moves with its latest owner)."""
    register_device_token(conn, workspace_id=workspace_id, device=device, now=now)
    describe(subject_id=device.profile_id, details={"platform": device.platform})


@action(
    "inbox_token.issue",
    permission=Permission.edit_profiles,
    subject="profile",
    subject_key="profile_id",
)
def issue_inbox_token(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    secret_key: str,
    now: datetime,
    actor: Actor,
) -> str:
    """The token an app's user reads their in-app inbox with."""
    return inbox_token(secret_key, workspace_id=workspace_id, profile_id=profile_id)


@action("outbox.dispatch", permission=Permission.manage_workspace, subject="outbox")
def record_manual_dispatch(
    conn: Connection, *, workspace_id: str, report: dict[str, Any], now: datetime, actor: Actor
) -> None:
    """Audit a dispatcher pass an admin ran by hand (the pass itself writes as the loop does)."""
    describe(subject_id=workspace_id, details=report)
