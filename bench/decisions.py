"""Benchmarks of the ml and decisions domains.

    python bench/decisions.py [--smoke]

1. CLV: BG/NBD + Gamma-Gamma fit on 10,000 simulated customers; ratio against the
   ``lifetimes`` package on the same data when it is installed (a test-only reference).
2. Scoring: churn features in DuckDB + calibrated LightGBM + value tiers for 1,000,000
   profiles (synthetic event log of ~4 events per profile); plus the rate of writing
   computed traits into SQLite.
3. Decision API: ``partitur serve`` on 127.0.0.1 with its own settings, load from two client
   processes (bench/_httpload.py: raw HTTP/1.1 over keep-alive asyncio sockets): decisions per
   second and latency percentiles for POST /api/decisions/route and POST /api/decisions/offers,
   cold (the first requests after the server started, its caches empty) and warm. The baseline
   is the same load against a bare ASGI app on uvicorn.
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
from _httpload import cpu_seconds, post, run_load, start_bare, start_serve, stop
from _report import Report, Target, at_least, below

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


# --- 1. CLV -----------------------------------------------------------------------------------


def bench_clv(report: Report, customers: int) -> None:
    from partitur.ml import clv

    rng = np.random.default_rng(1)
    x, t_x, big_t = clv.simulate_bg_nbd(
        0.243, 4.414, 0.793, 2.426, rng.uniform(27, 39, customers), rng=rng
    )
    m = clv.simulate_gamma_gamma(6.25, 3.74, 15.44, x, rng=rng)
    (bg, gg), seconds = _timed(lambda: (clv.fit_bg_nbd(x, t_x, big_t), clv.fit_gamma_gamma(x, m)))
    reference = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lifetimes

            _, reference = _timed(
                lambda: (
                    lifetimes.BetaGeoFitter().fit(x, t_x, big_t),
                    lifetimes.GammaGammaFitter().fit(x[x > 0], m[x > 0]),
                )
            )
    except ImportError:
        print("  lifetimes is not installed: no baseline (pip install lifetimes to compare)")
    report.figure(
        f"CLV fit (BG/NBD + Gamma-Gamma), {customers:,} customers",
        seconds,
        "s",
        baseline=reference,
        baseline_name="lifetimes on the same data",
        target=below(2.0),
        note=f"r={bg.r:.3f} alpha={bg.alpha:.3f} a={bg.a:.3f} b={bg.b:.3f}; "
        f"p={gg.p:.2f} q={gg.q:.2f} v={gg.v:.2f}",
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


def bench_scoring(report: Report, profiles: int, store_profiles: int, train_profiles: int) -> None:
    from partitur.decisions import logic
    from partitur.decisions.contracts import ValueModel
    from partitur.decisions.defaults import DEFAULT_VALUE_MODEL
    from partitur.ml import propensity
    from partitur.ml.service import churn_definition

    rng = np.random.default_rng(2)
    train_frame = _event_log(train_profiles, rng)
    definition = churn_definition(horizon_days=60)
    model, trained = propensity.train(train_frame, definition, now=NOW)
    print(
        f"churn model on {train_profiles:,} synthetic customers: out-of-time ROC-AUC "
        f"{trained['model']['roc_auc']:.3f} (logistic baseline "
        f"{trained['baseline']['roc_auc']:.3f})"
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
    tier_counts = ", ".join(
        f"{t} {int(n):,}" for t, n in zip(*np.unique(tiers, return_counts=True), strict=True)
    )
    report.figure(
        f"scoring {len(scores):,} profiles (DuckDB features, LightGBM, value tiers)",
        total,
        "s",
        target=below(60),
        note=f"features {feature_seconds:.1f} s, model {predict_seconds:.1f} s, tiers "
        f"{value_seconds + tier_seconds:.2f} s; {tier_counts}",
    )
    # writing computed traits: SQLite, merge into existing computed documents
    from partitur.context import Context
    from partitur.ml import ports
    from partitur.profiles.tables import profiles as profiles_table
    from partitur.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        ctx = Context.open(Settings(database_url=f"sqlite:///{tmp}/b.db", var_dir=Path(tmp)))
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
    report.figure(
        "storing computed.scores.churn in SQLite",
        written / seconds,
        "profiles/s",
        note=f"{written:,} profiles in {seconds:.1f} s",
    )


# --- 3. decision API --------------------------------------------------------------------------


def _prepare(db_url: str, var_dir: Path, profiles: int) -> str:
    from decimal import Decimal

    from partitur.access import service as access
    from partitur.access.contracts import Scope
    from partitur.context import Context
    from partitur.decisions import service
    from partitur.decisions.contracts import OfferIn
    from partitur.events.tables import events
    from partitur.profiles.tables import profiles as profiles_table
    from partitur.settings import Settings

    ctx = Context.open(Settings(database_url=db_url, var_dir=var_dir))
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
        token = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="bench",
            scopes=[Scope.admin],
            now=NOW,
            actor=Actor.system(ctx.workspace_id, "bench"),
        ).token
    ctx.close()
    return token


def bench_api(
    report: Report, profiles: int, requests: int, connections: int, profile: Path | None = None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/api.db"
        token = _prepare(db_url, Path(tmp), profiles)
        env = {"PARTITUR_DATABASE_URL": db_url, "PARTITUR_VAR_DIR": tmp}
        rng = np.random.default_rng(4)
        urgencies = ["low", "normal", "high", "critical"]
        headers = {"Authorization": f"Bearer {token}"}
        loads = {
            "/api/decisions/route": [
                post(
                    "/api/decisions/route",
                    orjson.dumps(
                        {
                            "profile_id": f"p{int(i):07d}",
                            "intent": "billing",
                            "channel": "phone",
                            "urgency": urgencies[int(i) % 4],
                        }
                    ),
                    headers,
                )
                for i in rng.integers(0, profiles, requests)
            ],
            "/api/decisions/offers": [
                post(
                    "/api/decisions/offers",
                    orjson.dumps({"profile_id": f"p{int(i):07d}", "placement": "app-home"}),
                    headers,
                )
                for i in rng.integers(0, profiles, requests)
            ],
        }
        cold_n = min(500, requests // 4)
        server, port = start_serve(env, profile)
        measured: dict[str, tuple[dict, dict, float]] = {}
        try:
            for path, prepared in loads.items():
                # cold: the first requests of a fresh server (caches of policies, offers, pages
                # of the profiles still empty), then warm: the full load
                cold = run_load(port, prepared[:cold_n], 2, connections // 2)
                cpu = cpu_seconds(server.pid)
                warm = run_load(port, prepared, 2, connections // 2)
                measured[path] = (cold, warm, cpu_seconds(server.pid) - cpu)
                for load in (cold, warm):
                    if load["failure_samples"]:
                        print("  failures:", load["failure_samples"])
        finally:
            stop(server, "partitur serve")
        bare, bare_port = start_bare()
        try:
            for path, (cold, warm, cpu) in measured.items():
                base = run_load(bare_port, loads[path], 2, connections // 2)
                rate = warm["requests"] / warm["seconds"]
                report.figure(
                    f"decision API {path}, warm",
                    rate,
                    "decisions/s",
                    baseline=base["requests"] / base["seconds"],
                    baseline_name="bare uvicorn app, same load",
                    target=at_least(2_000),
                    note=f"{warm['failures']} errors; {connections} connections from 2 client "
                    f"processes; server {warm['requests'] / cpu:,.0f} decisions per CPU-second",
                )
                report.figure(
                    f"decision API {path}, warm p99",
                    warm["p99_ms"],
                    "ms",
                    baseline=base["p99_ms"],
                    baseline_name="bare uvicorn app, same load",
                    target=Target("<", 20),
                    note=f"p50 {warm['p50_ms']:.1f} ms",
                )
                report.figure(
                    f"decision API {path}, cold p99 (first {cold_n} requests)",
                    cold["p99_ms"],
                    "ms",
                    baseline=warm["p99_ms"],
                    baseline_name="warm p99",
                    note=f"p50 {cold['p50_ms']:.1f} ms, "
                    f"{cold['requests'] / cold['seconds']:,.0f} decisions/s",
                )
        finally:
            stop(bare, "bare uvicorn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="small sizes (< 1 min)")
    parser.add_argument(
        "--only", default="clv,scoring,api", help="comma-separated parts: clv, scoring, api"
    )
    parser.add_argument("--requests", type=int, help="decision API requests per endpoint")
    parser.add_argument("--profile", type=Path, help="record the API server with py-spy here")
    args = parser.parse_args()
    parts = {p.strip() for p in args.only.split(",")}
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    report = Report("decisions", smoke=args.smoke)
    started = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if "clv" in parts:
        bench_clv(report, 2_000 if args.smoke else 10_000)
    if "scoring" in parts:
        if args.smoke:
            bench_scoring(report, 20_000, 5_000, 3_000)
        else:
            bench_scoring(report, 1_000_000, 100_000, 20_000)
    if "api" in parts:
        if args.smoke:
            bench_api(report, 1_000, args.requests or 3_000, 8, args.profile)
        else:
            bench_api(report, 100_000, args.requests or 30_000, 16, args.profile)
    print(f"total {time.perf_counter() - started:.1f} s")
    report.finish()


if __name__ == "__main__":
    main()
