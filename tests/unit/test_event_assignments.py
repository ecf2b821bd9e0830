"""The dense seq-ordered form in which a resolution pass hands SQLite its event assignments."""

from __future__ import annotations

import pytest

from partitur.events.resolution import ResolveUnit, profiles_by_seq


def _unit(seqs: str) -> ResolveUnit:
    first = int(seqs.split(",")[0])
    blank = (None,) * 6
    return ResolveUnit(
        "ws", "u", None, first, 1, None, None, 0, 0.0, first, None, "s", *blank, seqs, False
    )


def test_every_seq_gets_its_units_profile_and_gaps_stay_empty() -> None:
    pairs = [(_unit("5,9"), "a"), (_unit("6"), "b"), (_unit("8,12,11"), "c")]
    dense = profiles_by_seq(pairs)
    assert dense is not None
    assert (dense.first, dense.values) == (5, ["a", "b", None, "c", "a", None, "c", "c"])


def test_a_sparse_or_empty_pass_is_left_to_the_unit_by_unit_way() -> None:
    assert profiles_by_seq([(_unit("1"), "a"), (_unit("5000"), "b")]) is None
    assert profiles_by_seq([]) is None
    # gaps up to twice the events (plus a margin) still go dense
    assert profiles_by_seq([(_unit("1"), "a"), (_unit("1000"), "b")]) is not None


def test_seqs_that_are_not_integers_are_refused_rather_than_cut_short() -> None:
    with pytest.raises(ValueError):
        profiles_by_seq([(_unit("5,9"), "a"), (_unit("6,x"), "b")])
