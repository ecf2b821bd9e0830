"""Benchmarks of the ml and decisions domains.

    python bench/decisions.py [--smoke]

1. CLV: BG/NBD + Gamma-Gamma fit on 10,000 simulated customers; ratio against the
   ``lifetimes`` package on the same data when it is installed (a test-only reference).
2. Scoring: churn features in DuckDB + calibrated LightGBM + value tiers for 1,000,000
   profiles (synthetic event log of ~4 events per profile); plus the rate of writing
   computed traits into SQLite.
3. Decision API: ``partitur serve`` on 127.0.0.1, load from two client processes
   (bench/_httpload.py: raw HTTP/1.1 over keep-alive asyncio sockets): decisions per second and
   latency percentiles for POST /api/decisions/route and POST /api/decisions/offers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from partitur.core.actions import Actor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _httpload import cpu_seconds, post, run_load, start_serve, stop

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


# --- 1. CLV -----------------------------------------------------------------------------------


def bench_clv(customers: int) -> None:
    from partitur.ml import clv

    rng = np.random.default_rng(1)
    x, t_x, big_t = clv.simulate_bg_nbd(
        0.243, 4.414, 0.793, 2.426, rng.uniform(27, 39, customers), rng=rng
    )
    m = clv.simulate_gamma_gamma(6.25, 3.74, 15.44, x, rng=rng)
    (bg, gg), seconds = _timed(lambda: (clv.fit_bg_nbd(x, t_x, big_t), clv.fit_gamma_gamma(x, m)))
    print(
        f"CLV fit, {customers} customers: {seconds:.2f} s "
        f"(r={bg.r:.3f} alpha={bg.alpha:.3f} a={bg.a:.3f} b={bg.b:.3f}; "
        f"p={gg.p:.2f} q={gg.q:.2f} v={gg.v:.2f})  target < 2 s"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lifetimes
    except ImportError:
        print("  lifetimes is not installed: no speed ratio (pip install lifetimes to compare)")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, ref_seconds = _timed(
            lambda: (
                lifetimes.BetaGeoFitter().fit(x, t_x, big_t),
                lifetimes.GammaGammaFitter().fit(x[x > 0], m[x > 0]),
            )
        )
    print(
        f"  lifetimes on the same data: {ref_seconds:.2f} s -> partitur/lifetimes time ratio "
        f"{seconds / ref_seconds:.2f}"
    )


# --- 2. scoring -------------------------------------------------------------------------------


def _event_log(profiles: int, rng: np.random.Generator) -> pd.DataFrame:
    per = rng.poisson(4, profiles) + 1
    ids = np.repeat(np.arange(profiles), per)
    n = ids.size
    kinds = rng.choice(
        np.array(["Order Completed", "Page Viewed", "Ticket Created", "NPS Submitted"]),
        n,
        p=[0.35, 0.5, 0.1, 0.05],
    )
    churned = rng.random(profiles) < 0.4
    days_back = rng.uniform(0, 400, n) + np.where(churned[ids], 120, 0)
    timestamps = pd.Timestamp(NOW) - pd.to_timedelta(days_back, unit="D")
    return pd.DataFrame(
        {
            "profile_id": pd.Series(ids).map("p{:07d}".format),
            "event": kinds,
            "timestamp": timestamps,
            "revenue": np.where(kinds == "Order Completed", rng.gamma(4, 12, n), np.nan),
            "score": np.where(kinds == "NPS Submitted", rng.integers(0, 11, n), np.nan),
            "sentiment": np.where(kinds == "Ticket Created", rng.uniform(-1, 1, n), np.nan),
            "known": True,
            "rating": np.nan,
            "late": np.nan,
        }
    )


def bench_scoring(profiles: int, store_profiles: int, train_profiles: int) -> None:
    from partitur.decisions import logic
    from partitur.decisions.contracts import ValueModel
    from partitur.decisions.defaults import DEFAULT_VALUE_MODEL
    from partitur.ml import propensity
    from partitur.ml.service import churn_definition

    rng = np.random.default_rng(2)
    train_frame = _event_log(train_profiles, rng)
    definition = churn_definition(horizon_days=60)
    model, report = propensity.train(train_frame, definition, now=NOW)
    print(
        f"churn model on {train_profiles:,} synthetic customers: out-of-time ROC-AUC "
        f"{report['model']['roc_auc']:.3f} (logistic baseline {report['baseline']['roc_auc']:.3f})"
    )
    frame, gen_seconds = _timed(_event_log, profiles, rng)
    print(
        f"scoring: synthetic log of {len(frame):,} events for {profiles:,} profiles "
        f"({gen_seconds:.1f} s to generate, not counted)"
    )
    features, feature_seconds = _timed(propensity.population, frame, definition, as_of=NOW)
    scores, predict_seconds = _timed(model.score, features)
    value_model = ValueModel.model_validate(DEFAULT_VALUE_MODEL)
    raw = np.column_stack(
        [
            rng.gamma(2, 200, len(scores)),
            rng.uniform(0, 200, len(scores)),
            rng.random(len(scores)),
            rng.random(len(scores)),
            rng.random(len(scores)),
            scores,
        ]
    )
    (values, _), value_seconds = _timed(logic.score_matrix, value_model, raw)
    tiers, tier_seconds = _timed(logic.tiers_of, value_model, values)
    total = feature_seconds + predict_seconds + value_seconds + tier_seconds
    print(
        f"  {len(scores):,} profiles scored in {total:.1f} s (features in DuckDB "
        f"{feature_seconds:.1f} s, LightGBM+calibration {predict_seconds:.1f} s, value tiers "
        f"{value_seconds + tier_seconds:.2f} s)  target < 60 s; "
        "tiers "
        + ", ".join(
            f"{t} {int(n):,}" for t, n in zip(*np.unique(tiers, return_counts=True), strict=True)
        )
    )
    # writing computed traits: SQLite, merge into existing computed documents
    from partitur.context import Context
    from partitur.ml import ports
    from partitur.profiles.tables import profiles as profiles_table
    from partitur.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        ctx = Context.open(
            Settings(
                database_url=f"sqlite:///{tmp}/b.db", var_dir=Path(tmp), sqlite_synchronous="NORMAL"
            )
        )
        ids = features["profile_id"].iloc[:store_profiles].tolist()
        with ctx.store.begin() as conn:
            conn.execute(
                profiles_table.insert(),
                [
                    {
                        "id": pid,
                        "workspace_id": ctx.workspace_id,
                        "created_at": NOW,
                        "updated_at": NOW,
                        "traits": {},
                        "trait_times": {},
                        "computed": {},
                        "is_test": False,
                    }
                    for pid in ids
                ],
            )
        values_doc = {
            pid: {"scores": {"churn": round(float(s), 4)}}
            for pid, s in zip(ids, scores[: len(ids)], strict=True)
        }
        start = time.perf_counter()
        with ctx.store.begin() as conn:
            written = ports.merge_computed(
                conn, workspace_id=ctx.workspace_id, values=values_doc, now=NOW
            )
        seconds = time.perf_counter() - start
        ctx.close()
    print(
        f"  storing computed.scores.churn: {written:,} profiles in {seconds:.1f} s "
        f"({written / seconds:,.0f}/s on SQLite) -> 1,000,000 would take "
        f"~{1_000_000 / (written / seconds):.0f} s"
    )


# --- 3. decision API --------------------------------------------------------------------------


def _prepare(db_url: str, var_dir: Path, profiles: int) -> str:
    from decimal import Decimal

    from partitur.context import Context
    from partitur.decisions import service
    from partitur.decisions.contracts import OfferIn
    from partitur.events.tables import events
    from partitur.profiles.tables import profiles as profiles_table
    from partitur.settings import Settings
    from partitur.workspaces import service as workspaces
    from partitur.workspaces.contracts import Scope

    ctx = Context.open(Settings(database_url=db_url, var_dir=var_dir, sqlite_synchronous="NORMAL"))
    rng = np.random.default_rng(3)
    tiers = rng.choice(["premium", "valuable", "standard", "low"], profiles)
    with ctx.store.begin() as conn:
        conn.execute(
            profiles_table.insert(),
            [
                {
                    "id": f"p{i:07d}",
                    "workspace_id": ctx.workspace_id,
                    "created_at": NOW,
                    "updated_at": NOW,
                    "traits": {"country": "DE" if i % 2 else "AT"},
                    "trait_times": {},
                    "computed": {"tier": str(tiers[i]), "scores": {"upgrade": float(rng.random())}},
                    "is_test": False,
                }
                for i in range(profiles)
            ],
        )
        conn.execute(
            events.insert(),
            [
                {
                    "workspace_id": ctx.workspace_id,
                    "source_id": "s",
                    "message_id": f"m{i}",
                    "type": "track",
                    "event": "Chatbot Conversation",
                    "profile_id": f"p{i:07d}",
                    "timestamp": NOW - timedelta(hours=int(i % 48)),
                    "received_at": NOW,
                    "properties": {"topic": "billing"},
                }
                for i in range(0, profiles, 3)
            ],
        )
        for key, margin, rule in (
            ("upgrade", "40", {"trait": "country", "op": "eq", "value": "DE"}),
            ("insurance", "120", None),
            ("newsletter", "2", None),
        ):
            service.put_offer(
                conn,
                workspace_id=ctx.workspace_id,
                key=key,
                offer=OfferIn(
                    name=key,
                    margin=Decimal(margin),
                    propensity_score="upgrade",
                    eligibility=rule,
                    per_profile_cap=3,
                ),
                now=NOW,
                actor=Actor.system(ctx.workspace_id, "bench"),
            )
        token = workspaces.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="bench",
            scopes=[Scope.admin],
            now=NOW,
            actor=Actor.system(ctx.workspace_id, "bench"),
        ).token
    ctx.close()
    return token


def bench_api(profiles: int, requests: int, connections: int, profile: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/api.db"
        token = _prepare(db_url, Path(tmp), profiles)
        env = {
            "PARTITUR_DATABASE_URL": db_url,
            "PARTITUR_VAR_DIR": tmp,
            "PARTITUR_SQLITE_SYNCHRONOUS": "NORMAL",
        }
        server, port = start_serve(env, profile)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            rng = np.random.default_rng(4)
            urgencies = ["low", "normal", "high", "critical"]
            for path, bodies in (
                (
                    "/api/decisions/route",
                    [
                        {
                            "profile_id": f"p{int(i):07d}",
                            "intent": "billing",
                            "channel": "phone",
                            "urgency": urgencies[int(i) % 4],
                        }
                        for i in rng.integers(0, profiles, requests)
                    ],
                ),
                (
                    "/api/decisions/offers",
                    [
                        {"profile_id": f"p{int(i):07d}", "placement": "app-home"}
                        for i in rng.integers(0, profiles, requests)
                    ],
                ),
            ):
                prepared = [post(path, orjson.dumps(body), headers) for body in bodies]
                cpu = cpu_seconds(server.pid)
                load = run_load(port, prepared, 2, connections // 2)
                cpu = cpu_seconds(server.pid) - cpu
                print(
                    f"decision API {path}: {load['requests'] / load['seconds']:,.0f} "
                    f"decisions/s, p50 {load['p50_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms, "
                    f"{load['failures']} errors ({connections} connections from 2 client "
                    f"processes, {load['requests']:,} requests in {load['seconds']:.1f} s; server "
                    f"{load['requests'] / cpu:,.0f} decisions per CPU-second, one process)  "
                    "target >= 2,000/s, p99 < 20 ms"
                )
                if load["failure_samples"]:
                    print("  failures:", load["failure_samples"])
        finally:
            stop(server, "partitur serve")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 20 s)")
    parser.add_argument(
        "--only", default="clv,scoring,api", help="comma-separated parts: clv, scoring, api"
    )
    parser.add_argument("--requests", type=int, help="decision API requests per endpoint")
    parser.add_argument("--profile", type=Path, help="record the API server with py-spy here")
    args = parser.parse_args()
    parts = {p.strip() for p in args.only.split(",")}
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    started = time.perf_counter()
    print(f"machine: {os.cpu_count()} cores (shared; figures are noisy)")
    if "clv" in parts:
        bench_clv(2_000 if args.smoke else 10_000)
    if "scoring" in parts:
        if args.smoke:
            bench_scoring(20_000, 5_000, 3_000)
        else:
            bench_scoring(1_000_000, 100_000, 20_000)
    if "api" in parts:
        if args.smoke:
            bench_api(1_000, args.requests or 3_000, 8, args.profile)
        else:
            bench_api(100_000, args.requests or 30_000, 16, args.profile)
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
