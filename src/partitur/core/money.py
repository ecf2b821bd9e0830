"""One reporting currency: amounts in other currencies converted with configured rates.

Rates are "units of the reporting currency per unit of the other currency" (with EUR as the
reporting currency, ``GBP: 1.16`` means one pound counts as 1.16 euros). An amount without a
currency is taken to be in the reporting currency; an amount in a currency without a rate is
not converted and counted as unknown (NaN in vectorised use), never added as if it were the
reporting currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from partitur.core.errors import ValidationFailed

#: Defaults for a EUR-reporting workspace (approximate; set PARTITUR_CURRENCY_RATES).
DEFAULT_RATES: dict[str, float] = {"EUR": 1.0, "GBP": 1.16, "USD": 0.93, "CHF": 1.05}


@dataclass(frozen=True)
class ReportingCurrency:
    code: str = "EUR"
    rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))

    def __post_init__(self) -> None:
        if len(self.code) != 3 or not self.code.isalpha():
            raise ValidationFailed("a currency is a 3-letter ISO 4217 code", field="currency")
        for name, rate in self.rates.items():
            if not rate > 0:
                raise ValidationFailed(f"the rate of {name} must be positive", field="rates")

    def rate(self, currency: str | None) -> float | None:
        """Reporting units per unit of ``currency`` (1 for none or the reporting currency)."""
        if currency is None or currency == "" or currency.upper() == self.code.upper():
            return 1.0
        value = self.rates.get(currency.upper())
        if value is None:
            return None
        # rates are stated against the reporting currency's own entry (1.0 unless changed)
        return float(value) / float(self.rates.get(self.code.upper(), 1.0))

    def convert(self, amount: float, currency: str | None) -> float | None:
        rate = self.rate(currency)
        return None if rate is None else amount * rate

    def factors(self, currencies: Sequence[str | None]) -> NDArray[np.float64]:
        """Conversion factor per row (NaN for a currency without a rate)."""
        cache: dict[str | None, float] = {}
        out = np.empty(len(currencies), dtype=np.float64)
        for i, currency in enumerate(currencies):
            if currency not in cache:
                rate = self.rate(currency if isinstance(currency, str) else None)
                cache[currency] = np.nan if rate is None else rate
            out[i] = cache[currency]
        return out
