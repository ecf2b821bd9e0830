"""Value-tier inputs from events, currency conversion and the Gamma-Gamma guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from partitur.core.errors import ValidationFailed
from partitur.core.money import ReportingCurrency
from partitur.ml import clv
from partitur.ml.service import fallback_spend, gamma_gamma_problem
from partitur.ml.value_inputs import value_inputs

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def events(rows: list[tuple[str, str, int, dict]]) -> pd.DataFrame:
    """(profile, event, days ago, properties) -> the frame ``value_inputs`` reads."""
    return pd.DataFrame(
        {
            "profile_id": [r[0] for r in rows],
            "event": [r[1] for r in rows],
            "timestamp": pd.to_datetime([NOW - timedelta(days=r[2]) for r in rows], utc=True),
            "score": [float(r[3].get("score", np.nan)) for r in rows],
            "channel": [r[3].get("channel") for r in rows],
        }
    )


def test_service_cost_loyalty_digital_affinity_and_influence_come_from_events() -> None:
    frame = events(
        [
            ("caller", "Order Completed", 300, {}),
            ("caller", "Ticket Created", 20, {"channel": "phone"}),
            ("caller", "Ticket Created", 10, {"channel": "Phone"}),
            ("caller", "Order Refunded", 5, {}),
            ("chatter", "Order Completed", 364, {}),
            ("chatter", "Order Completed", 200, {}),
            ("chatter", "Order Completed", 100, {}),
            ("chatter", "Order Completed", 50, {}),
            ("chatter", "Ticket Created", 40, {"channel": "chat"}),
            ("chatter", "Ticket Created", 30, {"channel": "email"}),
            ("chatter", "Email Link Clicked", 3, {}),
            ("fan", "Product Reviewed", 30, {}),
            ("fan", "Product Reviewed", 20, {}),
            ("fan", "NPS Submitted", 10, {"score": 10}),
            ("fan", "NPS Submitted", 400, {"score": 0}),  # outside the window
        ]
    )
    table = value_inputs(frame, now=NOW, agent_tasks={"caller": 1}).set_index("profile_id")
    # two phone contacts (9 each), one agent task (12), one return (8)
    assert table.loc["caller", "service_cost"] == 2 * 9 + 12 + 8
    assert table.loc["chatter", "service_cost"] == 4 + 5
    # a full year and three repeat orders: fully loyal; one order 300 days ago: tenure only
    assert table.loc["chatter", "loyalty"] == pytest.approx(0.5 * 364 / 365 + 0.5, abs=1e-3)
    assert table.loc["caller", "loyalty"] == pytest.approx(0.5 * 300 / 365, abs=1e-3)
    # digital contacts and clicks against assisted ones, with one of each as prior
    assert table.loc["chatter", "digital_affinity"] == pytest.approx(4 / 5)
    assert table.loc["caller", "digital_affinity"] == pytest.approx(1 / 4)
    assert table.loc["fan", "digital_affinity"] == 0.5
    # two reviews (half) and a promoter (a quarter)
    assert table.loc["fan", "influence"] == pytest.approx(0.75)
    assert table.loc["caller", "influence"] == 0


def test_amounts_convert_to_the_reporting_currency() -> None:
    eur = ReportingCurrency("EUR", {"EUR": 1.0, "GBP": 1.16, "USD": 0.93})
    assert eur.convert(10, "GBP") == pytest.approx(11.6)
    assert eur.convert(10, None) == 10 and eur.convert(10, "eur") == 10
    assert eur.convert(10, "JPY") is None
    assert np.isnan(eur.factors(["GBP", "JPY", None])[1])
    # rates are relative: a GBP-reporting workspace with the same table
    gbp = ReportingCurrency("GBP", {"EUR": 1.0, "GBP": 1.16})
    assert gbp.convert(11.6, "EUR") == pytest.approx(10.0)
    with pytest.raises(ValidationFailed):
        ReportingCurrency("EURO")


def test_a_degenerate_gamma_gamma_fit_is_refused_and_the_observed_spend_used() -> None:
    sound = clv.GammaGammaFit(
        p=6.25, q=3.74, v=15.44, log_likelihood=0, customers=9, converged=True
    )
    runaway = clv.GammaGammaFit(
        p=11.0, q=1.2e7, v=9.4e8, log_likelihood=0, customers=9, converged=True
    )
    assert gamma_gamma_problem(sound) is None
    assert "degenerate" in (gamma_gamma_problem(runaway) or "")
    assert "q = 0.5" in (
        gamma_gamma_problem(
            clv.GammaGammaFit(p=1, q=0.5, v=1, log_likelihood=0, customers=9, converged=True)
        )
        or ""
    )
    spend = fallback_spend(np.array([0.0, 2.0, 3.0]), np.array([0.0, 40.0, 20.0]))
    assert spend.tolist() == [30.0, 40.0, 20.0]
