"""Propensity models against their logistic baseline: ROC-AUC on the demo and on a public set.

    python bench/models.py           # demo with 10,000 customers; CDNOW master (23,570)
    python bench/models.py --smoke   # demo with 1,000 customers; CDNOW sample (2,357)

1. **Demo**: the demo generator's history (``partitur.demo.generator``, seed 42, 182 days)
   read as the event frame the churn model trains on (user ids as profiles, texts scored by the
   sentiment analyser, amounts in EUR); the built-in churn definition (60-day horizon, 56-day
   lookback), out of time.
2. **CDNOW** (public): purchases of 23,570 customers of the CD retailer CDNOW, Jan 1997 - Jun
   1998, as shipped in the ``lifetimes`` wheel (MIT; a test dependency; nothing is downloaded).
   Snapshots at 1997-06-30 (training) and 1997-12-31 (test); churn = no purchase in the next
   182 days; features: recency, purchases and spend (all and last 90 days), CDs, tenure,
   average spend and the first-purchase month (categorical).

Each prints the boosted model's and the baseline's ROC-AUC on the same test rows, the paired
bootstrap interval of the difference and which one scores.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report

from partitur.core.money import ReportingCurrency
from partitur.ml import propensity
from partitur.ml.sentiment import analyse
from partitur.ml.service import TEXT_PROPERTIES, churn_definition
from partitur.ml.tabular import train_classifier


def show(out: Report, name: str, report: dict[str, Any], seconds: float) -> None:
    low, high = report["auc_difference_interval"]
    out.figure(
        f"{name}: ROC-AUC out of time",
        report["model"]["roc_auc"],
        "",
        baseline=report["baseline"]["roc_auc"],
        baseline_name="logistic baseline",
        note=f"serving the {report['serving']}",
    )
    print(
        f"{name:<34} model ROC-AUC {report['model']['roc_auc']:.3f}   baseline "
        f"{report['baseline']['roc_auc']:.3f}   difference {report['auc_difference']:+.4f} "
        f"[{low:+.4f}, {high:+.4f}]   serving: {report['serving']}"
    )
    print(
        f"{'':<34} {report['split']} test rows {report['test_rows']:,} (positive "
        f"{report['positive_rate_test']:.3f}), train rows {report['train_rows']:,}, "
        f"Brier model {report['model']['brier']:.3f} / baseline {report['baseline']['brier']:.3f}"
        f", {seconds:.1f} s"
    )


def demo_frame(customers: int) -> tuple[pd.DataFrame, datetime]:
    from partitur.demo.generator import DemoConfig, generate

    end = datetime(2026, 12, 1, tzinfo=UTC)
    data = generate(DemoConfig(customers=customers, end=end))
    rows = []
    for m in data.messages:
        if m["type"] not in ("track", "page", "screen"):
            continue
        props = m.get("properties") or {}
        text = next((props[p] for p in TEXT_PROPERTIES if props.get(p)), None)
        rows.append(
            (
                m.get("userId") or m.get("anonymousId"),
                bool(m.get("userId")),
                m.get("event") or m.get("name"),
                m["timestamp"],
                props.get("revenue"),
                props.get("currency"),
                props.get("score"),
                props.get("rating"),
                props.get("late"),
                text,
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "profile_id",
            "known",
            "event",
            "timestamp",
            "revenue",
            "currency",
            "score",
            "rating",
            "late",
            "text",
        ],
    )
    frame = frame[frame["profile_id"].notna()].reset_index(drop=True)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    factors = ReportingCurrency().factors(frame["currency"].tolist())
    frame["revenue"] = pd.to_numeric(frame["revenue"], errors="coerce") * factors
    for column in ("score", "rating"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["late"] = frame["late"].map({True: 1.0, False: 0.0}).astype("float64")
    written = frame["text"].notna()
    frame["sentiment"] = np.nan
    frame.loc[written, "sentiment"] = [analyse(t).score for t in frame.loc[written, "text"]]
    return frame.drop(columns=["currency", "text"]), end


def cdnow_frame(sample: bool) -> pd.DataFrame:
    name = "CDNOW_sample.txt" if sample else "CDNOW_master.txt"
    path = files("lifetimes.datasets") / name
    if sample:
        tx = pd.read_csv(
            str(path), sep=r"\s+", header=None, names=["customer", "id", "date", "cds", "value"]
        )
    else:
        tx = pd.read_csv(
            str(path), sep=r"\s+", header=0, names=["customer", "date", "cds", "value"]
        )
    tx["date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")

    def snapshot(as_of: pd.Timestamp) -> pd.DataFrame:
        past = tx[tx["date"] <= as_of]
        future = tx[(tx["date"] > as_of) & (tx["date"] <= as_of + pd.Timedelta(days=182))]
        recent = past[past["date"] > as_of - pd.Timedelta(days=90)].groupby("customer")
        g = past.groupby("customer")
        out = pd.DataFrame(
            {
                "recency_days": (as_of - g["date"].max()).dt.days,
                "purchases": g.size(),
                "spend": g["value"].sum(),
                "cds": g["cds"].sum(),
                "tenure_days": (as_of - g["date"].min()).dt.days,
                "purchases_90d": recent.size(),
                "spend_90d": recent["value"].sum(),
                "cohort": g["date"].min().dt.strftime("%Y-%m"),
            }
        ).fillna({"purchases_90d": 0, "spend_90d": 0})
        out["avg_spend"] = out["spend"] / out["purchases"]
        out["churned"] = (~out.index.isin(future["customer"])).astype(int)
        out["as_of"] = as_of
        return out.reset_index(drop=True)

    return pd.concat(
        [snapshot(pd.Timestamp("1997-06-30")), snapshot(pd.Timestamp("1997-12-31"))],
        ignore_index=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (CI)")
    args = parser.parse_args()
    customers = 1_000 if args.smoke else 10_000
    out = Report("models", smoke=args.smoke)
    started = time.perf_counter()
    frame, now = demo_frame(customers)
    built = time.perf_counter() - started
    started = time.perf_counter()
    _, report = propensity.train(frame, churn_definition(horizon_days=60), now=now)
    show(out, f"demo churn, {customers:,} customers", report, time.perf_counter() - started)
    print(f"{'':<34} (event frame of {len(frame):,} events built in {built:.1f} s)")
    table = cdnow_frame(args.smoke)
    started = time.perf_counter()
    _, report = train_classifier(table, label="churned", time_column="as_of")
    customers_cdnow = table["as_of"].value_counts().iloc[0]
    show(out, f"CDNOW churn, {customers_cdnow:,} customers", report, time.perf_counter() - started)
    out.finish()


if __name__ == "__main__":
    main()
