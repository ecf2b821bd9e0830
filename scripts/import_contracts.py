"""The import-linter contracts of partitur, written from the rules below into importlinter.ini.

Rule: a domain (``src/partitur/<domain>/``) is used by other domains, the API, the CLI, the
web UI and the demo only through its faces, ``service.py`` and ``contracts.py``. Every other
module of a domain is private to it. The composition roots wire what each domain offers them:
``partitur.app`` its ``api`` router, ``partitur.worker`` its ``loops``, ``partitur.demo.loader``
its ``demo`` steps. Exceptions are named below,
each with its reason.

``make lint`` runs ``python scripts/import_contracts.py --check`` (the file is current: a new
module is covered without anyone remembering to) and then ``lint-imports``.

    python scripts/import_contracts.py          # rewrite importlinter.ini
    python scripts/import_contracts.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "partitur"
CONFIG = ROOT / "importlinter.ini"

DOMAINS = [
    "workspaces",
    "access",
    "events",
    "identity",
    "profiles",
    "segments",
    "journeys",
    "channels",
    "decisions",
    "ml",
    "analytics",
    "journey_maps",
    "privacy",
]
#: what other domains and the layers may import of a domain
FACES = {"service", "contracts"}
#: private modules that the composition roots wire: (importer, module name in each domain).
#: The CLI runs loops on demand ("catch up now"), as the worker runs them continuously.
WIRING = [
    ("partitur.app", "api"),
    ("partitur.worker", "loops"),
    ("partitur.cli.*", "loops"),
    ("partitur.demo.loader", "demo"),
]
#: the layers around the domains: they too use domains only through their faces
LAYERS = [
    "partitur.api",
    "partitur.cli",
    "partitur.web",
    "partitur.demo",
    "partitur.app",
    "partitur.worker",
]
#: named exceptions: (importer, imported, why)
EXCEPTIONS = [
    (
        "partitur.demo.loader",
        "partitur.identity.loops",
        "the demo runs identity resolution to the end before its steps, as the worker would",
    ),
    (
        "partitur.identity.service",
        "partitur.events.resolution",
        "identity resolution reads and assigns the event log in bulk through the events "
        "domain's resolution module, made for it (units, identity documents, assignments)",
    ),
    (
        "partitur.identity.reader",
        "partitur.events.resolution",
        "(as above: a pass reads the units and identity documents)",
    ),
    (
        "partitur.identity.planner",
        "partitur.events.resolution",
        "(as above: the pure planner takes the units and documents as they were read)",
    ),
    (
        "partitur.identity.writer",
        "partitur.events.resolution",
        "(as above: a pass assigns the units and re-points merged profiles' events)",
    ),
    (
        "partitur.identity.planner",
        "partitur.profiles.traits",
        "the pure planner folds merges, traits and activity into profile states with the "
        "profiles domain's pure state functions (profiles.service would bring I/O into the "
        "planner and close an import cycle: profiles.service uses identity.service)",
    ),
    (
        "partitur.segments.compiler",
        "partitur.events.tables",
        "the rule compiler turns a rule into one SQL condition over the event log and the "
        "profiles: it needs their columns",
    ),
    (
        "partitur.segments.compiler",
        "partitur.profiles.tables",
        "(as above)",
    ),
    (
        "partitur.segments.repository",
        "partitur.events.tables",
        "set-based membership builds run the compiler's SQL in one statement per segment",
    ),
    (
        "partitur.segments.repository",
        "partitur.profiles.tables",
        "(as above)",
    ),
]

HAND_WRITTEN = """\
[importlinter:contract:core]
name = core and storage know nothing of the domains
type = forbidden
source_modules =
    partitur.core
    partitur.storage
forbidden_modules =
{domains_and_layers}

[importlinter:contract:bench-references]
name = benchmark references (AGPL pm4py) are never imported by partitur
type = forbidden
source_modules =
    partitur
forbidden_modules =
    pm4py

[importlinter:contract:pure-runtime]
name = the pure journey runtime does no I/O
type = forbidden
source_modules =
    partitur.journeys.runtime
    partitur.journeys.definition
forbidden_modules =
    sqlalchemy
    httpx
    partitur.storage
    fastapi
allow_indirect_imports = true

[importlinter:contract:pure-identity-planner]
name = identity resolution's planner does no I/O
type = forbidden
source_modules =
    partitur.identity.planner
    partitur.identity.graph
    partitur.identity.extract
forbidden_modules =
    sqlalchemy
    partitur.storage
    partitur.identity.repository
    partitur.identity.reader
    partitur.identity.writer
    partitur.identity.service
allow_indirect_imports = true
"""


def private_modules(domain: str) -> list[str]:
    """Every module and subpackage of ``domain`` but its faces."""
    base = PACKAGE / domain
    names = set()
    for path in base.iterdir():
        if path.name.startswith(("_", ".")):
            continue
        if path.suffix == ".py":
            names.add(path.stem)
        elif path.is_dir() and (path / "__init__.py").exists():
            names.add(path.name)
    return [f"partitur.{domain}.{name}" for name in sorted(names - FACES)]


def _lines(values: list[str]) -> str:
    return "\n".join(f"    {v}" for v in values)


def _contract(
    key: str,
    name: str,
    sources: list[str],
    forbidden: list[str],
    ignores: list[tuple[str, str, str]],
) -> str:
    text = (
        f"[importlinter:contract:{key}]\n"
        f"name = {name}\n"
        "type = forbidden\n"
        f"source_modules =\n{_lines(sources)}\n"
        f"forbidden_modules =\n{_lines(forbidden)}\n"
        "allow_indirect_imports = true\n"
    )
    if ignores:
        text += (
            "ignore_imports =\n"
            + "\n".join(
                f"    # {why}\n    {importer} -> {imported}" for importer, imported, why in ignores
            )
            + "\n"
        )
    return text


def render() -> str:
    private = {d: private_modules(d) for d in DOMAINS}
    parts = [
        "# Generated by scripts/import_contracts.py from the rules written there: edit those\n"
        "# and run the script; `make lint` checks that this file is current.\n\n"
        "[importlinter]\nroot_package = partitur\ninclude_external_packages = true\n",
        HAND_WRITTEN.format(
            domains_and_layers=_lines(
                [f"partitur.{d}" for d in DOMAINS]
                + LAYERS[:4]
                + ["partitur.app", "partitur.worker"]
            )
        ),
    ]
    for domain in DOMAINS:
        forbidden = [m for other in DOMAINS if other != domain for m in private[other]]
        ignores = [e for e in EXCEPTIONS if e[0].startswith(f"partitur.{domain}.")]
        parts.append(
            _contract(
                f"faces-{domain}",
                f"{domain} uses other domains only through their service and contracts",
                [f"partitur.{domain}"],
                forbidden,
                ignores,
            )
        )
    wiring = [e for e in EXCEPTIONS if e[0].startswith(tuple(LAYERS))] + [
        (root, f"partitur.*.{name}", f"{root} wires every domain's {name}") for root, name in WIRING
    ]
    parts.append(
        _contract(
            "faces-layers",
            "the API, CLI, web UI, demo and the composition roots use domains only through "
            "their service and contracts",
            LAYERS,
            [m for d in DOMAINS for m in private[d]],
            wiring,
        )
    )
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = CONFIG.read_text() if CONFIG.exists() else ""
        if current != text:
            sys.stderr.write(
                "importlinter.ini is out of date: run python scripts/import_contracts.py\n"
            )
            return 1
        return 0
    CONFIG.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
