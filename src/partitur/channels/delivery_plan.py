"""Step 1 of a dispatcher pass: decide what becomes of a claimed batch and render what goes.

For each claimed message: find the recipient, the provider (and its plugin instance) and the
address; then, with everything the batch needs loaded in bulk (consent, suppressions, recent
sends for the frequency caps, engagement times for send-time optimisation, device tokens),
let the pure gate (``delivery_rules.gate``) decide; a message that may go is checked against its
endpoint's circuit breaker and its provider's rate limit, rendered, and becomes a ``Job`` for
the sending threads. Every other message becomes a ``DeliveryOutcome`` (failed, suppressed,
capped, deferred).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.base import Channel, InvalidAddress, OutboundMessage
from partitur.channels.contracts import DeliveryPolicy, RenderedMessage
from partitur.channels.delivery_outcomes import DeliveryOutcome
from partitur.channels.delivery_rules import (
    SEND,
    Candidate,
    CircuitBreaker,
    DeliveryFacts,
    TokenBucket,
    Verdict,
    best_hour,
    cap_contest,
    gate,
    next_send_time,
)
from partitur.channels.plugins import DEFAULT_KIND, registry
from partitur.channels.plugins.email import tracking_links
from partitur.channels.recipients import Recipient, recipients_of_messages
from partitur.channels.signing import decrypt_secrets
from partitur.channels.template_library import template_book, template_context
from partitur.channels.templates import TemplateBook, TemplateProblem
from partitur.core import jsonutil
from partitur.settings import Settings


@dataclass
class Job:
    """A message that goes now: rendered, addressed, with the plugin that sends it."""

    row: dict[str, Any]
    plugin: Channel
    message: OutboundMessage
    #: the circuit breaker's key (workspace and provider)
    endpoint: str
    cost: Decimal
    max_attempts: int
    policy: DeliveryPolicy
    recipient: Recipient


@dataclass
class Plan:
    """A claimed batch, decided: what is sent now and what became of the rest."""

    jobs: list[Job] = field(default_factory=list)
    held_back: list[DeliveryOutcome] = field(default_factory=list)


@dataclass
class _Workspace:
    policy: DeliveryPolicy
    book: TemplateBook
    providers: list[dict[str, Any]]


def with_trait_consent(
    consents: dict[tuple[str, str], str], recipient: Recipient, channel: str
) -> dict[tuple[str, str], str]:
    """Consent kept on the profile (``email_opt_in``, ``sms_opt_in``, ``push_opt_in`` traits,
    e.g. synced from a CRM) counts as a channel-wide grant or revocation when the consent ledger
    has no entry for the channel; the ledger wins."""
    flag = recipient.traits.get(f"{channel}_opt_in")
    if not isinstance(flag, bool) or (channel, "*") in consents:
        return consents
    return {**consents, (channel, "*"): "granted" if flag else "revoked"}


class EndpointLimits:
    """The circuit breaker of every endpoint and the token bucket of every rate-limited
    provider. Every worker process shares them through the store: a transaction that decides
    or records sends loads them under lock first (``load``) and saves them before it ends."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker
        self.buckets: dict[str, TokenBucket] = {}

    def load(
        self, conn: Connection, endpoints: set[str], rated: set[str], now: datetime
    ) -> dict[str, dict[str, Any]]:
        """Lock and load the breaker state of ``endpoints`` and the token buckets of the
        ``rated`` providers; returns the stored rows by key."""
        states = repository.lock_endpoint_states(
            conn,
            keys=[f"breaker:{e}" for e in endpoints] + [f"rate:{pid}" for pid in rated],
            now=now,
        )
        for endpoint in endpoints:
            state = states.get(f"breaker:{endpoint}")
            if state is not None:
                self.breaker.load(endpoint, int(state["failures"]), state["open_until"])
        for pid in rated:
            state = states.get(f"rate:{pid}")
            if state is not None and state["tokens"] is not None:
                self.buckets[pid].tokens = float(state["tokens"])
                self.buckets[pid].updated = state["tokens_at"]
        return states

    def save_breakers(self, conn: Connection, endpoints: set[str], now: datetime) -> None:
        rows = []
        for endpoint in sorted(endpoints):
            failures, open_until = self.breaker.state(endpoint)
            rows.append(
                {
                    "key": f"breaker:{endpoint}",
                    "failures": failures,
                    "open_until": open_until,
                    "updated_at": now,
                }
            )
        repository.save_endpoint_states(conn, rows)

    def save_buckets(
        self, conn: Connection, rated: set[str], states: dict[str, Any], now: datetime
    ) -> None:
        repository.save_endpoint_states(
            conn,
            [
                {
                    "key": f"rate:{pid}",
                    "tokens": self.buckets[pid].tokens,
                    "tokens_at": self.buckets[pid].updated,
                    "updated_at": now,
                }
                for pid in rated
                if f"rate:{pid}" in states
            ],
        )


