"""Demo step: the example journeys from ``examples/journeys``, saved and published (idempotent:
a journey whose published version equals its file is left alone). They react to what arrives
after they were published."""

from __future__ import annotations

from typing import Any

import yaml

from partitur.context import Context
from partitur.demo.steps import DemoReport, examples_dir
from partitur.journeys import service


def publish_example_journeys(ctx: Context, report: DemoReport) -> None:
    documents: list[dict[str, Any]] = [
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(examples_dir("journeys").glob("*.yaml"))
    ]
    with ctx.store.begin() as conn:
        published = service.load_documents(
            conn,
            workspace_id=ctx.workspace_id,
            documents=documents,
            now=ctx.clock.now(),
            actor="demo",
        )
    report.add("journeys published", len(published))
    report.note("journeys: partitur journeys list; partitur journeys simulate cart-abandonment")


DEMO_STEPS = [publish_example_journeys]
