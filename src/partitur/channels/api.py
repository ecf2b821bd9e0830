"""HTTP routes of the channels domain (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

import asyncio
import base64
import html
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field

from partitur.api.body_limit import allow_body
from partitur.api.deps import AdminPrincipal, ContextDep, ReadPrincipal, WritePrincipal
from partitur.channels import service
from partitur.channels.contracts import (
    AgentTask,
    BounceIn,
    BounceOutcome,
    Category,
    ChannelName,
    ConsentChange,
    ConsentState,
    DeliveryPolicy,
    DeviceTokenIn,
    DispatchReport,
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
from partitur.channels.signing import sign, verify
from partitur.core import jsonutil
from partitur.core.actions import Actor
from partitur.core.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized
from partitur.core.pagination import Page
from partitur.journeys import service as journeys

router = APIRouter(prefix="/api/channels", tags=["channels"])

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


class SendIn(BaseModel):
    """A send request made over the API (the workspace is the caller's)."""

    idempotency_key: str = Field(min_length=1, max_length=300)
    profile_id: str
    channel: ChannelName
    template: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    #: ``transactional`` only with a template an admin marked transactional
    category: Category = "marketing"
    priority: int = 0
    not_before: datetime | None = None


@router.post("/messages", response_model=QueuedMessage, status_code=202)
def send_message(body: SendIn, ctx: ContextDep, principal: WritePrincipal) -> QueuedMessage:
    """Queue a message (idempotent by ``idempotency_key``)."""
    request = SendRequest(workspace_id=principal.workspace_id, **body.model_dump())
    with ctx.store.begin() as conn:
        return service.send_message(
            conn,
            workspace_id=principal.workspace_id,
            request=request,
            now=ctx.clock.now(),
            actor=principal,
        )


@router.get("/messages", response_model=Page[Message])
def list_messages(
    ctx: ContextDep,
    principal: ReadPrincipal,
    profile_id: str | None = None,
    status: str | None = None,
    journey_id: str | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> Page[Message]:
    """The workspace's messages, newest first; a ``profile_id`` or ``journey_id`` (id or key)
    that the workspace does not have is 404."""
    with ctx.store.read() as conn:
        if journey_id is not None:
            journey_id = journeys.find_journey(
                conn, workspace_id=principal.workspace_id, value=journey_id
            ).id
        return service.list_messages(
            conn,
            workspace_id=principal.workspace_id,
            profile_id=profile_id,
            status=status,
            journey_id=journey_id,
            cursor=cursor,
            limit=limit,
        )


@router.get("/messages/{message_id}", response_model=Message)
def get_message(message_id: str, ctx: ContextDep, principal: ReadPrincipal) -> Message:
    with ctx.store.read() as conn:
        return service.get_message(conn, workspace_id=principal.workspace_id, message_id=message_id)


@router.post("/dispatch", response_model=DispatchReport)
def dispatch_now(ctx: ContextDep, principal: AdminPrincipal) -> DispatchReport:
    """Run one dispatcher pass now (the worker does this continuously)."""
    if principal.workspace_id != ctx.workspace_id:
        raise Forbidden("the dispatcher runs for the served workspace only")
    report = service.dispatch_due(ctx)
    with ctx.store.begin() as conn:
        service.record_manual_dispatch(
            conn,
            workspace_id=principal.workspace_id,
            report=report.model_dump(mode="json"),
            now=ctx.clock.now(),
            actor=principal,
        )
    return report


# --- settings ------------------------------------------------------------------------------


@router.put("/providers", response_model=Provider)
def save_provider(body: ProviderIn, ctx: ContextDep, principal: AdminPrincipal) -> Provider:
    with ctx.store.begin() as conn:
        return service.save_provider(
            conn,
            workspace_id=principal.workspace_id,
            provider=body,
            secret_key=ctx.settings.secret_key,
            now=ctx.clock.now(),
            actor=principal,
        )


@router.get("/providers", response_model=list[Provider])
def list_providers(ctx: ContextDep, principal: AdminPrincipal) -> list[Provider]:
    with ctx.store.read() as conn:
        return service.list_providers(conn, workspace_id=principal.workspace_id)


@router.get("/policy", response_model=DeliveryPolicy)
def get_policy(ctx: ContextDep, principal: ReadPrincipal) -> DeliveryPolicy:
    with ctx.store.read() as conn:
        return service.get_policy(conn, workspace_id=principal.workspace_id)


@router.put("/policy", response_model=DeliveryPolicy)
def set_policy(body: DeliveryPolicy, ctx: ContextDep, principal: AdminPrincipal) -> DeliveryPolicy:
    with ctx.store.begin() as conn:
        return service.set_policy(
            conn,
            workspace_id=principal.workspace_id,
            policy=body,
            now=ctx.clock.now(),
            actor=principal,
        )


# --- templates -----------------------------------------------------------------------------


@router.put("/templates", response_model=Template)
def save_template(body: TemplateIn, ctx: ContextDep, principal: WritePrincipal) -> Template:
    with ctx.store.begin() as conn:
        return service.save_template(
            conn,
            workspace_id=principal.workspace_id,
            template=body,
            now=ctx.clock.now(),
            actor=principal,
        )


@router.get("/templates", response_model=list[Template])
def list_templates(ctx: ContextDep, principal: ReadPrincipal) -> list[Template]:
    with ctx.store.read() as conn:
        return service.list_templates(conn, workspace_id=principal.workspace_id)


class CheckResult(BaseModel):
    ok: bool
    problems: list[str]


@router.get("/templates/{key}/check", response_model=CheckResult)
def check_template(
    key: str, channel: ChannelName, ctx: ContextDep, principal: ReadPrincipal
) -> CheckResult:
    """What publishing a journey that sends ``key`` on ``channel`` would complain about; 404
    for a key the workspace has no template of (webhooks and agent tasks, which may send
    without one, are checked all the same)."""
    with ctx.store.read() as conn:
        if channel not in ("webhook", "agent_task") and not service.has_template(
            conn, workspace_id=principal.workspace_id, key=key, kind="message"
        ):
            raise NotFound(f"no template {key!r}", field="key")
        problems = service.check_template(
            conn, workspace_id=principal.workspace_id, key=key, channel=channel
        )
    return CheckResult(ok=not problems, problems=problems)


class PreviewIn(BaseModel):
    profile_id: str | None = None
    data: dict[str, Any] | None = None


@router.post("/templates/{key}/preview", response_model=RenderedMessage)
def preview_template(
    key: str, body: PreviewIn, ctx: ContextDep, principal: ReadPrincipal
) -> RenderedMessage:
    """Render a template for a real profile (its locale picks the variant)."""
    with ctx.store.read() as conn:
        return service.preview_template(
            conn,
            workspace_id=principal.workspace_id,
            key=key,
            profile_id=body.profile_id,
            data=body.data,
        )


# --- consent -------------------------------------------------------------------------------


@router.post("/groups", response_model=SubscriptionGroup, status_code=201)
def create_group(
    body: SubscriptionGroupIn, ctx: ContextDep, principal: AdminPrincipal
) -> SubscriptionGroup:
    with ctx.store.begin() as conn:
        return service.create_group(
            conn,
            workspace_id=principal.workspace_id,
            group=body,
            now=ctx.clock.now(),
            actor=principal,
        )


@router.get("/groups", response_model=list[SubscriptionGroup])
def list_groups(ctx: ContextDep, principal: ReadPrincipal) -> list[SubscriptionGroup]:
    with ctx.store.read() as conn:
        return service.list_groups(conn, workspace_id=principal.workspace_id)


@router.post("/consents", response_model=ConsentState)
def change_consent(body: ConsentChange, ctx: ContextDep, principal: WritePrincipal) -> ConsentState:
    with ctx.store.begin() as conn:
        state = service.set_consent(
            conn,
            workspace_id=principal.workspace_id,
            change=body,
            now=ctx.clock.now(),
            secret_key=ctx.settings.secret_key,
            actor=principal,
        )
    ctx.signals.notify("outbox")
    return state


class ConsentView(BaseModel):
    current: list[ConsentState]
    ledger: list[LedgerEntry]


@router.get("/consents/{profile_id}", response_model=ConsentView)
def get_consents(profile_id: str, ctx: ContextDep, principal: ReadPrincipal) -> ConsentView:
    with ctx.store.read() as conn:
        return ConsentView(
            current=service.list_consents(
                conn, workspace_id=principal.workspace_id, profile_id=profile_id
            ),
            ledger=service.consent_history(
                conn, workspace_id=principal.workspace_id, profile_id=profile_id
            ),
        )


@router.get("/suppressions", response_model=list[Suppression])
def list_suppressions(ctx: ContextDep, principal: ReadPrincipal) -> list[Suppression]:
    with ctx.store.read() as conn:
        return service.list_suppressions(conn, workspace_id=principal.workspace_id)


class SuppressionIn(BaseModel):
    channel: ChannelName
    address: str
    reason: str = "manual"


@router.post("/suppressions", status_code=204)
def add_suppression(body: SuppressionIn, ctx: ContextDep, principal: AdminPrincipal) -> Response:
    with ctx.store.begin() as conn:
        service.add_suppression(
            conn,
            workspace_id=principal.workspace_id,
            channel=body.channel,
            address=body.address.strip().lower() if body.channel == "email" else body.address,
            reason=body.reason,
            now=ctx.clock.now(),
            actor=principal,
        )
    return Response(status_code=204)


@router.post("/bounces", status_code=204)
def report_bounce(body: BounceIn, ctx: ContextDep, principal: WritePrincipal) -> Response:
    with ctx.store.begin() as conn:
        service.report_bounce(
            conn,
            workspace_id=principal.workspace_id,
            bounce=body,
            now=ctx.clock.now(),
            actor=principal,
        )
    return Response(status_code=204)


#: the largest bounce message the DSN endpoint reads (a DSN quotes at most the original mail)
MAX_DSN_BYTES = 5 * 1024 * 1024
allow_body("/api/channels/bounces/dsn", MAX_DSN_BYTES)


@router.post("/bounces/dsn", response_model=list[BounceOutcome])
async def report_dsn(
    request: Request, ctx: ContextDep, principal: WritePrincipal
) -> list[BounceOutcome]:
    """A raw bounce message (RFC 5322 bytes of an RFC 3464 ``multipart/report``), as a bounce
    mailbox or an inbound-mail provider receives it; each failed or delayed recipient is
    recorded as a hard or soft bounce."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_DSN_BYTES:
            raise PayloadTooLarge(
                f"a bounce message may have at most {MAX_DSN_BYTES} bytes", field="message"
            )

    def record() -> list[BounceOutcome]:
        with ctx.store.begin() as conn:
            return service.report_dsn(
                conn,
                workspace_id=principal.workspace_id,
                raw=raw,
                now=ctx.clock.now(),
                actor=principal,
            )

    return await run_in_threadpool(record)


@router.post("/devices", status_code=204)
def register_device(body: DeviceTokenIn, ctx: ContextDep, principal: WritePrincipal) -> Response:
    with ctx.store.begin() as conn:
        service.register_device(
            conn,
            workspace_id=principal.workspace_id,
            device=body,
            now=ctx.clock.now(),
            actor=principal,
        )
    return Response(status_code=204)


# --- links in messages (signed, no API token) ----------------------------------------------


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


@router.get("/u/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(token: str, ctx: ContextDep) -> HTMLResponse:
    verify(ctx.settings.secret_key, "unsubscribe", token)
    return _page(
        "Unsubscribe",
        f"<form method='post' action='{html.escape(token)}'>"
        "<button type='submit'>Unsubscribe</button></form>",
    )


@router.post("/u/{token}", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe(token: str, ctx: ContextDep) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (``List-Unsubscribe=One-Click``) and the page's button."""
    with ctx.store.begin() as conn:
        service.unsubscribe(
            conn, token=token, secret_key=ctx.settings.secret_key, now=ctx.clock.now()
        )
    ctx.signals.notify("events")
    return _page("You are unsubscribed", "<p>You will not get these messages any more.</p>")


@router.get("/t/o/{token}.gif", include_in_schema=False)
def open_pixel(token: str, ctx: ContextDep) -> Response:
    with ctx.store.begin() as conn:
        service.record_open(
            conn, token=token, secret_key=ctx.settings.secret_key, now=ctx.clock.now()
        )
    ctx.signals.notify("events")
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


@router.get("/t/c/{token}", include_in_schema=False)
def click(token: str, ctx: ContextDep) -> RedirectResponse:
    """Record a click and redirect to the URL signed into the link (never an open redirect)."""
    with ctx.store.begin() as conn:
        url = service.record_click(
            conn, token=token, secret_key=ctx.settings.secret_key, now=ctx.clock.now()
        )
    ctx.signals.notify("events")
    return RedirectResponse(url, status_code=302)


@router.get("/confirm/{token}", response_class=HTMLResponse, include_in_schema=False)
def confirm_opt_in(token: str, ctx: ContextDep) -> HTMLResponse:
    with ctx.store.begin() as conn:
        service.confirm_opt_in(
            conn, token=token, secret_key=ctx.settings.secret_key, now=ctx.clock.now()
        )
    return _page("Subscription confirmed", "<p>Thank you.</p>")


@router.get("/inbound/sms-url")
def sms_inbound_url(ctx: ContextDep, principal: AdminPrincipal) -> dict[str, str]:
    """The URL to give the SMS provider for inbound messages (STOP/START)."""
    token = sign(ctx.settings.secret_key, "sms-inbound", {"w": principal.workspace_id})
    return {"url": f"{ctx.settings.base_url.rstrip('/')}/api/channels/inbound/sms/{token}"}


@router.post("/inbound/sms/{token}")
def sms_inbound(
    token: str,
    ctx: ContextDep,
    from_: Annotated[str, Form(alias="From")],
    body: Annotated[str, Form(alias="Body")],
) -> Response:
    """Inbound SMS in Twilio's form encoding; STOP/START keywords change SMS consent."""
    workspace_id = str(verify(ctx.settings.secret_key, "sms-inbound", token)["w"])
    with ctx.store.begin() as conn:
        service.sms_inbound(
            conn,
            workspace_id=workspace_id,
            phone=from_,
            body=body,
            now=ctx.clock.now(),
            actor=Actor.customer(workspace_id, "sms"),
        )
    return Response("<Response/>", media_type="application/xml")


@router.post("/webhook-sink", status_code=204, include_in_schema=False)
async def webhook_sink(request: Request) -> Response:
    """A receiver that accepts any webhook (the demo's CRM stand-in); it keeps nothing."""
    await request.body()
    return Response(status_code=204)


# --- agent tasks ---------------------------------------------------------------------------


@router.get("/tasks", response_model=list[AgentTask])
def list_tasks(
    ctx: ContextDep,
    principal: ReadPrincipal,
    status: str | None = None,
    queue: str | None = None,
) -> list[AgentTask]:
    with ctx.store.read() as conn:
        return service.list_tasks(
            conn, workspace_id=principal.workspace_id, status=status, queue=queue
        )


class ClaimIn(BaseModel):
    assignee: str = Field(min_length=1, max_length=200)


class CompleteIn(ClaimIn):
    outcome: str = Field(min_length=1, max_length=2000)


@router.post("/tasks/{task_id}/claim", response_model=AgentTask)
def claim_task(
    task_id: str, body: ClaimIn, ctx: ContextDep, principal: WritePrincipal
) -> AgentTask:
    with ctx.store.begin() as conn:
        return service.claim_task(
            conn,
            workspace_id=principal.workspace_id,
            task_id=task_id,
            assignee=body.assignee,
            now=ctx.clock.now(),
            actor=principal,
        )


@router.post("/tasks/{task_id}/complete", response_model=AgentTask)
def complete_task(
    task_id: str, body: CompleteIn, ctx: ContextDep, principal: WritePrincipal
) -> AgentTask:
    with ctx.store.begin() as conn:
        return service.complete_task(
            conn,
            workspace_id=principal.workspace_id,
            task_id=task_id,
            assignee=body.assignee,
            outcome=body.outcome,
            now=ctx.clock.now(),
            actor=principal,
        )


# --- in-app inbox (called by the app with the user's inbox token) --------------------------


class InboxTokenIn(BaseModel):
    profile_id: str


@router.post("/inbox-tokens")
def issue_inbox_token(
    body: InboxTokenIn, ctx: ContextDep, principal: WritePrincipal
) -> dict[str, str]:
    """Issue the token an app's user reads their inbox with (call it from the app's backend)."""
    with ctx.store.begin() as conn:
        token = service.issue_inbox_token(
            conn,
            workspace_id=principal.workspace_id,
            profile_id=body.profile_id,
            secret_key=ctx.settings.secret_key,
            now=ctx.clock.now(),
            actor=principal,
        )
    return {"token": token}


def _inbox_user(ctx: Any, header: str | None, query: str | None) -> tuple[str, str]:
    token = header or query
    if not token:
        raise Unauthorized("send the inbox token as X-Inbox-Token", field="X-Inbox-Token")
    try:
        return service.inbox_identity(ctx.settings.secret_key, token)
    except BadRequest as exc:
        raise Forbidden("inbox token is not valid", field="X-Inbox-Token") from exc


InboxHeader = Annotated[str | None, Header(alias="X-Inbox-Token")]


@router.get("/inbox", response_model=list[InboxItem])
def list_inbox(
    ctx: ContextDep,
    x_inbox_token: InboxHeader = None,
    token: str | None = None,
    unread: bool = False,
) -> list[InboxItem]:
    workspace_id, profile_id = _inbox_user(ctx, x_inbox_token, token)
    with ctx.store.read() as conn:
        return service.list_inbox(
            conn, workspace_id=workspace_id, profile_id=profile_id, unread_only=unread
        )


class ReadIn(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=500)


@router.post("/inbox/read")
def mark_read(
    body: ReadIn, ctx: ContextDep, x_inbox_token: InboxHeader = None, token: str | None = None
) -> dict[str, int]:
    workspace_id, profile_id = _inbox_user(ctx, x_inbox_token, token)
    with ctx.store.begin() as conn:
        count = service.mark_read(
            conn,
            workspace_id=workspace_id,
            profile_id=profile_id,
            item_ids=body.ids,
            now=ctx.clock.now(),
            actor=Actor.customer(workspace_id, profile_id),
        )
    return {"marked": count}


@router.get("/inbox/stream")
async def inbox_stream(
    request: Request,
    ctx: ContextDep,
    x_inbox_token: InboxHeader = None,
    token: str | None = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    seconds: float = Query(300, gt=0, le=3600, description="close the stream after this long"),
) -> StreamingResponse:
    """Server-sent events: every new inbox item as ``event: message`` (resumable with
    ``Last-Event-ID``); a comment every 15 s keeps proxies from closing the stream."""
    workspace_id, profile_id = _inbox_user(ctx, x_inbox_token, token)

    def fetch(after: str | None) -> list[InboxItem]:
        with ctx.store.read() as conn:
            return service.list_inbox(
                conn, workspace_id=workspace_id, profile_id=profile_id, after=after or ""
            )

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        cursor = last_event_id or ""
        quiet = 0.0
        while loop.time() < deadline:
            if await request.is_disconnected():
                return
            items = await run_in_threadpool(fetch, cursor)
            for item in items:
                cursor = item.id
                data = jsonutil.dumps_str(item.model_dump(mode="json"))
                yield f"id: {item.id}\nevent: message\ndata: {data}\n\n"
            if not items:
                quiet += 0.25
                if quiet >= 15:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(0.25)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