class ProviderPlugins:
    """One plugin instance per configured provider, reused from pass to pass (connection pools
    live in the instances); a provider whose config or secrets changed gets a fresh one."""

    def __init__(self, settings: Settings, limits: EndpointLimits) -> None:
        self.settings = settings
        self.limits = limits
        self._plugins: dict[tuple[Any, ...], Channel] = {}

    def choose(
        self, ws: _Workspace, workspace_id: str, row: dict[str, Any]
    ) -> tuple[Channel, Decimal, dict[str, Any]]:
        """``(plugin, cost per message, provider row)`` of a message: the provider its payload
        names, else the channel's default; raises ``InvalidAddress`` when there is none."""
        channel = row["channel"]
        wanted = (
            row["payload"].get("endpoint")
            if channel == "webhook"
            else row["payload"].get("provider")
        )
        candidates = [p for p in ws.providers if p["channel"] == channel]
        chosen = None
        if wanted:
            chosen = next((p for p in candidates if p["name"] == wanted), None)
            if chosen is None:
                raise InvalidAddress(f"no {channel} provider named {wanted!r}")
        else:
            # a webhook node's template may name its endpoint (journeys: template "crm-lead")
            named = [p for p in candidates if channel == "webhook" and p["name"] == row["template"]]
            defaults = [p for p in candidates if p["is_default"]] or candidates
            chosen = named[0] if named else (defaults[0] if defaults else None)
        plugins = registry()
        if chosen is None:
            kind = DEFAULT_KIND.get(channel)
            if kind is None:
                raise InvalidAddress(f"no {channel} provider is configured")
            key: tuple[Any, ...] = ("builtin", workspace_id, kind)
            if key not in self._plugins:
                self._plugins[key] = plugins[kind](
                    name=kind, config={}, secrets={}, settings=self.settings
                )
            return self._plugins[key], Decimal("0"), {}
        key = (chosen["id"], chosen["secrets"], jsonutil.dumps_str(chosen["config"]))
        if key not in self._plugins:
            plugin_class = plugins.get(chosen["kind"])
            if plugin_class is None:
                raise InvalidAddress(f"provider kind {chosen['kind']!r} is not installed")
            self._plugins[key] = plugin_class(
                name=chosen["name"],
                config=dict(chosen["config"]),
                secrets=decrypt_secrets(self.settings.secret_key, chosen["secrets"]),
                settings=self.settings,
            )
            if chosen["rate_per_second"]:
                rate = float(chosen["rate_per_second"])
                self.limits.buckets[chosen["id"]] = TokenBucket(rate=rate, burst=max(rate, 1.0))
        return self._plugins[key], Decimal(chosen["cost"] or 0), chosen

    def close(self) -> None:
        for plugin in self._plugins.values():
            plugin.close()
        self._plugins.clear()


@dataclass
class _Addressed:
    """A claimed message with its recipient, provider and address found."""

    row: dict[str, Any]
    plugin: Channel
    cost: Decimal
    provider: dict[str, Any]
    address: str | None
    recipient: Recipient


