"""The journey document: shapes, every node type, and validation naming the node at fault."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from partitur.core.errors import InvalidDocument
from partitur.journeys.definition import (
    NODE_TYPES,
    SplitNode,
    json_schema,
    parse_definition,
    validate_definition,
)


def doc(nodes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "key": "test",
        "name": "Test",
        "entry": {"type": "event", "event": "Signed Up"},
        "start": nodes[0]["id"],
        "nodes": nodes,
        **extra,
    }


EVERY_NODE = doc(
    [
        {"id": "wait", "type": "wait", "duration": "PT1H", "next": "local"},
        {"id": "local", "type": "wait", "local_time": "09:00", "next": "bday"},
        {
            "id": "bday",
            "type": "wait",
            "attribute": "birthday",
            "annually": True,
            "offset_days": -1,
            "next": "order",
        },
        {
            "id": "order",
            "type": "wait_for_event",
            "event": "Order Completed",
            "timeout": "P1D",
            "next": "done",
            "timeout_next": "vip",
        },
        {
            "id": "vip",
            "type": "branch",
            "cases": [{"when": {"trait": "tier", "op": "eq", "value": "gold"}, "next": "ab"}],
            "else": "mail",
        },
        {
            "id": "ab",
            "type": "split",
            "variants": [
                {"key": "a", "weight": 1, "next": "mail"},
                {"key": "b", "weight": 1, "next": "sms"},
            ],
            "control_weight": 0.1,
        },
        {"id": "mail", "type": "send", "channel": "email", "template": "cart", "next": "tag"},
        {"id": "sms", "type": "send", "channel": "preferred", "template": "cart", "next": "tag"},
        {"id": "tag", "type": "update_profile", "traits": {"nudged": True}, "next": "crm"},
        {"id": "crm", "type": "webhook", "template": "crm-lead", "next": "task"},
        {"id": "task", "type": "agent_task", "template": "call", "queue": "sales", "next": "nbo"},
        {
            "id": "nbo",
            "type": "decide",
            "placement": "home",
            "offers": [{"offer": "loan", "next": "again"}],
            "else": "done",
        },
        {"id": "again", "type": "jump", "to": "wait", "max_times": 2, "then": "done"},
        {"id": "done", "type": "exit"},
    ],
    re_entry={"policy": "after", "period": "P30D"},
    throttle={"max_per_minute": 100},
    goal={"event": "Order Completed", "revenue_property": "total"},
    exits=[{"event": "Unsubscribed"}, {"segment": "churned", "change": "entered"}],
)


def test_a_document_using_every_node_type_is_valid() -> None:
    definition = validate_definition(EVERY_NODE)
    assert {n.type for n in definition.nodes} == set(NODE_TYPES)
    assert definition.template_refs() >= {("email", "cart"), ("webhook", "crm-lead")}


def test_yaml_and_json_documents_give_the_same_definition() -> None:
    from_yaml = parse_definition(yaml.safe_load(yaml.safe_dump(EVERY_NODE)))
    assert from_yaml == parse_definition(EVERY_NODE)


def test_json_schema_names_every_node_type() -> None:
    schema = json_schema()
    text = str(schema)
    for node_type in NODE_TYPES:
        assert f"'{node_type}'" in text


def problems_of(document: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    with pytest.raises(InvalidDocument) as caught:
        validate_definition(document, **kwargs)
    return caught.value.problems


def test_validation_reports_every_problem_with_its_node_id() -> None:
    problems = problems_of(
        doc(
            [
                {"id": "a", "type": "send", "channel": "fax", "template": "x", "next": "b"},
                {
                    "id": "b",
                    "type": "branch",
                    "cases": [{"when": {"trait": "x", "op": "exists"}, "next": "a"}],
                },
                {"id": "c", "type": "send", "channel": "email", "template": "y", "next": "nowhere"},
            ]
        )
    )
    found = {(p["node"], p["message"].split(" ")[0]) for p in problems}
    assert ("a", "unknown") in found  # channel fax
    assert ("b", "branch") in found  # no else
    assert ("c", "edge") in found  # dangling edge
    assert ("c", "node") in found  # unreachable
    assert any(p["node"] == "a" and "loop" in p["message"] for p in problems)  # a -> b -> a


def test_a_loop_through_a_wait_or_a_limited_jump_is_allowed() -> None:
    validate_definition(
        doc(
            [
                {"id": "a", "type": "send", "channel": "email", "template": "x", "next": "w"},
                {"id": "w", "type": "wait", "duration": "P1D", "next": "a"},
            ]
        )
    )
    validate_definition(
        doc(
            [
                {"id": "a", "type": "send", "channel": "email", "template": "x", "next": "j"},
                {"id": "j", "type": "jump", "to": "a", "max_times": 3},
            ]
        )
    )


def test_unknown_templates_are_problems_of_the_nodes_that_use_them() -> None:
    problems = problems_of(EVERY_NODE, template_problems={("email", "cart"): ["no such template"]})
    # "sms" sends on the preferred channel, falling back to email
    assert {p["node"] for p in problems} == {"mail", "sms"}


def test_shape_errors_name_the_node() -> None:
    bad = doc([{"id": "w", "type": "wait"}, {"id": "x", "type": "teleport"}])
    problems = problems_of(bad)
    assert {p["node"] for p in problems} == {"w", "x"}
    assert InvalidDocument("x", problems=problems).status == 422


def test_durations_must_be_iso_8601() -> None:
    problems = problems_of(doc([{"id": "w", "type": "wait", "duration": "3 days"}]))
    assert problems[0]["node"] == "w"
    assert "ISO 8601" in problems[0]["message"]


def test_an_auto_winner_needs_a_goal_and_two_arms() -> None:
    split = {
        "id": "ab",
        "type": "split",
        "variants": [{"key": "a", "weight": 1, "next": "done"}],
        "auto_winner": {"window": "P3D", "guardrails": [{"event": "Unsubscribed"}]},
    }
    problems = problems_of(doc([split, {"id": "done", "type": "exit"}]))
    assert {p["message"].split(":")[0] for p in problems} == {
        "auto_winner needs the journey's goal",
        "auto_winner needs two arms",
    }
    held_out = {**split, "control_weight": 1}
    definition = validate_definition(
        doc([held_out, {"id": "done", "type": "exit"}], goal={"event": "Order Completed"})
    )
    node = definition.node_map()["ab"]
    assert isinstance(node, SplitNode)
    assert node.control == "control" and node.arms() == [("control", 1), ("a", 1)]
    assert (
        problems_of(
            doc(
                [{**held_out, "auto_winner": {"window": "a week"}}, {"id": "done", "type": "exit"}],
                goal={"event": "Order Completed"},
            )
        )[0]["node"]
        == "ab"
    )
