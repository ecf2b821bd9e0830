"""The demo's extension point: steps contributed by domain modules."""

from __future__ import annotations

import sys
import types

import pytest

from partitur.context import Context
from partitur.demo.steps import STEP_MODULES, DemoReport, collect_steps, step_name


def _publish_examples(_ctx: Context, report: DemoReport) -> None:
    report.add("example journeys", 6)
    report.note("see /ui/journeys")


def test_steps_come_from_the_modules_that_exist_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = types.ModuleType("partitur_test_domain.demo")
    module.DEMO_STEPS = [_publish_examples]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "partitur_test_domain.demo", module)
    steps = collect_steps(["partitur.nowhere.demo", "partitur_test_domain.demo"])
    assert steps == [_publish_examples]
    assert step_name(steps[0]).endswith("._publish_examples")


def test_every_domain_has_a_place_in_the_running_order() -> None:
    order = STEP_MODULES.index
    # the journeys replay history, so what they send and branch on must exist before them:
    # templates, scores and tiers, and the segments built from those scores
    assert order("partitur.channels.demo") < order("partitur.journeys.demo")
    assert order("partitur.ml.demo") < order("partitur.segments.demo")
    assert order("partitur.decisions.demo") < order("partitur.segments.demo")
    assert order("partitur.segments.demo") < order("partitur.journeys.demo")
    assert STEP_MODULES[-1] == "partitur.journey_maps.demo"


def test_a_step_reports_lines_for_the_summary_and_the_json() -> None:
    report = DemoReport()
    _publish_examples(None, report)  # type: ignore[arg-type]
    assert report.as_dict()["extras"] == {"example journeys": 6}
    assert report.as_dict()["notes"] == ["see /ui/journeys"]
