"""Demo step: the purchase and support journey maps from ``examples/maps``, linked to the
demo's events (idempotent: an unchanged map is not stored again)."""

from __future__ import annotations

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.demo.steps import DemoReport, examples_dir
from partitur.journey_maps import io, service


def load_example_maps(ctx: Context, report: DemoReport) -> None:
    files = sorted(examples_dir("maps").glob("*.yaml"))
    with ctx.store.begin() as conn:
        for path in files:
            service.save_map(
                conn,
                workspace_id=ctx.workspace_id,
                document=io.load_file(path),
                now=ctx.clock.now(),
                actor=Actor.system(ctx.workspace_id, "demo"),
                note="example map",
            )
    report.add("journey maps", len(files))
    report.note("journey maps: partitur maps insights online-purchase")


DEMO_STEPS = [load_example_maps]
