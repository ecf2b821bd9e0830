"""How the Journeys page reads a journey: nodes in flow order, what each does, where it goes."""

from __future__ import annotations

from typing import Any

from partitur.analytics.contracts import NodeKpis
from partitur.journeys.definition import parse_definition
from partitur.journeys.web import describe, entry_text, flow

DOC: dict[str, Any] = {
    "key": "cart",
    "name": "Cart",
    "entry": {"type": "event", "event": "Cart Abandoned"},
    "start": "wait_order",
    "nodes": [
        {"id": "orphan", "type": "exit", "reason": "never"},
        {"id": "sms", "type": "send", "channel": "preferred", "template": "cart-sms"},
        {
            "id": "wait_order",
            "type": "wait_for_event",
            "event": "Checkout Started",
            "timeout": "PT1H",
            "next": "thanks",
            "timeout_next": "ab",
        },
        {
            "id": "ab",
            "type": "split",
            "variants": [
                {"key": "mail", "weight": 3, "next": "email"},
                {"key": "text", "weight": 1, "next": "sms"},
            ],
            "control_weight": 1,
        },
        {"id": "thanks", "type": "exit", "reason": "checking out"},
        {"id": "email", "type": "send", "channel": "email", "template": "cart", "next": "later"},
        {"id": "later", "type": "wait", "local_time": "09:30", "duration": "P1D", "next": "sms"},
    ],
}


def _kpis(node_id: str, reached: int) -> NodeKpis:
    return NodeKpis(node_id=node_id, reached=reached, waiting=0, exited_here=0, drop_off_rate=0)


def test_nodes_follow_the_flow_from_the_start_and_unreachable_ones_come_last() -> None:
    steps = flow(parse_definition(DOC), [_kpis("email", 5), _kpis("gone", 2)])
    assert [s.id for s in steps] == [
        "wait_order", "thanks", "ab", "email", "sms", "later", "orphan", "gone",
    ]  # fmt: skip
    by_id = {s.id: s for s in steps}
    assert [(e.label, e.target) for e in by_id["wait_order"].edges] == [
        ("", "thanks"),
        ("timeout", "ab"),
    ]
    assert [(e.label, e.target) for e in by_id["ab"].edges] == [("mail", "email"), ("text", "sms")]
    assert by_id["email"].kpis is not None and by_id["email"].kpis.reached == 5
    assert by_id["thanks"].kpis is None
    assert not by_id["gone"].in_definition and by_id["gone"].summary == "in an earlier version"


def test_each_node_says_what_it_does() -> None:
    nodes = parse_definition(DOC).node_map()
    assert describe(nodes["wait_order"]) == "for “Checkout Started”, at most PT1H"
    assert describe(nodes["ab"]) == "mail 60%, text 20%, control group 20%"
    assert describe(nodes["sms"]) == "preferred channel (else email): cart-sms"
    assert describe(nodes["later"]) == "for P1D, then until 09:30 local"
    assert describe(nodes["thanks"]) == "reason: checking out"
    assert entry_text(parse_definition(DOC)) == "on “Cart Abandoned”"
    until = parse_definition(
        {**DOC, "nodes": [{"id": "w", "type": "wait", "until": "2026-03-01T09:00:00+01:00"}],
         "start": "w"}
    ).node("w")  # fmt: skip
    assert describe(until) == "until 01 Mar 2026 08:00 UTC"
