"""The extension point of the demo workspace: steps that run after the data load.

A domain that wants something in the demo (example journeys, segments, trained models, journey
maps, ...) creates ``partitur/<domain>/demo.py`` with a list ``DEMO_STEPS`` of functions
``step(ctx, report) -> None`` and adds nothing else anywhere: ``STEP_MODULES`` below already
names every domain's module, in the order they run (a module that does not exist is skipped).

A step must be **idempotent**: ``partitur demo`` can run again on a loaded workspace (for
example after an upgrade added a new step), so a step first checks whether its work is there
(``ensure_*`` service functions, lookups by name) and does only what is missing. A step reads
and writes through service functions, records what it did with ``report.add(...)`` /
``report.note(...)``, and raises a ``PartiturError`` if it cannot do its work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from partitur.context import Context

log = logging.getLogger(__name__)


@dataclass
class DemoReport:
    """What the demo command prints at the end (and emits with ``--json``)."""

    workspace: str = ""
    skipped: bool = False
    customers: int = 0
    events: int = 0
    quarantined: int = 0
    profiles: int = 0
    #: source name -> write key
    write_keys: dict[str, str] = field(default_factory=dict)
    admin_token: str = ""
    #: the workspace owner's e-mail and (new at each load) password for the Studio
    owner_email: str = ""
    owner_password: str = ""
    #: the end of the demo history (the newest event when the load was skipped)
    history_end: datetime | None = None
    #: seconds per phase: generate, load, identity, steps
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    #: label -> value lines contributed by demo steps ("journeys published": 6)
    extras: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, label: str, value: Any) -> None:
        """Show ``label: value`` in the summary (a step's headline figure)."""
        self.extras[label] = value

    def note(self, text: str) -> None:
        """Show a line of text under the summary (e.g. where to look in the UI)."""
        self.notes.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "skipped": self.skipped,
            "customers": self.customers,
            "events": self.events,
            "quarantined": self.quarantined,
            "profiles": self.profiles,
            "write_keys": self.write_keys,
            "admin_token": self.admin_token,
            "owner_email": self.owner_email,
            "owner_password": self.owner_password,
            "timings": self.timings,
            "facts": self.facts,
            "extras": self.extras,
            "notes": self.notes,
        }


DemoStep = Callable[[Context, DemoReport], None]


def examples_dir(kind: str) -> Path:
    """The repository's ``examples/<kind>`` folder (journeys, maps) that demo steps load."""
    return Path(__file__).resolve().parents[3] / "examples" / kind


#: Days of history the demo replays into its example journeys (``journeys backfill``), so they
#: show instances, conversions and KPIs although they were published after the data load.
REPLAY_DAYS = 21


def replay_start(ctx: Context, report: DemoReport) -> datetime:
    """The start of the replay window: ``REPLAY_DAYS`` before the end of the demo history
    (the current hour unless ``--end`` moved it)."""
    end = report.history_end or ctx.clock.now().replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=REPLAY_DAYS)


def step_name(step: DemoStep) -> str:
    module = getattr(step, "__module__", "") or ""
    return f"{module.removeprefix('partitur.')}.{getattr(step, '__name__', 'step')}"
