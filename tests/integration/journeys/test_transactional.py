"""A journey may send as transactional (skipping marketing consent) only templates an admin
marked transactional; publishing says which step is at fault."""

from __future__ import annotations

import pytest

from partitur.channels import service as channels
from partitur.channels.contracts import TemplateIn
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import InvalidDocument
from partitur.journeys import service

NOTICE = {
    "key": "notice",
    "name": "Service notice",
    "category": "transactional",
    "entry": {"type": "event", "event": "Outage Detected"},
    "start": "tell",
    "nodes": [{"id": "tell", "type": "send", "channel": "email", "template": "outage"}],
}


def _template(ctx: Context, *, transactional: bool) -> None:
    with ctx.store.begin() as conn:
        channels.save_template(
            conn,
            workspace_id=ctx.workspace_id,
            template=TemplateIn(
                key="outage",
                channel="email",
                subject="Outage",
                body_text="We are on it.",
                transactional=transactional,
            ),
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "admin"),
        )


def _validate(ctx: Context) -> None:
    with ctx.store.read() as conn:
        service.validate(conn, workspace_id=ctx.workspace_id, document=NOTICE)


def test_a_transactional_send_needs_a_template_marked_transactional(ctx: Context) -> None:
    _template(ctx, transactional=False)
    with pytest.raises(InvalidDocument) as refused:
        _validate(ctx)
    (problem,) = refused.value.problems
    assert problem["node"] == "tell" and "not marked transactional" in problem["message"]
    _template(ctx, transactional=True)
    _validate(ctx)  # no problem now
    marketing = {**NOTICE, "category": "marketing"}
    _template(ctx, transactional=False)
    with ctx.store.read() as conn:
        service.validate(conn, workspace_id=ctx.workspace_id, document=marketing)
