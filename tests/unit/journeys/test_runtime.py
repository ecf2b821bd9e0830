"""The pure step function, driven on a virtual clock: every node type, re-entry, goal/exit,
sticky splits and timezone waits."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from partitur.core.rules import ProfileFacts
from partitur.journeys.definition import JourneyDefinition, WaitNode, parse_definition
from partitur.journeys.runtime import (
    Decide,
    DecisionMade,
    EnrolmentRecord,
    Enter,
    EventOccurred,
    InstanceState,
    ProfileView,
    ScheduleTimer,
    SegmentChanged,
    Send,
    Stop,
    TimerFired,
    UpdateProfile,
    admit,
    assign_variant,
    step,
    wait_until,
)
from partitur.journeys.simulate import SimEvent, SimProfile, run_profile

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


def journey(nodes: list[dict[str, Any]], **extra: Any) -> JourneyDefinition:
    document: dict[str, Any] = {
        "key": extra.pop("key", "j"),
        "name": "J",
        "entry": extra.pop("entry", {"type": "event", "event": "Signed Up"}),
        "start": nodes[0]["id"],
        "nodes": nodes,
    }
    document.update(extra)
    return parse_definition(document)


def fresh(definition: JourneyDefinition, profile_id: str = "p1") -> InstanceState:
    return InstanceState("i1", definition.key, 1, profile_id, T0)


def ev(name: str, minutes: float, **props: Any) -> SimEvent:
    return SimEvent("p1", name, T0 + timedelta(minutes=minutes), props)


def run(
    definition: JourneyDefinition,
    events: list[SimEvent],
    *,
    days: int = 30,
    traits: dict[str, Any] | None = None,
    timezone: str | None = None,
    **kwargs: Any,
) -> Any:
    profile = SimProfile("p1", traits=dict(traits or {}), timezone=timezone)
    return run_profile(
        definition, profile, events, start=T0, end=T0 + timedelta(days=days), **kwargs
    )


CART = journey(
    [
        {
            "id": "wait_order",
            "type": "wait_for_event",
            "event": "Order Completed",
            "timeout": "PT1H",
            "next": "thanks",
            "timeout_next": "email",
        },
        {"id": "thanks", "type": "exit", "reason": "ordered"},
        {"id": "email", "type": "send", "channel": "email", "template": "cart", "next": "later"},
        {"id": "later", "type": "wait", "duration": "P1D", "next": "value"},
        {
            "id": "value",
            "type": "branch",
            "cases": [{"when": {"trait": "clv", "op": "gte", "value": 500}, "next": "discount"}],
            "else": "sms",
        },
        {"id": "discount", "type": "send", "channel": "sms", "template": "discount", "next": None},
        {"id": "sms", "type": "send", "channel": "sms", "template": "cart-sms"},
    ],
    entry={"type": "event", "event": "Cart Abandoned"},
)


def test_wait_for_event_resumes_when_the_event_arrives() -> None:
    result = run(CART, [ev("Cart Abandoned", 0), ev("Order Completed", 30)])
    assert result.path() == ["wait_order", "thanks", "end:ordered"]
    assert result.sends == []
    assert result.transitions[1].at == T0 + timedelta(minutes=30)


def test_wait_for_event_times_out_to_the_timeout_branch() -> None:
    result = run(CART, [ev("Cart Abandoned", 0)])
    assert result.path()[:3] == ["wait_order", "email", "later"]
    assert result.transitions[1].at == T0 + timedelta(hours=1)
    assert [s.template for s in result.sends] == ["cart", "cart-sms"]


def test_branch_uses_the_latest_profile_traits() -> None:
    result = run(CART, [ev("Cart Abandoned", 0)], traits={"clv": 900})
    assert [s.template for s in result.sends] == ["cart", "discount"]
    assert result.instances[0].status == "completed"


def test_branch_on_event_history_and_segments() -> None:
    definition = journey(
        [
            {
                "id": "b",
                "type": "branch",
                "cases": [
                    {
                        "when": {
                            "event": "Page Viewed",
                            "where": [{"property": "topic", "op": "eq", "value": "mortgage"}],
                            "within": "P7D",
                            "count": {"op": "gte", "value": 3},
                        },
                        "next": "offer",
                    }
                ],
                "else": "stop",
            },
            {"id": "offer", "type": "exit", "reason": "researching"},
            {"id": "stop", "type": "exit", "reason": "not researching"},
        ],
        entry={"type": "event", "event": "Page Viewed"},
        re_entry={"policy": "when_not_active"},
    )
    views = [ev("Page Viewed", m, topic="mortgage") for m in (0, 60, 120)]
    result = run(definition, views)
    assert [i.end_reason for i in result.instances] == [
        "not researching",
        "not researching",
        "researching",
    ]


def test_goal_converts_with_revenue_and_exit_criteria_end_at_once() -> None:
    definition = journey(
        [{"id": "w", "type": "wait", "duration": "P7D", "next": None}],
        goal={"event": "Order Completed", "revenue_property": "total"},
        exits=[{"event": "Unsubscribed"}, {"segment": "churned"}],
    )
    converted = run(definition, [ev("Signed Up", 0), ev("Order Completed", 5, total=42.5)])
    inst = converted.instances[0]
    assert (inst.status, inst.revenue, inst.converted_at) == (
        "converted",
        "42.5",
        T0 + timedelta(minutes=5),
    )
    exited = run(definition, [ev("Signed Up", 0), ev("Unsubscribed", 5)])
    assert exited.instances[0].status == "exited"
    state, _ = step(fresh(definition), definition, Enter(), T0)
    state, _commands = step(state, definition, SegmentChanged("churned", "entered"), T0)
    assert state.status == "exited" and state.waiting is None


def test_stale_timers_are_ignored() -> None:
    state, commands = step(fresh(CART), CART, Enter(), T0)
    timer = next(c for c in commands if isinstance(c, ScheduleTimer))
    state2, _ = step(state, CART, TimerFired(timer.node, timer.token + 1), T0 + timedelta(hours=2))
    assert state2 == state


def test_send_idempotency_keys_name_instance_node_and_attempt() -> None:
    definition = journey(
        [
            {"id": "s", "type": "send", "channel": "email", "template": "t", "next": "w"},
            {"id": "w", "type": "wait", "duration": "P1D", "next": "j"},
            {"id": "j", "type": "jump", "to": "s", "max_times": 2},
        ]
    )
    result = run(definition, [ev("Signed Up", 0)])
    keys = [s.idempotency_key for s in result.sends]
    assert keys == [
        f"{result.instances[0].instance_id}:s:{n}" for n in (1, 2, 3)
    ]  # jumped twice, then the limit ended the instance
    assert result.instances[0].end_reason == "jump limit 2 reached"


def test_update_profile_webhook_and_agent_task_become_commands() -> None:
    definition = journey(
        [
            {"id": "u", "type": "update_profile", "traits": {"stage": "lead"}, "next": "h"},
            {"id": "h", "type": "webhook", "template": "crm", "payload": {"x": 1}, "next": "a"},
            {"id": "a", "type": "agent_task", "template": "call", "queue": "sales"},
        ]
    )
    _, commands = step(fresh(definition), definition, Enter(), T0)
    assert UpdateProfile("u", {"stage": "lead"}) in commands
    sends = [c for c in commands if isinstance(c, Send)]
    assert [(s.channel, s.template) for s in sends] == [("webhook", "crm"), ("agent_task", "call")]
    assert sends[1].payload["queue"] == "sales"


def test_send_on_the_preferred_channel_falls_back() -> None:
    definition = journey(
        [
            {
                "id": "s",
                "type": "send",
                "channel": "preferred",
                "template": "t",
                "fallback_channel": "sms",
            }
        ]
    )
    view = ProfileView("p1", traits={"preferred_channel": "push"})
    _, commands = step(fresh(definition), definition, Enter(), T0, profile=view)
    assert [c.channel for c in commands if isinstance(c, Send)] == ["push"]
    _, commands = step(fresh(definition), definition, Enter(), T0)
    assert [c.channel for c in commands if isinstance(c, Send)] == ["sms"]


def test_decide_asks_decisioning_and_branches_on_the_offer() -> None:
    definition = journey(
        [
            {
                "id": "d",
                "type": "decide",
                "placement": "email",
                "offers": [{"offer": "loan", "next": "loan"}],
                "any_offer": "other",
                "else": "none",
            },
            {"id": "loan", "type": "exit", "reason": "loan"},
            {"id": "other", "type": "exit", "reason": "other"},
            {"id": "none", "type": "exit", "reason": "none"},
        ]
    )
    state, commands = step(fresh(definition), definition, Enter(), T0)
    assert Decide("d", "email") in commands and state.active
    for offer, reason in (("loan", "loan"), ("card", "other"), (None, "none")):
        done, _ = step(state, definition, DecisionMade("d", offer), T0)
        assert done.end_reason == reason


def test_jump_to_another_journey_ends_here_and_enrols_there() -> None:
    definition = journey([{"id": "j", "type": "jump", "journey": "winback"}])
    state, commands = step(fresh(definition), definition, Enter(), T0)
    assert state.status == "completed"
    assert any(getattr(c, "journey_key", None) == "winback" for c in commands)


def test_stop_ends_an_active_instance_and_nothing_moves_an_ended_one() -> None:
    state, _ = step(fresh(CART), CART, Enter(), T0)
    stopped, _ = step(state, CART, Stop(), T0)
    assert stopped.status == "exited" and stopped.end_reason == "journey stopped"
    assert step(stopped, CART, EventOccurred("Order Completed"), T0) == (stopped, [])


# --- re-entry and throttling --------------------------------------------------------------


def test_re_entry_policies() -> None:
    never = journey([{"id": "x", "type": "exit"}])
    after = journey([{"id": "x", "type": "exit"}], re_entry={"policy": "after", "period": "P7D"})
    free = journey([{"id": "x", "type": "exit"}], re_entry={"policy": "when_not_active"})
    last = EnrolmentRecord(T0, active=False)
    assert admit(never, None, T0) == (True, "entered")
    assert admit(never, last, T0 + timedelta(days=100))[0] is False
    assert admit(after, last, T0 + timedelta(days=6))[0] is False
    assert admit(after, last, T0 + timedelta(days=7))[0] is True
    assert admit(free, last, T0)[0] is True
    assert admit(free, EnrolmentRecord(T0, active=True), T0)[0] is False


def test_re_entry_never_enrols_once_over_many_triggers() -> None:
    definition = journey([{"id": "x", "type": "exit"}])
    result = run(definition, [ev("Signed Up", m) for m in range(5)])
    assert len(result.instances) == 1


def test_throttle_refuses_entries_past_the_rate() -> None:
    definition = journey([{"id": "x", "type": "exit"}], throttle={"max_per_minute": 10})
    assert admit(definition, None, T0, entries_last_minute=9)[0] is True
    assert admit(definition, None, T0, entries_last_minute=10) == (False, "throttled")


# --- splits -------------------------------------------------------------------------------


SPLIT = journey(
    [
        {
            "id": "ab",
            "type": "split",
            "variants": [
                {"key": "a", "weight": 1, "next": "a"},
                {"key": "b", "weight": 3, "next": "b"},
            ],
            "control_weight": 1,
        },
        {"id": "a", "type": "exit", "reason": "a"},
        {"id": "b", "type": "exit", "reason": "b"},
    ],
    key="ab-test",
)


def test_split_follows_the_weights_and_holds_out_a_control_group() -> None:
    counts = Counter(
        assign_variant(f"p{i}", "ab-test", "ab", [("a", 1), ("b", 3)], 1) for i in range(20000)
    )
    assert abs(counts["a"] / 20000 - 0.2) < 0.02
    assert abs(counts["b"] / 20000 - 0.6) < 0.02
    assert abs(counts["control"] / 20000 - 0.2) < 0.02


@given(st.text(min_size=1, max_size=40))
def test_split_assignment_is_sticky_per_profile_and_journey(profile_id: str) -> None:
    first, _ = step(fresh(SPLIT, profile_id), SPLIT, Enter(), T0)
    again, _ = step(
        InstanceState("i2", "ab-test", 2, profile_id, T0 + timedelta(days=40)),
        SPLIT,
        Enter(),
        T0 + timedelta(days=40),
    )
    assert first.split_variants == again.split_variants
    assert first.end_reason in ("a", "b", "control group")


def test_auto_winner_routes_everyone_to_the_winner() -> None:
    results = {
        step(fresh(SPLIT, f"p{i}"), SPLIT, Enter(), T0, winners={"ab": "a"})[0].end_reason
        for i in range(50)
    }
    assert results == {"a"}


# --- waits and timezones ------------------------------------------------------------------


def wait_node(**kwargs: Any) -> WaitNode:
    return WaitNode(id="w", **kwargs)


def test_wait_until_a_local_time_of_day_in_the_profiles_timezone() -> None:
    view = ProfileView("p1", timezone="Europe/Berlin")
    # 08:00 UTC is 09:00 in Berlin (winter): 10:00 is still today
    due = wait_until(wait_node(local_time="10:00"), T0, view)
    assert due == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    due = wait_until(wait_node(local_time="08:00"), T0, view)
    assert due == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)


def test_local_time_waits_are_dst_correct() -> None:
    view = ProfileView("p1", timezone="America/New_York")
    # the evening before the US spring-forward (8 March 2026): 09:00 EDT is 13:00 UTC
    before = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)  # 21:00 EST on 7 March
    assert wait_until(wait_node(local_time="09:00"), before, view) == datetime(
        2026, 3, 8, 13, 0, tzinfo=UTC
    )
    # 02:30 does not exist that night: the wait ends at 03:30 EDT (07:30 UTC)
    assert wait_until(wait_node(local_time="02:30"), before, view) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    # autumn: 01:30 happens twice on 1 November 2026; the wait takes the first (EDT)
    autumn = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    assert wait_until(wait_node(local_time="01:30"), autumn, view) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_wait_on_weekdays_only() -> None:
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    due = wait_until(
        wait_node(local_time="09:00", weekdays=[0, 1, 2, 3, 4]), saturday, ProfileView("p")
    )
    assert due == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def test_wait_relative_to_a_profile_date_attribute() -> None:
    view = ProfileView("p1", traits={"birthday": "1990-03-10"}, timezone="Asia/Tokyo")
    node = wait_node(attribute="birthday", annually=True, offset_days=-1, local_time="10:00")
    # the day before the birthday, 10:00 Tokyo (01:00 UTC)
    assert wait_until(node, T0, view) == datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
    # past this year's: next year
    later = datetime(2026, 3, 20, tzinfo=UTC)
    assert wait_until(node, later, view) == datetime(2027, 3, 9, 1, 0, tzinfo=UTC)
    contract = wait_node(attribute="contract_end", offset_days=-30)
    assert wait_until(contract, T0, ProfileView("p", traits={"contract_end": "2026-06-30"})) == (
        datetime(2026, 5, 31, 9, 0, tzinfo=UTC)
    )
    assert wait_until(contract, T0, ProfileView("p")) is None


def test_a_wait_on_a_missing_attribute_takes_the_missing_path() -> None:
    definition = journey(
        [
            {"id": "w", "type": "wait", "attribute": "birthday", "next": "a", "missing_next": "b"},
            {"id": "a", "type": "exit", "reason": "waited"},
            {"id": "b", "type": "exit", "reason": "no birthday"},
        ]
    )
    state, _ = step(fresh(definition), definition, Enter(), T0)
    assert state.end_reason == "no birthday"


def test_a_timezone_wait_runs_on_the_virtual_clock() -> None:
    definition = journey(
        [
            {"id": "w", "type": "wait", "duration": "P1D", "local_time": "09:00", "next": "s"},
            {"id": "s", "type": "send", "channel": "email", "template": "t"},
        ]
    )
    result = run(definition, [ev("Signed Up", 0)], timezone="Australia/Sydney")
    # one day later (3 March 08:00 UTC = 19:00 Sydney), then the next 09:00 Sydney (22:00 UTC)
    assert result.transitions[1].at == datetime(2026, 3, 3, 22, 0, tzinfo=UTC)


# --- properties ---------------------------------------------------------------------------


GRAPH_NODES = st.sampled_from(["wait", "event", "branch", "send", "jump"])


@st.composite
def random_journeys(draw: st.DrawFn) -> JourneyDefinition:
    """Random chains of nodes; jumps go backwards with a limit (valid loops)."""
    kinds = draw(st.lists(GRAPH_NODES, min_size=1, max_size=8))
    nodes: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        nxt = f"n{i + 1}" if i + 1 < len(kinds) else None
        nid = f"n{i}"
        if kind == "wait":
            nodes.append({"id": nid, "type": "wait", "duration": "PT30M", "next": nxt})
        elif kind == "event":
            nodes.append(
                {
                    "id": nid,
                    "type": "wait_for_event",
                    "event": "Clicked",
                    "timeout": "PT2H",
                    "next": nxt,
                    "timeout_next": nxt,
                }
            )
        elif kind == "branch":
            target = nxt or f"n{i}x"
            nodes.append(
                {
                    "id": nid,
                    "type": "branch",
                    "cases": [
                        {"when": {"trait": "vip", "op": "eq", "value": True}, "next": target}
                    ],
                    "else": target,
                }
            )
            if nxt is None:
                nodes.append({"id": target, "type": "exit"})
        elif kind == "send":
            nodes.append(
                {"id": nid, "type": "send", "channel": "email", "template": "t", "next": nxt}
            )
        else:
            back = f"n{draw(st.integers(0, i))}"
            nodes.append({"id": nid, "type": "jump", "to": back, "max_times": 2, "then": nxt})
    return journey(nodes)


@settings(max_examples=60, deadline=None)
@given(
    random_journeys(),
    st.lists(
        st.tuples(st.sampled_from(["Clicked", "Signed Up"]), st.integers(0, 3000)), max_size=6
    ),
    st.booleans(),
)
def test_every_instance_ends_and_no_node_is_entered_twice_without_a_loop(
    definition: JourneyDefinition, raw: list[tuple[str, int]], vip: bool
) -> None:
    events = [ev("Signed Up", 0)] + [ev(name, m) for name, m in raw]
    result = run(definition, events, days=60, traits={"vip": vip})
    assert result.instances, "the trigger enrolled the profile"
    for inst in result.instances:
        assert inst.status != "active", "every instance reaches its end"
    has_jump = any(n.type == "jump" for n in definition.nodes)
    if not has_jump:
        for inst in result.instances:
            assert all(count == 1 for count in inst.visits.values())
    keys = [s.idempotency_key for s in result.sends]
    assert len(keys) == len(set(keys)), "no send is issued twice"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Order Completed", "Other"]), st.integers(0, 200))))
def test_the_step_is_deterministic(raw: list[tuple[str, int]]) -> None:
    events = [ev("Cart Abandoned", 0)] + [ev(n, m) for n, m in raw]
    first = run(CART, events)
    second = run(CART, events)
    assert first.transitions == second.transitions
    assert [s.idempotency_key for s in first.sends] == [s.idempotency_key for s in second.sends]


def test_profile_view_defaults_know_nothing() -> None:
    view = ProfileView("p")
    assert view.trait("x") is None
    assert isinstance(view.facts, ProfileFacts)
