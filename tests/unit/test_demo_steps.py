"""The demo's extension point: steps contributed by domain modules, in running order."""

from __future__ import annotations

from partitur.context import Context
from partitur.demo.loader import DEMO_STEPS
from partitur.demo.steps import DemoReport, step_name


def _publish_examples(_ctx: Context, report: DemoReport) -> None:
    report.add("example journeys", 6)
    report.note("see /ui/journeys")


def test_a_step_is_named_by_its_module_and_function() -> None:
    assert step_name(_publish_examples).endswith("test_demo_steps._publish_examples")


def test_every_domain_has_a_place_in_the_running_order() -> None:
    modules = [step_name(s).rsplit(".", 1)[0] for s in DEMO_STEPS]

    def first(module: str) -> int:
        return modules.index(module)

    # the journeys replay history, so what they send and branch on must exist before them:
    # templates, scores and tiers, and the segments built from those scores
    assert first("channels.demo") < first("journeys.demo")
    assert first("ml.demo") < first("segments.demo")
    assert first("decisions.demo") < first("segments.demo")
    assert first("segments.demo") < first("journeys.demo")
    assert modules[-1] == "journey_maps.demo"


def test_a_step_reports_lines_for_the_summary_and_the_json() -> None:
    report = DemoReport()
    _publish_examples(None, report)  # type: ignore[arg-type]
    assert report.as_dict()["extras"] == {"example journeys": 6}
    assert report.as_dict()["notes"] == ["see /ui/journeys"]
