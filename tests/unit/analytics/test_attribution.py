"""Attribution models on a three-case example worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from partitur.analytics.attribution import attribute

T0 = pd.Timestamp("2026-01-01")


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def example():
    # case 1: A (day 0), B (day 7), converts day 14 for 100, then C (day 20: a path of its own,
    # which does not convert)
    # case 2: A, never converts; case 3: B (day 0), converts day 1 for 50
    touchpoints = pd.DataFrame(
        [
            ("1", "A", day(0)),
            ("1", "B", day(7)),
            ("1", "C", day(20)),
            ("2", "A", day(0)),
            ("3", "B", day(0)),
        ],
        columns=["case_id", "channel", "timestamp"],
    )
    conversions = pd.DataFrame(
        [("1", day(14), 100.0), ("3", day(1), 50.0)], columns=["case_id", "timestamp", "value"]
    )
    return attribute(touchpoints, conversions)


def credit(result, model: str) -> dict[str, tuple[float, float]]:
    return {c.channel: (round(c.conversions, 6), round(c.revenue, 6)) for c in result.models[model]}


def test_rule_based_models() -> None:
    r = example()
    assert (r.conversions, r.revenue) == (2, 150.0)
    assert credit(r, "first_touch") == {"A": (1, 100), "B": (1, 50)}
    assert credit(r, "last_touch") == {"A": (0, 0), "B": (2, 150)}
    assert credit(r, "linear") == {"A": (0.5, 50), "B": (1.5, 100)}
    assert credit(r, "position_based") == {"A": (0.5, 50), "B": (1.5, 100)}


def test_time_decay_halves_credit_every_half_life() -> None:
    # case 1: A is 14 days old (weight 1/4), B 7 days (1/2): A gets 1/3, B 2/3
    r = example()
    assert credit(r, "time_decay") == {
        "A": (round(1 / 3, 6), round(100 / 3, 6)),
        "B": (round(1 + 2 / 3, 6), round(50 + 200 / 3, 6)),
    }


def test_position_based_gives_forty_percent_to_each_end() -> None:
    tp = pd.DataFrame(
        [("1", ch, day(i)) for i, ch in enumerate(["A", "B", "C", "D"])],
        columns=["case_id", "channel", "timestamp"],
    )
    cv = pd.DataFrame([("1", day(5), 10.0)], columns=["case_id", "timestamp", "value"])
    r = attribute(tp, cv)
    assert credit(r, "position_based") == {
        "A": (0.4, 4),
        "D": (0.4, 4),
        "B": (0.1, 1),
        "C": (0.1, 1),
    }


def test_markov_removal_effects() -> None:
    # paths A B conv, C null (case 1 after its conversion), A null, B conv:
    # start->A 1/2, start->B 1/4, start->C 1/4; A->B 1/2, A->null 1/2; B->conv; C->null.
    # P(conv) = 1/2. Without A: 1/4 (effect 0.5); without B: 0 (effect 1); without C: 1/2
    # (effect 0). Shares 1/3 and 2/3 of 2.
    r = example()
    assert r.removal_effects == pytest.approx({"A": 0.5, "B": 1.0, "C": 0.0})
    markov = credit(r, "markov")
    assert markov["A"][0] == pytest.approx(2 / 3, abs=1e-6)
    assert markov["B"][0] == pytest.approx(4 / 3, abs=1e-6)
    assert markov["B"][1] == pytest.approx(100, abs=1e-5)


def test_every_path_gets_the_same_lookback() -> None:
    # case 1 converts on day 40 after A (day 35) and C (day 1, outside the 30-day lookback);
    # case 2 never converts: B on day 0 is outside the lookback before its last touch A (day 40)
    tp = pd.DataFrame(
        [("1", "C", day(1)), ("1", "A", day(35)), ("2", "B", day(0)), ("2", "A", day(40))],
        columns=["case_id", "channel", "timestamp"],
    )
    cv = pd.DataFrame([("1", day(40), 10.0)], columns=["case_id", "timestamp", "value"])
    r = attribute(tp, cv, lookback=pd.Timedelta(days=30).to_pytimedelta())
    assert credit(r, "first_touch") == {"A": (1, 10)}
    assert set(r.removal_effects) == {"A"}  # neither B nor C is on any path
    assert (r.converting_paths, r.non_converting_paths) == (1, 1)


def test_only_conversions_inside_the_window_count() -> None:
    # window: days 10-20. Case 1 converts on day 15 (counts). Case 2 converted on day 5, then got
    # B on day 12 and did not convert again: a non-converting path of B alone. Case 3 got A on
    # day 18 and converts on day 25, after the window: neither a conversion nor a path.
    tp = pd.DataFrame(
        [
            ("1", "A", day(14)),
            ("2", "A", day(4)),
            ("2", "B", day(12)),
            ("3", "A", day(18)),
        ],
        columns=["case_id", "channel", "timestamp"],
    )
    cv = pd.DataFrame(
        [("1", day(15), 10.0), ("2", day(5), 20.0), ("3", day(25), 30.0)],
        columns=["case_id", "timestamp", "value"],
    )
    r = attribute(tp, cv, start=day(10).to_pydatetime(), end=day(20).to_pydatetime())
    assert (r.conversions, r.revenue) == (1, 10.0)
    assert (r.converting_paths, r.non_converting_paths) == (1, 1)
    # paths A -> conversion and B -> null: removing A loses everything, removing B nothing
    assert r.removal_effects == pytest.approx({"A": 1.0, "B": 0.0})


def test_every_conversion_is_a_path_of_its_own() -> None:
    # a customer buys twice: A before the first order, B between the orders
    tp = pd.DataFrame(
        [("1", "A", day(0)), ("1", "B", day(5))], columns=["case_id", "channel", "timestamp"]
    )
    cv = pd.DataFrame(
        [("1", day(1), 10.0), ("1", day(6), 30.0)], columns=["case_id", "timestamp", "value"]
    )
    r = attribute(tp, cv)
    assert (r.conversions, r.revenue) == (2, 40.0)
    assert credit(r, "last_touch") == {"A": (1, 10), "B": (1, 30)}