def plan_batch(
    conn: Connection,
    rows: list[dict[str, Any]],
    *,
    now: datetime,
    settings: Settings,
    plugins: ProviderPlugins,
    limits: EndpointLimits,
) -> Plan:
    """Decide a claimed batch (in the claiming transaction): the jobs to send now and the
    outcomes of the others. Rate-limit tokens taken are saved; the outcomes are the caller's to
    record."""
    plan = Plan()
    spaces: dict[str, _Workspace] = {}
    for row in rows:
        if row["workspace_id"] not in spaces:
            ws_id = row["workspace_id"]
            spaces[ws_id] = _Workspace(
                policy=repository.load_policy(conn, workspace_id=ws_id),
                book=template_book(conn, workspace_id=ws_id),
                providers=repository.providers(conn, workspace_id=ws_id),
            )
    profile_ids = {r["profile_id"] for r in rows}
    recipients = recipients_of_messages(conn, rows)
    longest = max(
        (rule.window_hours for ws in spaces.values() for rule in ws.policy.caps), default=24.0
    )
    # transactional messages neither count against caps nor are capped
    capped_ids = {r["profile_id"] for r in rows if r["category"] != "transactional"}
    sent = (
        repository.recent_sends(conn, profile_ids=capped_ids, since=now - timedelta(hours=longest))
        if capped_ids
        else {}
    )
    sto_ids = [r["profile_id"] for r in rows if r["payload"].get("send_time") == "optimal"]
    engagements = repository.engagement_times(conn, profile_ids=sto_ids) if sto_ids else {}
    consent: dict[str, dict[tuple[str, str], str]] = {}
    tokens: dict[str, list[str]] = {}
    for ws_id in spaces:
        consent.update(repository.consent_map(conn, workspace_id=ws_id, profile_ids=profile_ids))
        tokens.update(repository.active_tokens(conn, workspace_id=ws_id, profile_ids=profile_ids))

    addressed: list[_Addressed] = []
    addresses: dict[str, set[tuple[str, str]]] = {}
    #: the provider of each (workspace, channel, endpoint, provider, template) in this batch
    chosen: dict[tuple[Any, ...], tuple[Channel, Decimal, dict[str, Any]]] = {}
    for row in rows:
        recipient = recipients.get(row["profile_id"])
        if recipient is None:
            plan.held_back.append(
                DeliveryOutcome(row, "failed", f"profile {row['profile_id']} not found")
            )
            continue
        if row["channel"] == "push":
            merged = [*recipient.push_tokens, *tokens.get(row["profile_id"], [])]
            recipient = Recipient(
                **{
                    **recipient.__dict__,
                    "traits": {**recipient.traits, "push_tokens": list(dict.fromkeys(merged))},
                }
            )
        try:
            wanted = (
                row["workspace_id"],
                row["channel"],
                row["payload"].get("endpoint"),
                row["payload"].get("provider"),
                row["template"],
            )
            if wanted not in chosen:
                chosen[wanted] = plugins.choose(
                    spaces[row["workspace_id"]], row["workspace_id"], row
                )
            plugin, cost, provider = chosen[wanted]
            address = plugin.address(recipient, row["payload"])
        except (InvalidAddress, ValueError) as exc:
            plan.held_back.append(DeliveryOutcome(row, "failed", str(exc)))
            continue
        if row["channel"] == "push" and address:
            dead = repository.invalid_tokens(
                conn, workspace_id=row["workspace_id"], tokens=address.split(",")
            )
            live = [t for t in address.split(",") if t not in dead]
            if not live:
                plan.held_back.append(
                    DeliveryOutcome(row, "failed", "profile has no valid push device token")
                )
                continue
            address = ",".join(live)
        addressed.append(_Addressed(row, plugin, cost, provider, address, recipient))
        if address and row["channel"] in ("email", "sms", "push"):
            addresses.setdefault(row["workspace_id"], set()).update(
                (row["channel"], a) for a in address.split(",")
            )
    blocked: set[tuple[str, str, str]] = set()
    for ws_id, pairs in addresses.items():
        blocked.update(
            (ws_id, c, a) for c, a in repository.suppressed(conn, workspace_id=ws_id, pairs=pairs)
        )

    # frequency caps: one contest per profile among the messages that passed consent
    caps: dict[str, Verdict] = {}
    by_profile: dict[str, list[Candidate]] = {}
    profile_space: dict[str, str] = {}
    for item in addressed:
        row = item.row
        profile_space[row["profile_id"]] = row["workspace_id"]
        by_profile.setdefault(row["profile_id"], []).append(
            Candidate(
                row["id"], row["channel"], row["priority"], row["created_at"], row["category"]
            )
        )
    for pid, cands in by_profile.items():
        ws = spaces[profile_space[pid]]
        caps.update(
            cap_contest(sent=sent.get(pid, []), candidates=cands, rules=ws.policy.caps, now=now)
        )

    # breaker and rate-limit state is shared by every worker process through the store
    rated = {i.provider["id"] for i in addressed if i.provider.get("id") in limits.buckets}
    states = limits.load(
        conn,
        {f"{i.row['workspace_id']}:{i.plugin.name}" for i in addressed},
        rated,
        now,
    )
    for item in addressed:
        row, plugin, address, recipient = item.row, item.plugin, item.address, item.recipient
        ws = spaces[row["workspace_id"]]
        policy = ws.policy
        group = row["payload"].get("group")
        is_suppressed = bool(address) and any(
            (row["workspace_id"], row["channel"], a) in blocked for a in (address or "").split(",")
        )
        verdict = gate(
            DeliveryFacts(
                channel=row["channel"],
                category=row["category"],
                group=str(group) if group else None,
                consents=with_trait_consent(
                    consent.get(row["profile_id"], {}), recipient, row["channel"]
                ),
                suppressed=is_suppressed,
                timezone=recipient.timezone,
                cap=caps.get(row["id"], SEND),
            ),
            now=now,
            quiet_start=policy.quiet_start,
            quiet_end=policy.quiet_end,
            quiet_channels=set(policy.quiet_channels),
            fallback_timezone=policy.default_timezone,
        )
        if (
            verdict.action == "send"
            and row["payload"].get("send_time") == "optimal"
            and row["category"] == "marketing"
        ):
            zone = recipient.timezone or policy.default_timezone
            hour = best_hour(
                engagements.get(row["profile_id"], []),
                timezone=zone,
                fallback_hour=policy.sto_fallback_hour,
                min_events=policy.sto_min_events,
            )
            when = next_send_time(now=now, hour=hour, timezone=zone)
            if when > now:
                verdict = Verdict("defer", f"send-time optimisation: {hour:02d}:00 local", when)
        endpoint = f"{row['workspace_id']}:{plugin.name}"
        if verdict.action == "send":
            closed_until = limits.breaker.allows(endpoint, now)
            if closed_until is not None:
                verdict = Verdict("defer", f"circuit open for {plugin.name}", closed_until)
            elif item.provider.get("id") in limits.buckets:
                wait = limits.buckets[item.provider["id"]].take(now)
                if wait > 0:
                    verdict = Verdict(
                        "defer", f"rate limit of {plugin.name}", now + timedelta(seconds=wait)
                    )
        if verdict.action == "suppress":
            plan.held_back.append(
                DeliveryOutcome(row, "suppressed", verdict.reason, recipient=address)
            )
            continue
        if verdict.action == "cap":
            plan.held_back.append(DeliveryOutcome(row, "capped", verdict.reason, recipient=address))
            continue
        if verdict.action == "defer":
            plan.held_back.append(
                DeliveryOutcome(
                    row,
                    "deferred",
                    verdict.reason,
                    retry_at=verdict.until or now,
                    attempt_used=False,
                )
            )
            continue
        try:
            rendered = render(ws.book, plugin, row, recipient, policy, settings)
        except TemplateProblem as exc:
            plan.held_back.append(
                DeliveryOutcome(row, "failed", f"template: {exc}", recipient=address)
            )
            continue
        max_attempts = int(
            item.provider.get("config", {}).get("max_attempts")
            or (policy.webhook_max_attempts if row["channel"] == "webhook" else policy.max_attempts)
        )
        message = OutboundMessage(
            id=row["id"],
            workspace_id=row["workspace_id"],
            profile_id=row["profile_id"],
            channel=row["channel"],
            category=row["category"],
            template=row["template"],
            recipient=recipient,
            to=address,
            rendered=rendered,
            payload=row["payload"],
            data=row["data"],
            idempotency_key=row["idempotency_key"],
            attempt=row["attempts"],
            journey_id=row["journey_id"],
            node_id=row["node_id"],
            priority=row["priority"],
        )
        plan.jobs.append(
            Job(row, plugin, message, endpoint, item.cost, max_attempts, policy, recipient)
        )
    limits.save_buckets(conn, rated, states, now)
    return plan


