"""The SQL compilation of rules agrees with the Python reference ``evaluate`` on random data
(SQLite and PostgreSQL), and refuses what it cannot reproduce exactly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from partitur.context import Context
from partitur.core.ids import new_id
from partitur.core.rules import EventFact, ProfileFacts, evaluate, parse_rule
from partitur.events.tables import events
from partitur.profiles.tables import profiles
from partitur.segments.compiler import NotCompilable, compile_rule
from partitur.segments.tables import segment_memberships
from tests.conftest import START

NOW = START

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([-1.5, 0.0, 2.5, 1e20]),
    st.text(alphabet="aAb1 %_", max_size=3),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3))
traits = st.fixed_dictionaries(
    {},
    optional={
        "a": values,
        "b": values,
        "tags": st.lists(scalars, max_size=3),
        "n": st.one_of(st.fixed_dictionaries({}, optional={"x": values}), values),
    },
)
computed = st.fixed_dictionaries(
    {},
    optional={"c": values, "scores": st.fixed_dictionaries({}, optional={"s": values})},
)
OPS = [
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "not_contains",
    "starts_with", "ends_with", "exists", "not_exists",
]  # fmt: skip


@st.composite
def comparisons(draw: Any) -> dict[str, Any]:
    op = draw(st.sampled_from(OPS))
    if op in ("in", "not_in"):
        value = draw(st.lists(scalars, max_size=3))
    elif op in ("contains", "not_contains", "starts_with", "ends_with", "gt", "lt"):
        value = draw(st.one_of(st.text(alphabet="aA1%", max_size=2), scalars))
    else:
        value = draw(scalars)
    return {"op": op, "value": value}


leaf_traits = st.builds(
    lambda path, c: {"trait": path, **c},
    st.sampled_from(["a", "b", "tags", "n.x", "n", "computed.c", "missing"]),
    comparisons(),
)
leaf_scores = st.builds(lambda c: {"score": "s", **c}, comparisons())
filters = st.lists(st.builds(lambda c: {"property": "p", **c}, comparisons()), max_size=1)


def _listed_for_in(leaf: dict[str, Any]) -> dict[str, Any]:
    count = leaf["count"]
    if count["op"] == "in":
        return {**leaf, "count": {**count, "value": [count["value"]]}}
    return leaf


leaf_counts = st.builds(
    lambda name, where, within, op, n: {
        "event": name,
        "where": where,
        "within": within,
        "count": {"op": op, "value": n},
    },
    st.sampled_from(["A", "B"]),
    filters,
    st.sampled_from([None, "P1D", "P3D"]),
    st.sampled_from(["gte", "gt", "eq", "lt", "ne", "in"]),
    st.one_of(st.integers(0, 3), st.just("1"), st.just(True)),
).map(_listed_for_in)
leaf_last = st.builds(
    lambda name, where, within, negate: {
        "last_event": name,
        "where": where,
        "within": within,
        "negate": negate,
    },
    st.sampled_from(["A", "B"]),
    filters,
    st.sampled_from(["P1D", "P3D"]),
    st.booleans(),
)
leaves = st.one_of(leaf_traits, leaf_scores, leaf_counts, leaf_last, st.just({"segment": "s1"}))
rules = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=4,
)
event_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B"]),
        # hours before NOW; negative: stamped in the future; 24 and 72 sit on window edges
        st.sampled_from([-5, 0, 1, 23, 24, 25, 71, 72, 73, 200]),
        st.fixed_dictionaries({}, optional={"p": scalars}),
    ),
    max_size=4,
)
people = st.lists(st.tuples(traits, computed, event_rows, st.booleans()), min_size=1, max_size=5)


def _load(ctx: Context, population: list[Any]) -> list[tuple[str, ProfileFacts]]:
    loaded = []
    with ctx.store.begin() as conn:
        for table in (events, profiles, segment_memberships):
            conn.execute(table.delete())
        for n, (t, c, evs, in_s1) in enumerate(population):
            pid = new_id("prf")
            conn.execute(
                profiles.insert().values(
                    id=pid,
                    workspace_id=ctx.workspace_id,
                    created_at=NOW,
                    updated_at=NOW,
                    traits=t,
                    trait_times={},
                    computed=c,
                    is_test=False,
                )
            )
            facts = []
            for m, (name, hours, props) in enumerate(evs):
                at = NOW - timedelta(hours=hours)
                conn.execute(
                    events.insert().values(
                        workspace_id=ctx.workspace_id,
                        source_id="s",
                        message_id=f"{n}-{m}",
                        type="track",
                        event=name,
                        profile_id=pid,
                        timestamp=at,
                        received_at=at,
                        properties=props,
                    )
                )
                facts.append(EventFact(name, at, props))
            if in_s1:
                conn.execute(
                    segment_memberships.insert().values(
                        workspace_id=ctx.workspace_id,
                        segment_key="s1",
                        profile_id=pid,
                        entered_at=NOW,
                    )
                )
            segments = frozenset({"s1"}) if in_s1 else frozenset()
            loaded.append((pid, ProfileFacts(t, c, facts, segments)))
    return loaded


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=rules, population=people)
def test_sql_and_python_agree_on_random_profiles_and_rules(
    ctx: Context, document: dict[str, Any], population: list[Any]
) -> None:
    rule = parse_rule(document)
    try:
        condition = compile_rule(
            rule, dialect=ctx.store.dialect, workspace_id=ctx.workspace_id, now=NOW
        )
    except NotCompilable:
        assume(False)
        return
    loaded = _load(ctx, population)
    with ctx.store.read() as conn:
        by_sql = set(conn.execute(sa.select(profiles.c.id).where(condition)).scalars())
    by_python = {pid for pid, facts in loaded if evaluate(rule, facts, NOW)}
    assert by_sql == by_python


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    comparison=comparisons(),
    population=st.lists(
        st.one_of(values, st.text(alphabet="aA1%", max_size=3)), min_size=8, max_size=8
    ),
)
def test_sql_and_python_agree_on_every_comparison_operator(
    ctx: Context, comparison: dict[str, Any], population: list[Any]
) -> None:
    """A dense check of one trait leaf over many values (the mixed test above explores
    structure; this one hits every operator/type pair often)."""
    rule = parse_rule({"trait": "a", **comparison})
    try:
        condition = compile_rule(
            rule, dialect=ctx.store.dialect, workspace_id=ctx.workspace_id, now=NOW
        )
    except NotCompilable:
        assume(False)
        return
    loaded = _load(ctx, [({"a": v}, {}, [], False) for v in population])
    with ctx.store.read() as conn:
        by_sql = set(conn.execute(sa.select(profiles.c.id).where(condition)).scalars())
    assert by_sql == {pid for pid, facts in loaded if evaluate(rule, facts, NOW)}


GRID = [None, True, False, 0, 1, 2.5, -1.5, "", "a", "A1", "a1%", "b_", "1", ["a", 1], [], {"x": 1}]


def test_sql_and_python_agree_on_every_operator_over_a_grid_of_values(ctx: Context) -> None:
    """Exhaustive over operator x expected value x actual value (the random tests explore
    structure; this one covers every operator/type pair on every run)."""
    loaded = _load(ctx, [({"a": v}, {}, [], False) for v in GRID] + [({}, {}, [], False)])
    wrong = []
    for op in OPS:
        expected_values = [[v] for v in GRID] + [GRID[:5]] if op in ("in", "not_in") else GRID
        for expected in expected_values:
            rule = parse_rule({"trait": "a", "op": op, "value": expected})
            try:
                condition = compile_rule(
                    rule, dialect=ctx.store.dialect, workspace_id=ctx.workspace_id, now=NOW
                )
            except NotCompilable:
                continue
            with ctx.store.read() as conn:
                by_sql = set(conn.execute(sa.select(profiles.c.id).where(condition)).scalars())
            for pid, facts in loaded:
                if (pid in by_sql) != evaluate(rule, facts, NOW):
                    wrong.append((op, expected, facts.traits.get("a", "<missing>")))
    assert wrong == []
