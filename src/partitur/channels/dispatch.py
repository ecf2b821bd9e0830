"""The dispatcher: claims due outbox rows, decides (consent, caps, quiet hours, send-time),
renders, sends through the plugins in parallel and records every outcome.

Three short steps so no transaction is held open while talking to a provider:
1. one transaction claims a batch (``sending`` + lease), decides and renders it, and writes the
   messages that will not be sent now (suppressed, capped, deferred, failed);
2. the plugins send, from a thread pool;
3. one transaction records the results (and the delivery events).
A worker killed between 1 and 3 leaves ``sending`` rows whose lease expires; the retry loop puts
them back with the same idempotency key (which providers use to drop the duplicate).

When there is more due than one batch, the steps of consecutive batches overlap: batch k+1 is
claimed and planned while batch k is on the wire, and batch k is recorded while k+1 is, so the
database work hides behind the providers' round trips (breaker and rate-limit state then lag
one batch behind).
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from partitur.channels import repository, service
from partitur.channels.base import (
    Channel,
    DeliveryContext,
    DeliveryResult,
    InvalidAddress,
    OutboundMessage,
)
from partitur.channels.contracts import DeliveryPolicy, DispatchReport, RenderedMessage, SendRequest
from partitur.channels.delivery_rules import (
    SEND,
    Candidate,
    CircuitBreaker,
    DeliveryFacts,
    TokenBucket,
    Verdict,
    backoff,
    best_hour,
    cap_contest,
    gate,
    jitter_fraction,
    next_send_time,
)
from partitur.channels.plugins import DEFAULT_KIND, registry
from partitur.channels.plugins.email import normalise_email, tracking_links
from partitur.channels.recipients import Recipient, recipients_of_messages
from partitur.channels.signing import decrypt_secrets
from partitur.channels.templates import TemplateBook, TemplateProblem
from partitur.context import Context
from partitur.core import jsonutil
from partitur.core.ids import new_id

log = logging.getLogger(__name__)


@dataclass
class _Job:
    row: dict[str, Any]
    plugin: Channel
    message: OutboundMessage
    endpoint: str
    cost: Decimal
    max_attempts: int
    policy: DeliveryPolicy
    recipient: Recipient


@dataclass
class _Sending:
    """A batch on the wire: the sending threads' futures and the results they fill in."""

    workers: list[Future[None]]
    slots: list[DeliveryResult | None]

    def results(self) -> list[DeliveryResult]:
        for worker in self.workers:
            worker.result()
        done = [r for r in self.slots if r is not None]
        assert len(done) == len(self.slots), "a sending thread left a job unsent"
        return done


@dataclass
class _Workspace:
    policy: DeliveryPolicy
    book: TemplateBook
    providers: list[dict[str, Any]]
    groups: dict[str, dict[str, Any]]


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