def render(
    book: TemplateBook,
    plugin: Channel,
    row: dict[str, Any],
    recipient: Recipient,
    policy: DeliveryPolicy,
    settings: Settings,
) -> RenderedMessage | None:
    """The rendered message of an outbox row: its template for the recipient's locale, the
    payload's own text, or a built-in message; None for a plugin without a template.
    Raises ``TemplateProblem`` when it does not render."""
    payload = row["payload"]
    if payload.get("builtin") == "double_opt_in" and not row["template"]:
        url = f"{settings.base_url.rstrip('/')}/api/channels/confirm/{payload['confirm_token']}"
        return RenderedMessage(
            subject=f"Please confirm: {payload.get('group', 'newsletter')}",
            text=f"Please confirm your subscription by opening this link:\n{url}\n",
        )
    if not plugin.needs_template:
        # webhooks and agent tasks may use a template (the body, the agent's brief)
        has = row["template"] and book.pick("message", row["template"], None) is not None
        if not has:
            return None
        return book.render(
            row["template"],
            locale=recipient.locale or policy.default_locale,
            context=template_context(recipient, row["data"], message_id=row["id"]),
        )
    if not row["template"]:
        if not payload.get("text") and not payload.get("html"):
            raise TemplateProblem(f"a {row['channel']} message needs a template or a text")
        return RenderedMessage(
            subject=payload.get("subject"),
            text=str(payload.get("text", "")),
            html=payload.get("html"),
        )
    links = tracking_links(settings.base_url, settings.secret_key, row["id"])
    return book.render(
        row["template"],
        locale=recipient.locale or policy.default_locale,
        context=template_context(recipient, row["data"], message_id=row["id"], links=links),
    )
