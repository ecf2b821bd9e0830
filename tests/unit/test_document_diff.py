"""The structured difference a reviewer reads between a published journey and a draft."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from partitur.core.diff import Change, document_diff


def test_nodes_are_compared_by_id_so_moving_one_is_no_change() -> None:
    before = {
        "name": "Welcome",
        "nodes": [{"id": "wait", "duration": "P1D"}, {"id": "bye", "type": "exit"}],
    }
    after = {
        "name": "Welcome",
        "goal": {"event": "Order Completed"},
        "nodes": [
            {"id": "bye", "type": "exit"},
            {"id": "wait", "duration": "P2D"},
            {"id": "mail", "type": "send"},
        ],
    }
    assert document_diff(before, after) == [
        Change("nodes[id=wait].duration", "changed", "P1D", "P2D"),
        Change("nodes[id=mail]", "added", after={"id": "mail", "type": "send"}),
        Change("goal", "added", after={"event": "Order Completed"}),
    ]


def test_removed_keys_lists_and_type_changes_are_named() -> None:
    assert document_diff({"a": 1, "b": [1, 2]}, {"b": [1, 3, 4], "c": True}) == [
        Change("a", "removed", before=1),
        Change("b", "changed", [1, 2], [1, 3, 4]),
        Change("c", "added", after=True),
    ]
    assert document_diff({"x": 1}, {"x": 1.0}) == [Change("x", "changed", 1, 1.0)]
    assert document_diff({"x": [1, 2]}, {"x": [1, 5]}) == [Change("x[1]", "changed", 2, 5)]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    # no "id" keys: lists of objects with ids are compared as sets, on purpose
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=3).filter(lambda k: k != "id"), inner)
    ),
    max_leaves=20,
)


@given(_json)
def test_a_document_does_not_differ_from_itself(document: object) -> None:
    assert document_diff(document, document) == []


@given(_json, _json)
def test_documents_that_differ_show_at_least_one_change(a: object, b: object) -> None:
    # as JSON, so that True and 1 differ as they do in a document
    same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert (document_diff(a, b) == []) == same