class Dispatcher:
    def __init__(
        self,
        ctx: Context,
        *,
        batch_size: int = 500,
        threads: int = 16,
        lease: timedelta = timedelta(minutes=5),
        breaker: CircuitBreaker | None = None,
        max_batches: int = 8,
    ) -> None:
        self.ctx = ctx
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.threads = threads
        self.lease = lease
        self.breaker = breaker or CircuitBreaker()
        self.buckets: dict[str, TokenBucket] = {}
        self._plugins: dict[tuple[Any, ...], Channel] = {}
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send")
        #: delivery events of the current transaction, written in one go at its end
        self._finished: list[dict[str, Any]] = []
        self._events: list[
            tuple[str, tuple[str, dict[str, Any], dict[str, Any]], Recipient | None]
        ] = []

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for plugin in self._plugins.values():
            plugin.close()
        self._plugins.clear()

    # --- one pass ----------------------------------------------------------------------------

    def run_once(self, now: datetime) -> DispatchReport:
        """One pass: claim, decide and send due messages and record their outcomes.

        While a full batch is being sent, the next one is claimed and planned (and the batch
        before it recorded), so the database work overlaps the providers' round trips; a pass
        ends with a batch that is not full, or after ``max_batches`` batches.
        """
        report = DispatchReport()
        current = self._claim_and_plan(now, report)
        if current is None:
            return report
        pending = self._submit(current[1], now)
        batches = 1
        while True:
            following = None
            if len(current[2]) == self.batch_size and batches < self.max_batches:
                try:
                    following = self._claim_and_plan(now, report)
                except Exception:
                    # what was sent is recorded whatever went wrong with the next batch
                    results = pending.results()
                    self._record_batch(current[0], current[1], results, now, report)
                    raise
                batches += 1
            results = pending.results()
            if following is not None:
                pending = self._submit(following[1], now)
            self._record_batch(current[0], current[1], results, now, report)
            if following is None:
                break
            current = following
        self.ctx.signals.notify("events")  # journeys waiting on message.* events wake up
        return report

    def _claim_and_plan(
        self, now: datetime, report: DispatchReport
    ) -> tuple[str, list[_Job], list[dict[str, Any]]] | None:
        """Step 1 for one batch: ``(claim id, jobs to send, claimed rows)``, None if none."""
        self._events = []
        self._finished = []
        claim_id = new_id("clm")
        with self.ctx.store.begin() as conn:
            rows = repository.claim_due(
                conn, now=now, limit=self.batch_size, claim_id=claim_id, until=now + self.lease
            )
            report.claimed += len(rows)
            if not rows:
                return None
            jobs = self._plan(conn, rows, claim_id, now, report)
            self._flush_writes(conn, now)
        return claim_id, jobs, rows

    def _record_batch(
        self,
        claim_id: str,
        jobs: list[_Job],
        results: list[DeliveryResult],
        now: datetime,
        report: DispatchReport,
    ) -> None:
        """Step 3 for one batch: outcomes, retries, breaker state and events, one transaction."""
        if not jobs:
            return
        self._events = []
        self._finished = []
        with self.ctx.store.begin() as conn:
            # a lease that ran out while sending belongs to whoever re-claimed the row
            kept = repository.held(conn, ids=[job.row["id"] for job in jobs], claim_id=claim_id)
            if len(kept) != len(jobs):
                log.warning("%d messages lost their claim while sending", len(jobs) - len(kept))
            endpoints = {job.endpoint for job in jobs}
            self._load_states(conn, endpoints, set(), now)
            for job, result in zip(jobs, results, strict=True):
                if job.row["id"] in kept:
                    self._record(conn, job, result, claim_id, now, report)
            self._save_breaker(conn, endpoints, now)
            self._flush_writes(conn, now)

    def _flush_writes(self, conn: Connection, now: datetime) -> None:
        """The batch's outcome rows (one statement per shape) and delivery events, at once."""
        finished, self._finished = self._finished, []
        repository.finish_many(conn, finished)
        self._flush_events(conn, now)

    def _flush_events(self, conn: Connection, now: datetime) -> None:
        pending, self._events = self._events, []
        by_workspace: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
        recipients: dict[str, Recipient] = {}
        for workspace_id, item, recipient in pending:
            by_workspace.setdefault(workspace_id, []).append(item)
            if recipient is not None:
                recipients[recipient.profile_id] = recipient
        for workspace_id, items in by_workspace.items():
            service.emit_events(
                conn, workspace_id=workspace_id, items=items, now=now, recipients=recipients
            )

    def recover(self, now: datetime) -> int:
        """Put rows whose sender died back in the queue (same idempotency key)."""
        with self.ctx.store.begin() as conn:
            stale = repository.stale_sending(conn, now=now, limit=self.batch_size)
            repository.finish_many(
                conn,
                [
                    {
                        "_id": row["id"],
                        "_claim": row["claim"],
                        "status": "deferred",
                        "next_attempt_at": now,
                        "claim": None,
                        "locked_until": None,
                        "error": "interrupted while sending; retried with the same idempotency key",
                        "updated_at": now,
                    }
                    for row in stale
                ],
            )
        return len(stale)

    # --- step 1: decide and render ------------------------------------------------------------

    def _workspace(self, conn: Connection, workspace_id: str) -> _Workspace:
        return _Workspace(
            policy=repository.load_policy(conn, workspace_id=workspace_id),
            book=service.template_book(conn, workspace_id=workspace_id),
            providers=repository.providers(conn, workspace_id=workspace_id),
            groups=repository.group_channels(conn, workspace_id=workspace_id),
        )

    def _plugin(
        self, ws: _Workspace, workspace_id: str, row: dict[str, Any]
    ) -> tuple[Channel, Decimal, dict[str, Any]]:
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
                    name=kind, config={}, secrets={}, settings=self.ctx.settings
                )
            return self._plugins[key], Decimal("0"), {}
        # a changed provider (config or secrets) gets a fresh plugin instance
        key = (chosen["id"], chosen["secrets"], jsonutil.dumps_str(chosen["config"]))
        if key not in self._plugins:
            plugin_class = plugins.get(chosen["kind"])
            if plugin_class is None:
                raise InvalidAddress(f"provider kind {chosen['kind']!r} is not installed")
            self._plugins[key] = plugin_class(
                name=chosen["name"],
                config=dict(chosen["config"]),
                secrets=decrypt_secrets(self.ctx.settings.secret_key, chosen["secrets"]),
                settings=self.ctx.settings,
            )
            if chosen["rate_per_second"]:
                rate = float(chosen["rate_per_second"])
                self.buckets[chosen["id"]] = TokenBucket(rate=rate, burst=max(rate, 1.0))
        return self._plugins[key], Decimal(chosen["cost"] or 0), chosen

    def _plan(
        self,
        conn: Connection,
        rows: list[dict[str, Any]],
        claim_id: str,
        now: datetime,
        report: DispatchReport,
    ) -> list[_Job]:
        spaces: dict[str, _Workspace] = {}
        for row in rows:
            if row["workspace_id"] not in spaces:
                spaces[row["workspace_id"]] = self._workspace(conn, row["workspace_id"])
        profile_ids = {r["profile_id"] for r in rows}
        recipients = recipients_of_messages(conn, rows)
        longest = max(
            (rule.window_hours for ws in spaces.values() for rule in ws.policy.caps), default=24.0
        )
        # transactional messages neither count against caps nor are capped
        capped_ids = {r["profile_id"] for r in rows if r["category"] != "transactional"}
        sent = (
            repository.recent_sends(
                conn, profile_ids=capped_ids, since=now - timedelta(hours=longest)
            )
            if capped_ids
            else {}
        )
        sto_ids = [r["profile_id"] for r in rows if r["payload"].get("send_time") == "optimal"]
        engagements = repository.engagement_times(conn, profile_ids=sto_ids) if sto_ids else {}
        consent: dict[str, dict[tuple[str, str], str]] = {}
        tokens: dict[str, list[str]] = {}
        for ws_id in spaces:
            consent.update(
                repository.consent_map(conn, workspace_id=ws_id, profile_ids=profile_ids)
            )
            tokens.update(
                repository.active_tokens(conn, workspace_id=ws_id, profile_ids=profile_ids)
            )

        prepared: list[
            tuple[dict[str, Any], Channel, Decimal, dict[str, Any], str | None, Recipient]
        ] = []
        addresses: dict[str, set[tuple[str, str]]] = {}
        #: the provider of each (workspace, channel, endpoint, provider, template) in this batch
        chosen: dict[tuple[Any, ...], tuple[Channel, Decimal, dict[str, Any]]] = {}
        for row in rows:
            recipient = recipients.get(row["profile_id"])
            if recipient is None:
                self._close(
                    conn,
                    row,
                    claim_id,
                    now,
                    report,
                    "failed",
                    f"profile {row['profile_id']} not found",
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
            ws = spaces[row["workspace_id"]]
            try:
                wanted = (
                    row["workspace_id"],
                    row["channel"],
                    row["payload"].get("endpoint"),
                    row["payload"].get("provider"),
                    row["template"],
                )
                if wanted not in chosen:
                    chosen[wanted] = self._plugin(ws, row["workspace_id"], row)
                plugin, cost, provider = chosen[wanted]
                address = plugin.address(recipient, row["payload"])
            except (InvalidAddress, ValueError) as exc:
                self._close(conn, row, claim_id, now, report, "failed", str(exc))
                continue
            if row["channel"] == "push" and address:
                dead = repository.invalid_tokens(
                    conn, workspace_id=row["workspace_id"], tokens=address.split(",")
                )
                live = [t for t in address.split(",") if t not in dead]
                if not live:
                    self._close(
                        conn,
                        row,
                        claim_id,
                        now,
                        report,
                        "failed",
                        "profile has no valid push device token",
                    )
                    continue
                address = ",".join(live)
            prepared.append((row, plugin, cost, provider, address, recipient))
            if address and row["channel"] in ("email", "sms", "push"):
                addresses.setdefault(row["workspace_id"], set()).update(
                    (row["channel"], a) for a in address.split(",")
                )
        blocked: set[tuple[str, str, str]] = set()
        for ws_id, pairs in addresses.items():
            blocked.update(
                (ws_id, c, a)
                for c, a in repository.suppressed(conn, workspace_id=ws_id, pairs=pairs)
            )

        # frequency caps: one contest per profile among the messages that passed consent
        caps: dict[str, Verdict] = {}
        by_profile: dict[str, list[Candidate]] = {}
        profile_space: dict[str, str] = {}
        for row, *_ in prepared:
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
        rated = {p["id"] for _, _, _, p, _, _ in prepared if p.get("id") in self.buckets}
        states = self._load_states(
            conn,
            {f"{row['workspace_id']}:{plugin.name}" for row, plugin, *_ in prepared},
            rated,
            now,
        )
        jobs: list[_Job] = []
        for row, plugin, cost, provider, address, recipient in prepared:
            ws = spaces[row["workspace_id"]]
            policy = ws.policy
            group = row["payload"].get("group")
            is_suppressed = bool(address) and any(
                (row["workspace_id"], row["channel"], a) in blocked
                for a in (address or "").split(",")
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
                hour = best_hour(
                    engagements.get(row["profile_id"], []),
                    timezone=recipient.timezone or policy.default_timezone,
                    fallback_hour=policy.sto_fallback_hour,
                    min_events=policy.sto_min_events,
                )
                when = next_send_time(
                    now=now, hour=hour, timezone=recipient.timezone or policy.default_timezone
                )
                if when > now:
                    verdict = Verdict("defer", f"send-time optimisation: {hour:02d}:00 local", when)
            endpoint = f"{row['workspace_id']}:{plugin.name}"
            if verdict.action == "send":
                closed_until = self.breaker.allows(endpoint, now)
                if closed_until is not None:
                    verdict = Verdict("defer", f"circuit open for {plugin.name}", closed_until)
                elif provider.get("id") in self.buckets:
                    wait = self.buckets[provider["id"]].take(now)
                    if wait > 0:
                        verdict = Verdict(
                            "defer", f"rate limit of {plugin.name}", now + timedelta(seconds=wait)
                        )
            if verdict.action == "suppress":
                self._close(
                    conn,
                    row,
                    claim_id,
                    now,
                    report,
                    "suppressed",
                    verdict.reason,
                    recipient=address,
                )
                continue
            if verdict.action == "cap":
                self._close(
                    conn, row, claim_id, now, report, "capped", verdict.reason, recipient=address
                )
                continue
            if verdict.action == "defer":
                self._defer(
                    conn,
                    row,
                    claim_id,
                    now,
                    report,
                    verdict.until or now,
                    verdict.reason,
                    consume=False,
                )
                continue
            try:
                rendered = self._render(ws.book, plugin, row, recipient, policy)
            except TemplateProblem as exc:
                self._close(
                    conn,
                    row,
                    claim_id,
                    now,
                    report,
                    "failed",
                    f"template: {exc}",
                    recipient=address,
                )
                continue
            max_attempts = int(
                provider.get("config", {}).get("max_attempts")
                or (
                    policy.webhook_max_attempts
                    if row["channel"] == "webhook"
                    else policy.max_attempts
                )
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
            jobs.append(_Job(row, plugin, message, endpoint, cost, max_attempts, policy, recipient))
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
        return jobs

    def _load_states(
        self, conn: Connection, endpoints: set[str], rated: set[str], now: datetime
    ) -> dict[str, dict[str, Any]]:
        """Lock and load the shared breaker state of ``endpoints`` and the token buckets of the
        ``rated`` providers into this dispatcher's breaker and buckets."""
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

    def _save_breaker(self, conn: Connection, endpoints: set[str], now: datetime) -> None:
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

    def _render(
        self,
        book: TemplateBook,
        plugin: Channel,
        row: dict[str, Any],
        recipient: Recipient,
        policy: DeliveryPolicy,
    ) -> RenderedMessage | None:
        payload = row["payload"]
        settings = self.ctx.settings
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
                context=service.template_context(recipient, row["data"], message_id=row["id"]),
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
            context=service.template_context(
                recipient, row["data"], message_id=row["id"], links=links
            ),
        )

    # --- step 2: send -------------------------------------------------------------------------

    def _submit(self, jobs: list[_Job], now: datetime) -> _Sending:
        """Hand the jobs to the sending threads: each takes the next job from one shared queue
        until it is empty (a slow provider holds up one thread, not a share of the batch; and a
        batch costs a handful of thread hand-overs instead of one per message)."""
        context = DeliveryContext(settings=self.ctx.settings, store=self.ctx.store, now=now)
        queue = deque(enumerate(jobs))
        results: list[DeliveryResult | None] = [None] * len(jobs)

        def one(job: _Job) -> DeliveryResult:
            try:
                return job.plugin.send(job.message, context)
            except Exception as exc:
                log.exception(
                    "channel plugin failed kind=%s message=%s", job.plugin.kind, job.row["id"]
                )
                return DeliveryResult.failed(
                    f"{job.plugin.kind} plugin error: {type(exc).__name__}: {exc}"
                )

        def drain() -> None:
            while True:
                try:
                    index, job = queue.popleft()  # atomic: threads never take the same job
                except IndexError:
                    return
                results[index] = one(job)

        workers = min(self.threads, len(jobs))
        return _Sending([self._pool.submit(drain) for _ in range(workers)], results)

    # --- step 3: record -----------------------------------------------------------------------

    def _record(
        self,
        conn: Connection,
        job: _Job,
        result: DeliveryResult,
        claim_id: str,
        now: datetime,
        report: DispatchReport,
    ) -> None:
        row = job.row
        ws_id = row["workspace_id"]
        if result.invalid_tokens:
            service.invalidate_tokens(
                conn,
                workspace_id=ws_id,
                profile_id=row["profile_id"],
                tokens=result.invalid_tokens,
                now=now,
            )
        if result.outcome in ("sent", "delivered"):
            self.breaker.record(job.endpoint, True, now)
            delivered = result.outcome == "delivered"
            # a replayed send (journeys backfill) was sent when it was made on the journey's clock
            sent_at = row.get("replayed_at") or now
            values = {
                "_id": row["id"],
                "_claim": claim_id,
                "status": result.outcome,
                "sent_at": sent_at,
                "delivered_at": sent_at if delivered else None,
                "cost": result.cost if result.cost is not None else job.cost,
                "provider_message_id": result.provider_message_id,
                "provider": job.plugin.name,
                "recipient": job.message.to,
                "error": None,
                "next_attempt_at": None,
                "claim": None,
                "locked_until": None,
                "updated_at": now,
            }
            self._finished.append(values)
            stamp = {"_at": sent_at} if row.get("replayed_at") else {}
            events: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
                ("sent", row, {**dict(result.details), **stamp})
            ]
            if delivered:
                events.append(("delivered", row, dict(stamp)))
                report.delivered += 1
            else:
                report.sent += 1
            self._events.extend((ws_id, item, job.recipient) for item in events)
            self._notify_owner(conn, job, now)
            return
        if result.outcome == "bounced":
            if job.message.to:
                address = (
                    normalise_email(job.message.to) if row["channel"] == "email" else job.message.to
                )
                service.suppress(
                    conn,
                    workspace_id=ws_id,
                    channel=row["channel"],
                    address=address,
                    reason="hard_bounce",
                    now=now,
                )
            self._close(
                conn,
                row,
                claim_id,
                now,
                report,
                "bounced",
                result.error or "bounced",
                recipient=job.message.to,
            )
            return
        if result.outcome == "failed":
            self.breaker.record(job.endpoint, True, now)  # the endpoint answered; it is alive
            self._close(
                conn,
                row,
                claim_id,
                now,
                report,
                "failed",
                result.error or "failed",
                recipient=job.message.to,
            )
            return
        self.breaker.record(job.endpoint, False, now)
        if row["attempts"] >= job.max_attempts:
            self._close(
                conn,
                row,
                claim_id,
                now,
                report,
                "failed",
                f"dead letter after {row['attempts']} attempts: {result.error}",
                recipient=job.message.to,
                extra={"dead_letter": True},
            )
            return
        delay = backoff(
            attempt=row["attempts"],
            base_seconds=job.policy.retry_base_seconds,
            max_seconds=job.policy.retry_max_seconds,
            jitter=jitter_fraction(row["id"], row["attempts"]),
        )
        if result.retry_after:
            delay = max(delay, timedelta(seconds=result.retry_after))
        self._defer(
            conn,
            row,
            claim_id,
            now,
            report,
            now + delay,
            f"attempt {row['attempts']} failed: {result.error}",
            consume=True,
        )

    def _close(
        self,
        conn: Connection,
        row: dict[str, Any],
        claim_id: str,
        now: datetime,
        report: DispatchReport,
        status: str,
        error: str,
        *,
        recipient: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._finished.append(
            {
                "_id": row["id"],
                "_claim": claim_id,
                "status": status,
                "error": error,
                "claim": None,
                "locked_until": None,
                "next_attempt_at": None,
                "updated_at": now,
                "recipient": recipient,
            }
        )
        setattr(report, status, getattr(report, status) + 1)
        if status in ("failed", "bounced"):
            item = (status, row, {"error": error, **(extra or {})})
            self._events.append((row["workspace_id"], item, None))

    def _defer(
        self,
        conn: Connection,
        row: dict[str, Any],
        claim_id: str,
        now: datetime,
        report: DispatchReport,
        until: datetime,
        reason: str,
        *,
        consume: bool,
    ) -> None:
        self._finished.append(
            {
                "_id": row["id"],
                "_claim": claim_id,
                "status": "deferred",
                "next_attempt_at": until,
                "error": reason,
                "claim": None,
                "locked_until": None,
                "updated_at": now,
                # waiting for quiet hours, caps or a rate limit is not a failed attempt
                "attempts": row["attempts"] if consume else row["attempts"] - 1,
            }
        )
        report.deferred += 1

    def _notify_owner(self, conn: Connection, job: _Job, now: datetime) -> None:
        """Tell the account owner, once per journey and customer, that an automated journey
        touched their customer."""
        row = job.row
        owner = job.recipient.account_owner
        if (
            not owner
            or not row["journey_id"]
            or row["channel"] == "agent_task"
            or row["payload"].get("builtin")
        ):
            return
        name = job.recipient.traits.get("name") or job.recipient.email or row["profile_id"]
        service.enqueue(
            conn,
            request=SendRequest(
                idempotency_key=f"owner:{row['journey_id']}:{row['profile_id']}:{owner}",
                workspace_id=row["workspace_id"],
                profile_id=row["profile_id"],
                channel="email",
                category="transactional",
                journey_id=row["journey_id"],
                payload={
                    "builtin": "owner_notice",
                    "to": owner,
                    "subject": f"partitur: journey {row['journey_id']} contacted {name}",
                    "text": (
                        f"An automated journey ({row['journey_id']}) sent a "
                        f"{row['channel']} message to your customer {name} "
                        f"(profile {row['profile_id']}).\n"
                    ),
                },
            ),
            now=now,
        )
