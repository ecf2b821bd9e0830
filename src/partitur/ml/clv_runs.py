"""Customer lifetime value runs: BG/NBD and Gamma-Gamma fitted on order events, checked on a
holdout period, stored as a model version and written to the profiles as computed traits.
Re-exported by ``ml.service``."""

from __future__ import annotations

import io
import logging
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from partitur.core import jsonutil
from partitur.core.actions import Actor
from partitur.core.errors import ValidationFailed
from partitur.core.money import ReportingCurrency
from partitur.ml import clv, ports, registry
from partitur.ml.contracts import (
    ClvBucket,
    ClvReport,
)
from partitur.ml.registry import activate_version as activate_version
from partitur.ml.registry import list_versions as list_versions
from partitur.ml.rfm import UNIT_DAYS, Unit, rfm_summary
from partitur.ml.topics import find_topics as find_topics

log = logging.getLogger(__name__)

_BUCKETS = ["0", "1", "2", "3", "4", "5", "6", "7+"]


def _holdout_buckets(summary: pd.DataFrame, predicted: np.ndarray) -> list[ClvBucket]:
    label = np.minimum(summary["frequency"].to_numpy(), 7).astype(int)
    out = []
    for i, name in enumerate(_BUCKETS):
        mask = label == i
        if mask.any():
            out.append(
                ClvBucket(
                    frequency=name,
                    customers=int(mask.sum()),
                    predicted=float(predicted[mask].mean()),
                    actual=float(summary["holdout_purchases"].to_numpy()[mask].mean()),
                )
            )
    return out


#: A Gamma-Gamma fit with q or v this large has collapsed the spend distribution to one
#: value for everybody (the likelihood's maximum ran off to infinity): not a model of spend.
GG_MAX_Q = 1e3
GG_MAX_V = 1e6


def gamma_gamma_problem(fit: clv.GammaGammaFit) -> str | None:
    """Why a Gamma-Gamma fit must not be used, or None when it is sound."""
    if not fit.converged:
        return "degenerate: the fit did not converge"
    if fit.q <= 1:
        return f"degenerate: q = {fit.q:.3g} <= 1 (the mean spend does not exist)"
    if fit.q > GG_MAX_Q or fit.v > GG_MAX_V:
        return (
            f"degenerate: q = {fit.q:.3g}, v = {fit.v:.3g} (no spend heterogeneity identified; "
            "the population mean for everyone)"
        )
    return None


