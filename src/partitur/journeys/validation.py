"""Checking a journey document before it is saved or published: its shape and graph
(``definition.graph_problems``), the templates it sends, transactional sends of templates an
admin marked so, and journeys that would hand a profile round in a circle through jumps.
Re-exported by ``journeys.service``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from partitur.core.errors import InvalidDocument
from partitur.journeys import ports, repository
from partitur.journeys.definition import (
    JourneyDefinition,
    JumpNode,
    SendNode,
    graph_problems,
    parse_definition,
)


def validate(conn: Connection, *, workspace_id: str, document: dict[str, Any]) -> JourneyDefinition:
    """Shape and graph validation with the channels the platform knows and the workspace's
    templates; raises ``InvalidDocument`` listing every problem with its node id."""
    definition = parse_definition(document)
    template_problems = {
        (channel, key): ports.check_template(
            conn, workspace_id=workspace_id, key=key, channel=channel
        )
        for channel, key in definition.template_refs()
    }
    for node in definition.nodes:
        if not isinstance(node, SendNode) or (node.category or definition.category) == "marketing":
            continue
        if not ports.is_transactional_template(conn, workspace_id=workspace_id, key=node.template):
            channel = node.fallback_channel if node.channel == "preferred" else node.channel
            template_problems[(channel, node.template)] = [
                *template_problems.get((channel, node.template), []),
                f"template {node.template!r} is not marked transactional by an admin; a "
                "transactional send skips consent, so it needs one",
            ]
    problems = graph_problems(
        definition, known_channels=ports.known_channels(), template_problems=template_problems
    )
    problems += _jump_cycles(conn, workspace_id, definition)
    if problems:
        raise InvalidDocument(
            f"the journey {definition.key!r} has {len(problems)} problem(s)", problems=problems
        )
    return definition


def _journey_jumps(definition: JourneyDefinition) -> dict[str, str]:
    """Jump node id -> the journey it moves the profile to."""
    return {n.id: n.journey for n in definition.nodes if isinstance(n, JumpNode) and n.journey}


def _jump_cycles(
    conn: Connection, workspace_id: str, definition: JourneyDefinition
) -> list[dict[str, Any]]:
    """A problem for each jump of ``definition`` that leads, through the jumps of the active
    journeys, back to it: such journeys would hand a profile round and round."""
    jumps = _journey_jumps(definition)
    if not jumps:
        return []
    graph: dict[str, set[str]] = {}
    for row in repository.active_latest_versions(conn, workspace_id=workspace_id):
        graph[row.key] = set(
            _journey_jumps(JourneyDefinition.model_validate(row.definition)).values()
        )
    graph[definition.key] = set(jumps.values())
    problems = []
    for node_id, target in sorted(jumps.items()):
        path = _path_back(graph, target, definition.key)
        if path is not None:
            chain = " -> ".join([definition.key, *path])
            problems.append(
                {
                    "node": node_id,
                    "message": f"journeys jump into each other: {chain}",
                    "code": "jump_cycle",
                    "field": "journey",
                    "params": {"journeys": chain},
                }
            )
    return problems


def _path_back(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The journeys from ``start`` to ``goal`` along jumps (breadth first), or None."""
    previous: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        key = queue.pop(0)
        if key == goal:
            path = [key]
            while (back := previous[path[-1]]) is not None:
                path.append(back)
            return path[::-1]
        for nxt in sorted(graph.get(key, ())):
            if nxt not in previous:
                previous[nxt] = key
                queue.append(nxt)
    return None
