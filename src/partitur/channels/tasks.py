"""Agent tasks: what a journey hands to a person (a call, a review), claimed and completed by
the agents of a queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.contracts import AgentTask
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Conflict, NotFound


def list_tasks(
    conn: Connection, *, workspace_id: str, status: str | None = None, queue: str | None = None
) -> list[AgentTask]:
    """The workspace's tasks, most urgent and oldest first, optionally of one status or queue."""
    rows = repository.task_rows(conn, workspace_id=workspace_id, status=status, queue=queue)
    return [AgentTask.model_validate(r) for r in rows]


def agent_tasks_per_profile(
    conn: Connection, *, workspace_id: str, since: datetime, until: datetime
) -> dict[str, int]:
    """How many agent tasks each profile caused in [since, until) (service cost inputs)."""
    return repository.tasks_per_profile(conn, workspace_id=workspace_id, since=since, until=until)


def _task(conn: Connection, workspace_id: str, task_id: str) -> AgentTask:
    row = repository.task_row(conn, workspace_id=workspace_id, task_id=task_id)
    if row is None:
        raise NotFound(f"no task {task_id}", field="task_id")
    return AgentTask.model_validate(row)


@action("task.claim", permission=Permission.work_tasks, subject="agent_task", subject_key="task_id")
def claim_task(
    conn: Connection,
    *,
    workspace_id: str,
    task_id: str,
    assignee: str,
    now: datetime,
    actor: Actor,
) -> AgentTask:
    """Claim an open task; a task someone else holds is a ``Conflict``."""
    task = _task(conn, workspace_id, task_id)
    if not repository.claim_open_task(conn, task_id=task_id, assignee=assignee, now=now):
        raise Conflict(f"task is {task.status} by {task.assignee}", field="task_id")
    describe(details={"assignee": assignee})
    return _task(conn, workspace_id, task_id)


@action(
    "task.complete", permission=Permission.work_tasks, subject="agent_task", subject_key="task_id"
)
def complete_task(
    conn: Connection,
    *,
    workspace_id: str,
    task_id: str,
    assignee: str,
    outcome: str,
    now: datetime,
    actor: Actor,
) -> AgentTask:
    """Complete a task the assignee holds (an open task is claimed and completed at once)."""
    task = _task(conn, workspace_id, task_id)
    if task.status == "done":
        raise Conflict("task is done already", field="task_id")
    if task.status == "claimed" and task.assignee != assignee:
        raise Conflict(f"task is claimed by {task.assignee}", field="assignee")
    repository.update_task(
        conn,
        task_id=task_id,
        values={
            "status": "done",
            "assignee": assignee,
            "outcome": outcome,
            "completed_at": now,
            "claimed_at": task.claimed_at or now,
        },
    )
    describe(details={"assignee": assignee, "outcome": outcome})
    return _task(conn, workspace_id, task_id)