def fallback_spend(frequency: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
    """Expected spend per order without a Gamma-Gamma model: the customer's own mean spend of
    repeat orders, or the population's mean for customers without one."""
    has = (frequency > 0) & np.isfinite(monetary_value) & (monetary_value > 0)
    population = float(np.mean(monetary_value[has])) if has.any() else 0.0
    out: np.ndarray = np.where(has, monetary_value, population)
    return out


def _calibration_deciles(predicted: np.ndarray, actual: np.ndarray) -> list[ClvBucket]:
    order = np.argsort(predicted, kind="stable")
    out = []
    for i, chunk in enumerate(np.array_split(order, 10)):
        if chunk.size:
            out.append(
                ClvBucket(
                    frequency=f"decile {i + 1}",
                    customers=int(chunk.size),
                    predicted=float(predicted[chunk].mean()),
                    actual=float(actual[chunk].mean()),
                )
            )
    return out


def latest_clv_report(conn: Connection, *, workspace_id: str) -> ClvReport:
    """The holdout validation of the active CLV model. Raises ``NotFound``."""
    version = registry.get_version(conn, workspace_id=workspace_id, name="clv")
    report = ClvReport.model_validate(version.metrics | {"profiles_updated": 0})
    report.model_version = version.version
    return report


def render_clv_chart(report: ClvReport) -> bytes:
    """PNG: predicted vs actual holdout purchases per calibration-frequency bucket."""
    from matplotlib.figure import Figure

    names = [b.frequency for b in report.buckets]
    x = np.arange(len(names))
    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.subplots()
    ax.bar(x - 0.2, [b.actual for b in report.buckets], 0.4, label="actual")
    ax.bar(x + 0.2, [b.predicted for b in report.buckets], 0.4, label="BG/NBD predicted")
    ax.set_xticks(x, names)
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel(f"purchases per customer in holdout ({report.holdout_length:.0f} {report.unit})")
    ax.set_title("CLV holdout validation")
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _finite(value: Any, digits: int) -> float | None:
    """A model output as stored on a profile: rounded, or None where the fit gave no number
    (a degenerate fit on little data yields NaN or infinity, which JSON cannot hold)."""
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


def run_clv(
    conn: Connection,
    *,
    workspace_id: str,
    until: datetime,
    now: datetime,
    var_dir: Path,
    unit: Unit = "days",
    event: str = "Order Completed",
    revenue_property: str = "revenue",
    horizon_days: int = 365,
    discount_rate: float = 0.01,
    store: bool = True,
    chart_path: Path | None = None,
    currency: ReportingCurrency | None = None,
    actor: Actor,
) -> ClvReport:
    """Calibrate BG/NBD + Gamma-Gamma on orders up to ``until``, compare the predicted
    purchases in (``until``, ``now``] with what happened, then refit on everything up to
    ``now`` and store ``computed.clv`` and ``computed.scores.{clv,p_alive}`` per customer.

    Raises ``ValidationFailed`` when ``until`` is not before ``now`` or there are too few
    customers to fit."""
    if until >= now:
        raise ValidationFailed("the calibration cut-off must lie before now", field="until")
    currency = currency or ReportingCurrency()
    orders = ports.order_events(
        conn, workspace_id=workspace_id, event=event, revenue_property=revenue_property, until=now
    )
    # every amount in the reporting currency; an order in a currency without a rate has no
    # known spend (NaN: it still counts as a purchase)
    factors = currency.factors(orders["currency"].where(orders["currency"].notna(), None).tolist())
    unconverted = int((np.isnan(factors) & orders["revenue"].notna()).sum())
    orders["revenue"] = orders["revenue"] * factors
    orders = orders.drop(columns=["currency"])
    calibration = rfm_summary(orders, until=until, unit=unit, holdout_end=now)
    calibration = calibration[calibration["T"] > 0]
    if len(calibration) < 10:
        raise ValidationFailed(
            f"only {len(calibration)} customers with '{event}' events before the cut-off; "
            "at least 10 are needed",
            field="until",
        )
    x, t_x, big_t = (calibration[c].to_numpy() for c in ("frequency", "recency", "T"))
    bg = clv.fit_bg_nbd(x, t_x, big_t)
    holdout_length = (now - until) / timedelta(days=1) / UNIT_DAYS[unit]
    predicted = clv.expected_purchases(bg, holdout_length, x, t_x, big_t)
    actual = calibration["holdout_purchases"].to_numpy()
    correlation = (
        float(np.corrcoef(predicted, actual)[0, 1])
        if np.std(actual) > 0 and np.std(predicted) > 0
        else None
    )
    report = ClvReport(
        until=until,
        holdout_end=now,
        unit=unit,
        currency=currency.code,
        unconverted_orders=unconverted,
        customers=len(calibration),
        repeat_customers=int((x > 0).sum()),
        bg_nbd={k: float(v) for k, v in bg.as_dict().items() if k not in ("converged",)},
        gamma_gamma=None,
        holdout_length=float(holdout_length),
        predicted_holdout_purchases=float(predicted.sum()),
        actual_holdout_purchases=float(actual.sum()),
        holdout_mae=float(np.abs(predicted - actual).mean()),
        holdout_correlation=correlation,
        holdout_ratio=float(predicted.sum() / actual.sum()) if actual.sum() > 0 else None,
        calibration=_calibration_deciles(predicted, actual),
        buckets=_holdout_buckets(calibration, predicted),
        profiles_updated=0,
    )

    # Refit on the full history for the values we store.
    full = rfm_summary(orders, until=now, unit=unit)
    full = full[full["T"] > 0]
    fx, ft, fT, fm = (full[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    bg_full = clv.fit_bg_nbd(fx, ft, fT)
    gg_full: clv.GammaGammaFit | None
    try:
        gg_full = clv.fit_gamma_gamma(fx, fm)
    except ValueError:
        gg_full = None
        report.gamma_gamma_status = "no repeat customers with spend: observed mean spend used"
    if gg_full is not None:
        report.gamma_gamma = {
            k: float(v) for k, v in gg_full.as_dict().items() if k not in ("converged",)
        }
        problem = gamma_gamma_problem(gg_full)
        if problem is not None:
            report.gamma_gamma_status = f"{problem}: observed mean spend used instead"
            log.warning("clv gamma-gamma not used: %s", problem)
            gg_full = None
    period = 30.0 / UNIT_DAYS[unit]
    horizon = max(1, round(horizon_days / 30))
    expected = clv.expected_purchases(bg_full, horizon_days / UNIT_DAYS[unit], fx, ft, fT)
    alive = clv.probability_alive(bg_full, fx, ft, fT)
    if gg_full is not None:
        value = clv.customer_lifetime_value(
            bg_full,
            gg_full,
            fx,
            ft,
            fT,
            fm,
            horizon=horizon,
            period=period,
            discount_rate=discount_rate,
        )
        spend = clv.conditional_expected_average_value(gg_full, fx, fm)
    else:
        # fallback: each customer's own mean spend (the population's for one-time buyers),
        # times the expected purchases, discounted like the model's value
        spend = fallback_spend(fx, fm)
        value = np.zeros_like(fx, dtype=np.float64)
        previous = np.zeros_like(fx, dtype=np.float64)
        for i in range(1, horizon + 1):  # periods, vectorised over customers
            cumulative = clv.expected_purchases(bg_full, i * period, fx, ft, fT)
            value += (cumulative - previous) * spend / (1.0 + discount_rate) ** i
            previous = cumulative

    files = {
        "params.json": jsonutil.dumps(
            {
                "bg_nbd": bg_full.as_dict(),
                "gamma_gamma": gg_full.as_dict() if gg_full else None,
                "unit": unit,
            }
        )
    }
    if chart_path is not None or store:
        png = render_clv_chart(report)
        files["holdout.png"] = png
        if chart_path is not None:
            chart_path.write_bytes(png)
            report.chart = str(chart_path)
    if store:
        as_of = now.isoformat()
        values: dict[str, dict[str, Any]] = {}
        for pid, v, e, a, s in zip(full["profile_id"], value, expected, alive, spend, strict=True):
            values[str(pid)] = {
                "clv": {
                    "value": _finite(v, 2),
                    "expected_purchases": _finite(e, 4),
                    "p_alive": _finite(a, 4),
                    "expected_spend": _finite(s, 2),
                    "horizon_days": horizon_days,
                    "as_of": as_of,
                },
                "scores": {"clv": _finite(v, 2), "p_alive": _finite(a, 4)},
            }
        report.profiles_updated = ports.merge_computed(
            conn, workspace_id=workspace_id, values=values, now=now
        )
        version = registry.register_model(
            conn,
            workspace_id=workspace_id,
            name="clv",
            kind="bg_nbd_gamma_gamma",
            params={
                "event": event,
                "revenue_property": revenue_property,
                "unit": unit,
                "horizon_days": horizon_days,
                "discount_rate": discount_rate,
                "bg_nbd": bg_full.as_dict(),
                "gamma_gamma": gg_full.as_dict() if gg_full else None,
            },
            metrics=report.model_dump(mode="json", exclude={"profiles_updated", "chart"}),
            files=files,
            var_dir=var_dir,
            now=now,
            actor=actor,
        )
        report.model_version = version.version
    log.info(
        "clv fitted customers=%s repeat=%s updated=%s",
        report.customers,
        report.repeat_customers,
        report.profiles_updated,
    )
    return report
