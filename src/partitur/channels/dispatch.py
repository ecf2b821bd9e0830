"""The dispatcher: claims due outbox rows, decides (consent, caps, quiet hours, send-time),
renders, sends through the plugins in parallel and records every outcome.

Three short steps so no transaction is held open while talking to a provider:
1. one transaction claims a batch (``sending`` + lease), decides and renders it
   (``delivery_plan``), and records the outcomes of the messages that will not be sent now
   (suppressed, capped, deferred, failed);
2. the plugins send, from a thread pool;
3. one transaction judges each provider answer (``_judge``: outcome, retry or dead letter,
   circuit breaker) and records the outcomes (``delivery_outcomes.record_outcomes``, the one
   place outcomes are written, with their delivery events).
A worker killed between 1 and 3 leaves ``sending`` rows whose lease expires; ``recover`` puts
them back with the same idempotency key (which providers use to drop the duplicate).

When there is more due than one batch, the steps of consecutive batches overlap: batch k+1 is
claimed and planned while batch k is on the wire, and batch k is recorded while k+1 is, so the
database work hides behind the providers' round trips (breaker and rate-limit state then lag
one batch behind).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.base import DeliveryContext, DeliveryResult
from partitur.channels.contracts import DispatchReport
from partitur.channels.delivery_outcomes import DeliveryOutcome, record_outcomes
from partitur.channels.delivery_plan import EndpointLimits, Job, ProviderPlugins, plan_batch
from partitur.channels.delivery_rules import CircuitBreaker, backoff, jitter_fraction
from partitur.context import Context
from partitur.core import outbound
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.ids import new_id

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted while sending; retried with the same idempotency key"


@dataclass
class _Batch:
    """A claimed batch: its rows and the jobs of it that go to the providers."""

    rows: list[dict[str, Any]]
    jobs: list[Job]


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


class Dispatcher:
    """Delivers due outbox messages: ``run_once(now)`` is one pass (the channels loop runs it
    continuously), ``recover(now)`` returns messages of dead senders to the queue."""

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
        self.limits = EndpointLimits(breaker or CircuitBreaker())
        self.plugins = ProviderPlugins(ctx.settings, self.limits)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.plugins.close()

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
        pending = self._submit(current.jobs, now)
        batches = 1
        while True:
            following = None
            if len(current.rows) == self.batch_size and batches < self.max_batches:
                try:
                    following = self._claim_and_plan(now, report)
                except Exception:
                    # what was sent is recorded whatever went wrong with the next batch
                    self._record_sent(current, pending.results(), now, report)
                    raise
                batches += 1
            results = pending.results()
            if following is not None:
                pending = self._submit(following.jobs, now)
            self._record_sent(current, results, now, report)
            if following is None:
                break
            current = following
        self.ctx.signals.notify("events")  # journeys waiting on message.* events wake up
        return report

    def recover(self, now: datetime) -> int:
        """Put rows whose sender died back in the queue (same idempotency key)."""
        with self.ctx.store.begin() as conn:
            stale = repository.stale_sending(conn, now=now, limit=self.batch_size)
            record_outcomes(
                conn,
                [DeliveryOutcome(row, "deferred", INTERRUPTED, retry_at=now) for row in stale],
                now=now,
                report=DispatchReport(),
            )
        return len(stale)

    # --- step 1: claim, decide and render -----------------------------------------------------

    def _claim_and_plan(self, now: datetime, report: DispatchReport) -> _Batch | None:
        """Claim the next batch and decide it; the outcomes of messages that are not sent now
        are recorded in the same transaction. None when nothing is due."""
        claim_id = new_id("clm")
        with self.ctx.store.begin() as conn:
            rows = repository.claim_due(
                conn, now=now, limit=self.batch_size, claim_id=claim_id, until=now + self.lease
            )
            report.claimed += len(rows)
            if not rows:
                return None
            plan = plan_batch(
                conn,
                rows,
                now=now,
                settings=self.ctx.settings,
                plugins=self.plugins,
                limits=self.limits,
            )
            record_outcomes(conn, plan.held_back, now=now, report=report)
        return _Batch(rows, plan.jobs)

    # --- step 2: send -------------------------------------------------------------------------

    def _submit(self, jobs: list[Job], now: datetime) -> _Sending:
        """Hand the jobs to the sending threads: each takes the next job from one shared queue
        until it is empty (a slow provider holds up one thread, not a share of the batch; and a
        batch costs a handful of thread hand-overs instead of one per message)."""
        context = DeliveryContext(settings=self.ctx.settings, store=self.ctx.store, now=now)
        queue = deque(enumerate(jobs))
        results: list[DeliveryResult | None] = [None] * len(jobs)

        def one(job: Job) -> DeliveryResult:
            try:
                return job.plugin.send(job.message, context)
            except outbound.OutboundRefused as exc:
                return DeliveryResult.failed(f"{job.plugin.kind}: {exc}")
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

    # --- step 3: judge and record -------------------------------------------------------------

    def _record_sent(
        self,
        batch: _Batch,
        results: list[DeliveryResult],
        now: datetime,
        report: DispatchReport,
    ) -> None:
        """Judge and record what the providers answered to a batch, in one transaction with its
        endpoints' breaker state (a message whose lease ran out while it was on the wire is left
        to whoever re-claimed it)."""
        if not batch.jobs:
            return
        with self.ctx.store.begin() as conn:
            endpoints = {job.endpoint for job in batch.jobs}
            self.limits.load(conn, endpoints, set(), now)
            outcomes = [
                self._judge(job, result, now)
                for job, result in zip(batch.jobs, results, strict=True)
            ]
            self.limits.save_breakers(conn, endpoints, now)
            record_outcomes(conn, outcomes, now=now, report=report)

    def _judge(self, job: Job, result: DeliveryResult, now: datetime) -> DeliveryOutcome:
        """The outcome of a provider's answer; the endpoint's breaker hears how it went. A
        transient failure is retried with backoff until the attempts run out (dead letter)."""
        row = job.row
        to = job.message.to
        breaker = self.limits.breaker
        invalid = tuple(result.invalid_tokens)
        if result.outcome in ("sent", "delivered"):
            breaker.record(job.endpoint, True, now)
            return DeliveryOutcome(
                row,
                result.outcome,
                recipient=to,
                provider=job.plugin.name,
                provider_message_id=result.provider_message_id,
                cost=result.cost if result.cost is not None else job.cost,
                details=result.details,
                reached=job.recipient,
                invalid_tokens=invalid,
            )
        if result.outcome == "bounced":
            return DeliveryOutcome(
                row,
                "bounced",
                result.error or "bounced",
                recipient=to,
                suppress_recipient=True,
                invalid_tokens=invalid,
            )
        if result.outcome == "failed":
            breaker.record(job.endpoint, True, now)  # the endpoint answered; it is alive
            return DeliveryOutcome(
                row, "failed", result.error or "failed", recipient=to, invalid_tokens=invalid
            )
        breaker.record(job.endpoint, False, now)
        if row["attempts"] >= job.max_attempts:
            return DeliveryOutcome(
                row,
                "failed",
                f"dead letter after {row['attempts']} attempts: {result.error}",
                recipient=to,
                details={"dead_letter": True},
                invalid_tokens=invalid,
            )
        delay = backoff(
            attempt=row["attempts"],
            base_seconds=job.policy.retry_base_seconds,
            max_seconds=job.policy.retry_max_seconds,
            jitter=jitter_fraction(row["id"], row["attempts"]),
        )
        if result.retry_after:
            delay = max(delay, timedelta(seconds=result.retry_after))
        return DeliveryOutcome(
            row,
            "deferred",
            f"attempt {row['attempts']} failed: {result.error}",
            retry_at=now + delay,
            invalid_tokens=invalid,
        )


def dispatch_due(
    ctx: Context, *, passes: int = 1, on_pass: Callable[[DispatchReport], None] | None = None
) -> DispatchReport:
    """Deliver the due messages now, in up to ``passes`` dispatcher passes (fewer once one
    finds nothing), as the worker does continuously; the reports summed. ``on_pass`` hears
    each pass (progress bars)."""
    dispatcher = Dispatcher(ctx)
    total = DispatchReport()
    try:
        for _ in range(passes):
            report = dispatcher.run_once(ctx.clock.now())
            for field, value in report.model_dump().items():
                setattr(total, field, getattr(total, field) + value)
            if on_pass is not None:
                on_pass(report)
            if report.claimed == 0:
                break
    finally:
        dispatcher.close()
    return total


@action("outbox.dispatch", permission=Permission.manage_workspace, subject="outbox")
def record_manual_dispatch(
    conn: Connection, *, workspace_id: str, report: dict[str, Any], now: datetime, actor: Actor
) -> None:
    """Audit a dispatcher pass an admin ran by hand (the pass itself writes as the loop does)."""
    describe(subject_id=workspace_id, details=report)
