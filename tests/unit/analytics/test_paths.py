"""Process maps on pandas and Arrow tables."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from partitur.analytics.paths import process_map
from partitur.core.errors import ValidationFailed

T0 = pd.Timestamp("2026-01-05 09:00")


def log() -> pd.DataFrame:
    rows = [
        ("c1", "register", 0),
        ("c1", "verify", 10),
        ("c1", "buy", 70),
        ("c2", "register", 0),
        ("c2", "verify", 30),
        ("c2", "buy", 50),
        ("c3", "register", 0),
        ("c3", "buy", 5),
        ("c4", "verify", 0),
    ]
    return pd.DataFrame(
        [{"case": c, "step": a, "at": T0 + pd.Timedelta(minutes=m)} for c, a, m in rows]
    )


def test_directly_follows_graph_with_frequencies_and_durations() -> None:
    pm = process_map(log(), case="case", activity="step", timestamp="at")
    assert (pm.cases, pm.events) == (4, 9)
    edges = {(e.source, e.target): e for e in pm.edges}
    reg_ver = edges[("register", "verify")]
    assert (reg_ver.count, reg_ver.mean_seconds, reg_ver.median_seconds) == (2, 1200, 1200)
    ver_buy = edges[("verify", "buy")]
    assert (ver_buy.count, ver_buy.mean_seconds) == (2, (3600 + 1200) / 2)
    assert edges[("START", "register")].count == 3
    assert edges[("START", "verify")].count == 1
    assert edges[("buy", "END")].count == 3
    nodes = {n.activity: (n.events, n.cases) for n in pm.nodes}
    assert nodes == {"register": (3, 3), "verify": (3, 3), "buy": (3, 3)}


def test_top_variants_are_whole_sequences_with_counts() -> None:
    pm = process_map(pa.Table.from_pandas(log()), case="case", activity="step", timestamp="at")
    top = pm.variants[0]
    assert top.activities == ["register", "verify", "buy"]
    assert (top.cases, top.share) == (2, 0.5)
    # c1 took 70 minutes and c2 50: the median case duration is 60 minutes
    assert top.median_case_seconds == 3600
    assert [v.cases for v in pm.variants] == [2, 1, 1]


def test_a_missing_column_names_the_argument() -> None:
    with pytest.raises(ValidationFailed) as caught:
        process_map(log(), case="case", activity="nope", timestamp="at")
    assert caught.value.field == "activity"


def naive_process_map(frame: pd.DataFrame) -> tuple[dict, dict, list[int]]:
    """A plain pandas reference: edges (with START/END), nodes and variant counts."""
    rows = frame.dropna().sort_values(["case", "at", "step"], kind="stable")
    edges: dict[tuple[str, str], int] = {}
    variants: dict[tuple[str, ...], int] = {}
    for _, group in rows.groupby("case", sort=False):
        path = [str(a) for a in group["step"]]
        for s, t in zip(["START", *path], [*path, "END"], strict=True):
            edges[(s, t)] = edges.get((s, t), 0) + 1
        variants[tuple(path)] = variants.get(tuple(path), 0) + 1
    nodes = {
        str(a): (len(g), g["case"].nunique())
        for a, g in rows.assign(step=rows["step"].astype(str)).groupby("step")
    }
    return edges, nodes, sorted(variants.values(), reverse=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_match_a_plain_reference_on_random_logs_with_string_ids(seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 400
    frame = pd.DataFrame(
        {
            "case": [f"crm-{c}" for c in rng.integers(0, 60, n)],
            "step": rng.choice(["a", "b", "c", "d"], n),
            # whole minutes: some events of a case share a moment (ordered by name)
            "at": T0 + pd.to_timedelta(rng.integers(0, 30, n), unit="min"),
        }
    )
    frame.loc[rng.choice(n, 10, replace=False), "case"] = None  # left out
    pm = process_map(frame, case="case", activity="step", timestamp="at", top_variants=100)
    edges, nodes, variants = naive_process_map(frame)
    assert {(e.source, e.target): e.count for e in pm.edges} == edges
    assert {n.activity: (n.events, n.cases) for n in pm.nodes} == nodes
    assert [v.cases for v in pm.variants] == variants[: len(pm.variants)]
    assert pm.events == sum(n[0] for n in nodes.values())
