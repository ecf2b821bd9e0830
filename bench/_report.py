"""Figures of a benchmark run, in one shape for every bench.

A bench records each figure with ``Report.figure``: its value and unit, the baseline measured in
the same run (what the machine can do without partitur's logic, at the same concurrency) and
the target, if the figure has one. ``Report.finish`` prints the bench's figures, appends them as
JSON lines to the file named by ``PARTITUR_BENCH_RESULTS`` (set by ``bench/_run.py``, which
prints one table for all benches and writes ``bench/RESULTS.md``) and exits with code 3 if a
target was missed (any other non-zero code means the bench failed).

Targets hold at one size: ``Target(..., smoke=False)`` is checked only at full size (a rate
measured over 300 messages in CI says little), ``smoke=True`` at both sizes.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Literal

#: where ``Report.finish`` appends its figures (JSON lines); set by bench/_run.py
RESULTS_ENV = "PARTITUR_BENCH_RESULTS"
#: a bench's exit code when it ran to the end but missed a target (a crash exits otherwise)
MISSED_EXIT = 3


@dataclass(frozen=True)
class Target:
    """``value op threshold`` (``on="value"``) or ``ratio op threshold`` (``on="ratio"``)."""

    op: Literal[">=", "<=", "<", ">"]
    threshold: float
    on: Literal["value", "ratio"] = "value"
    #: checked at smoke size too (else only at full size)
    smoke: bool = False

    def met(self, value: float, ratio: float | None) -> bool:
        subject = value if self.on == "value" else ratio
        if subject is None or subject != subject:  # no ratio, or NaN
            return False
        return {
            ">=": subject >= self.threshold,
            "<=": subject <= self.threshold,
            "<": subject < self.threshold,
            ">": subject > self.threshold,
        }[self.op]

    def describe(self, unit: str) -> str:
        if self.on == "ratio":
            return f"ratio {self.op} {self.threshold:g}"
        return f"{self.op} {number(self.threshold)} {unit}".rstrip()


def at_least(threshold: float, *, on: Literal["value", "ratio"] = "value", smoke: bool = False):
    return Target(">=", threshold, on, smoke)


def below(threshold: float, *, on: Literal["value", "ratio"] = "value", smoke: bool = False):
    return Target("<", threshold, on, smoke)


@dataclass
class Figure:
    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    #: value / baseline
    ratio: float | None = None
    target: str = ""
    #: True / False when a target applies at this size, None otherwise
    met: bool | None = None
    note: str = ""
    size: str = "full"


def number(value: float) -> str:
    """A figure for people: thousands separators, three significant digits below 100."""
    if value != value:
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


@dataclass
class Report:
    """The figures of one bench run (``bench`` is its file's stem)."""

    bench: str
    smoke: bool
    figures: list[Figure] = field(default_factory=list)

    def figure(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        baseline: float | None = None,
        baseline_name: str = "",
        target: Target | None = None,
        note: str = "",
    ) -> Figure:
        """Record (and print) one figure; returns it."""
        ratio = None
        if baseline:
            ratio = value / baseline
        met = None
        if target is not None and (target.smoke or not self.smoke):
            met = target.met(value, ratio)
        fig = Figure(
            bench=self.bench,
            name=name,
            value=float(value),
            unit=unit,
            baseline=None if baseline is None else float(baseline),
            baseline_name=baseline_name,
            ratio=ratio,
            target=target.describe(unit) if target is not None else "",
            met=met,
            note=note,
            size="smoke" if self.smoke else "full",
        )
        self.figures.append(fig)
        print(line(fig), flush=True)
        return fig

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.met is False]

    def finish(self) -> None:
        """Hand the figures to the runner; exit with ``MISSED_EXIT`` if a target was missed."""
        path = os.environ.get(RESULTS_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as out:
                for fig in self.figures:
                    out.write(json.dumps(asdict(fig)) + "\n")
        if self.missed:
            names = ", ".join(f.name for f in self.missed)
            print(f"{self.bench}: target missed: {names}", file=sys.stderr)
            sys.exit(MISSED_EXIT)


def verdict(fig: Figure) -> str:
    if fig.met is None:
        return "—" if not fig.target else "(full size)"
    return "met" if fig.met else "MISSED"


def line(fig: Figure) -> str:
    """One figure as a line of the bench's own output."""
    text = f"{fig.name}: {number(fig.value)} {fig.unit}"
    if fig.baseline is not None:
        text += f"  ({fig.baseline_name or 'baseline'} {number(fig.baseline)}"
        text += f", ratio {fig.ratio:.2f})" if fig.ratio is not None else ")"
    if fig.target:
        text += f"  target {fig.target}: {verdict(fig)}"
    if fig.note:
        text += f"  [{fig.note}]"
    return text
