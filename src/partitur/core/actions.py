"""Actions: every state change of partitur is one named action.

An action is a service function decorated with :func:`action`. Whoever calls it — an API
route, a CLI command, a background loop, the Studio — passes an :class:`Actor`; the decorator

1. refuses an actor of another workspace (``NotFound``: a workspace never learns that another
   workspace's subjects exist) and an actor whose role lacks the action's permission
   (``Forbidden``),
2. runs the function inside the caller's transaction (``store.begin()``: one transaction, so a
   failure leaves nothing half-written),
3. records exactly one audit entry (actor, action, subject, before/after, request id, IP) in
   that same transaction — an action called by another action is part of the outer one and
   adds nothing of its own — and
4. emits its event: the topics named in ``wakes`` are notified once the transaction commits
   (loops waiting on them wake at once; see ``Store.begin``).

The function says what it changed with :func:`describe` (subject id, before, after, details);
without it the subject id is taken from the keyword argument named by ``subject_key``.

The role policy — which role may do what — is the table :data:`POLICY`, the one place it is
written down (docs/security.md shows it).
"""

from __future__ import annotations

import contextvars
import functools
import getpass
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, ParamSpec, TypeVar

from sqlalchemy import Connection

from partitur.core.errors import Forbidden, NotFound
from partitur.storage.audit import AuditRecord, write_audit
from partitur.storage.engine import WAKES_KEY

P = ParamSpec("P")
R = TypeVar("R")


class Role(StrEnum):
    """What a person or a token may do in a workspace (see :data:`POLICY`)."""

    owner = "owner"
    admin = "admin"
    designer = "designer"
    publisher = "publisher"
    analyst = "analyst"
    agent = "agent"
    viewer = "viewer"
    #: partitur's own loops, the demo loader and the operator's CLI; never given to a person
    system = "system"
    #: a customer acting on their own data through a signed link or their app's inbox token
    customer = "customer"


class Permission(StrEnum):
    read = "read"
    #: heavy reads: analytics queries, segment previews, simulations
    analyse = "analyse"
    edit_journeys = "journeys.edit"
    publish_journeys = "journeys.publish"
    edit_segments = "segments.edit"
    edit_templates = "templates.edit"
    send_messages = "messages.send"
    edit_maps = "maps.edit"
    edit_profiles = "profiles.edit"
    erase_profiles = "profiles.erase"
    work_tasks = "tasks.work"
    manage_models = "models.manage"
    manage_offers = "offers.manage"
    manage_workspace = "workspace.manage"
    manage_access = "access.manage"
    #: write events and delivery outcomes through the management API (fan-out, bounces)
    ingest = "events.ingest"
    #: a customer's own preferences and inbox (signed links, inbox tokens, SMS replies)
    own_preferences = "preferences.own"


_P = Permission
_DESIGN = {_P.read, _P.analyse, _P.edit_journeys, _P.edit_segments, _P.edit_templates, _P.edit_maps}
_PUBLISH = _DESIGN | {_P.publish_journeys, _P.send_messages, _P.edit_profiles, _P.ingest}

#: The role policy: each role and the permissions it holds.
POLICY: dict[Role, frozenset[Permission]] = {
    Role.owner: frozenset(Permission),
    Role.admin: frozenset(Permission),
    Role.publisher: frozenset(_PUBLISH),
    Role.designer: frozenset(_DESIGN),
    Role.analyst: frozenset({_P.read, _P.analyse, _P.edit_maps, _P.edit_segments}),
    Role.agent: frozenset({_P.read, _P.work_tasks, _P.edit_profiles}),
    Role.viewer: frozenset({_P.read}),
    Role.system: frozenset(Permission),
    Role.customer: frozenset({_P.own_preferences}),
}

#: The roles a person or a service account may hold (``system`` and ``customer`` are partitur's).
ASSIGNABLE_ROLES: tuple[Role, ...] = (
    Role.owner,
    Role.admin,
    Role.publisher,
    Role.designer,
    Role.analyst,
    Role.agent,
    Role.viewer,
)

#: What each role is for, in the words the Studio and the docs use.
ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.owner: "everything, including the workspace's people and its deletion",
    Role.admin: "everything: sources, providers, people, tokens, erasure",
    Role.publisher: "designs and publishes journeys, sends messages, edits profiles",
    Role.designer: "designs journeys, segments, templates and maps; cannot publish",
    Role.analyst: "reads everything, runs analytics, edits segments and maps",
    Role.agent: "works the task inbox and edits the profiles of the customers served",
    Role.viewer: "reads everything, changes nothing",
    Role.system: "partitur's own background work and the operator's command line",
    Role.customer: "a customer changing their own preferences through a signed link",
}

#: ``user`` a person, ``service`` a service account (both also through their API tokens),
#: ``token`` an API token of before people and service accounts (old audit entries)
#: What each permission allows, in the words of the docs' policy table.
PERMISSION_DESCRIPTIONS: dict[Permission, str] = {
    Permission.read: "read everything of the workspace",
    Permission.analyse: "run analytics, previews and simulations",
    Permission.edit_journeys: "edit journey drafts and test mode, submit drafts for approval",
    Permission.publish_journeys: "publish, approve, pause, resume, stop, enrol and backfill",
    Permission.edit_segments: "create, change and rebuild segments",
    Permission.edit_templates: "edit message templates and subscription groups",
    Permission.send_messages: "send messages",
    Permission.edit_maps: "edit journey maps, their taxonomy and comments",
    Permission.edit_profiles: "change traits, consents, suppressions and devices",
    Permission.erase_profiles: "export and erase a person's data",
    Permission.work_tasks: "claim and complete agent tasks",
    Permission.manage_models: "scoring models, value tiers, the data-quality monitor",
    Permission.manage_offers: "offers and decision policies",
    Permission.manage_workspace: "sources, providers, delivery policy, outbox, audit log",
    Permission.manage_access: "people, service accounts, others' tokens and sessions, sign-in",
    Permission.ingest: "events and delivery outcomes through the management API",
    Permission.own_preferences: "a customer's own preferences and inbox",
}


def policy_table(actions: dict[str, ActionSpec] | None = None) -> str:
    """The role policy in Markdown: which role holds which permission, then the actions that
    need each permission (``actions``: every registered one — build the app first, so that
    every domain's actions are registered). docs/security.md holds it; a test keeps the two
    the same, ``python scripts/policy_table.py`` rewrites it."""
    registered = ACTIONS if actions is None else actions
    roles = ASSIGNABLE_ROLES
    lines = [
        "| permission | what it allows | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for permission in Permission:
        if permission is Permission.own_preferences:
            continue  # customers only, through signed links; no role of a person holds it
        marks = " | ".join("✓" if permission in POLICY[r] else "" for r in roles)
        lines.append(f"| `{permission.value}` | {PERMISSION_DESCRIPTIONS[permission]} | {marks} |")
    lines += ["", "| permission | actions that need it |", "|---|---|"]
    for permission in Permission:
        names = sorted(n for n, spec in registered.items() if spec.permission is permission)
        if names:
            lines.append(f"| `{permission.value}` | " + ", ".join(f"`{n}`" for n in names) + " |")
    return "\n".join(lines) + "\n"


ActorKind = Literal["user", "service", "token", "system", "cli", "customer"]


@dataclass(frozen=True)
class Actor:
    """Who performs an action: a person or a service account (signed in, or through one of
    their API tokens), partitur itself, the CLI or a customer."""

    workspace_id: str
    kind: ActorKind
    id: str
    role: Role
    #: a token scoped down below its owner's role holds only these
    permissions: frozenset[Permission] | None = None
    name: str = ""
    request_id: str | None = None
    ip: str | None = None
    #: what the actor came through: a browser session (``ses_…``) or an API token (``tok_…``)
    credential: str | None = None

    @property
    def label(self) -> str:
        """How the audit log names the actor: ``user:usr_…``, ``service:svc_…``, ``system:…``."""
        return f"{self.kind}:{self.id}"

    def can(self, permission: Permission) -> bool:
        if permission not in POLICY[self.role]:
            return False
        return self.permissions is None or permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(
                f"the role {self.role.value!r} may not do this (needs {permission.value!r})",
                permission=permission.value,
            )

    def for_request(self, *, request_id: str | None, ip: str | None) -> Actor:
        return replace(self, request_id=request_id, ip=ip)

    @classmethod
    def system(cls, workspace_id: str, name: str) -> Actor:
        """partitur itself: a loop (``journeys``, ``identity``) or the demo loader."""
        return cls(workspace_id=workspace_id, kind="system", id=name, role=Role.system)

    @classmethod
    def customer(cls, workspace_id: str, profile_id: str) -> Actor:
        """A customer acting on their own data (signed link, inbox token, SMS reply)."""
        return cls(workspace_id=workspace_id, kind="customer", id=profile_id, role=Role.customer)

    @classmethod
    def cli(cls, workspace_id: str) -> Actor:
        """The operator at the command line (direct access to the store: full rights)."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "operator"
        return cls(workspace_id=workspace_id, kind="cli", id=user, role=Role.system)


@dataclass
class _Frame:
    name: str
    subject_type: str
    subject_id: str
    before: Any = None
    after: Any = None
    details: dict[str, Any] | None = None
    wakes: set[str] = field(default_factory=set)


_current: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar(
    "partitur_action", default=None
)


def describe(
    *,
    subject_id: str | None = None,
    subject_type: str | None = None,
    before: Any = None,
    after: Any = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Say, from inside an action, what it changed (each argument given replaces the
    default). Outside an action it does nothing, so shared helpers may call it."""
    frame = _current.get()
    if frame is None:
        return
    if subject_id is not None:
        frame.subject_id = subject_id
    if subject_type is not None:
        frame.subject_type = subject_type
    if before is not None:
        frame.before = before
    if after is not None:
        frame.after = after
    if details is not None:
        frame.details = {**(frame.details or {}), **details}


def wake(*topics: str) -> None:
    """Ask for ``topics`` to be notified when the running action's transaction commits."""
    frame = _current.get()
    if frame is not None:
        frame.wakes.update(topics)


@dataclass(frozen=True)
class ActionSpec:
    name: str
    permission: Permission
    subject_type: str
    function: Callable[..., Any]


#: Every action by name (the audit test and the docs list them from here).
ACTIONS: dict[str, ActionSpec] = {}


def action(
    name: str,
    *,
    permission: Permission,
    subject: str,
    subject_key: str | None = None,
    wakes: tuple[str, ...] = (),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a service function an action named ``name`` (``"segment.update"``).

    The function takes the connection first and keyword arguments ``actor``, ``now`` and
    (usually) ``workspace_id``; ``subject`` is the kind of thing it changes and
    ``subject_key`` the keyword argument holding its id (override with :func:`describe`)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        params = inspect.signature(function).parameters
        for required in ("actor", "now"):
            if required not in params or params[required].kind != inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"action {name}: {function.__qualname__} needs keyword {required}")
        if subject_key is not None and subject_key not in params:
            raise TypeError(f"action {name}: no parameter {subject_key!r}")
        if name in ACTIONS:
            raise TypeError(f"action {name} is defined twice")

        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            conn = args[0] if args else kwargs.get("conn")
            if not isinstance(conn, Connection):
                raise TypeError(f"action {name}: the first argument is the connection")
            actor = kwargs["actor"]
            if not isinstance(actor, Actor):
                raise TypeError(f"action {name}: actor must be an Actor, not {actor!r}")
            workspace_id = kwargs.get("workspace_id", actor.workspace_id)
            if workspace_id != actor.workspace_id:
                raise NotFound(f"no such {subject} in this workspace", field="workspace_id")
            actor.require(permission)
            outer = _current.get()
            subject_id = str(kwargs.get(subject_key, "")) if subject_key else ""
            frame = _Frame(name=name, subject_type=subject, subject_id=subject_id)
            frame.wakes.update(wakes)
            token = _current.set(frame)
            try:
                result = function(*args, **kwargs)
            finally:
                _current.reset(token)
            if outer is not None:
                # part of the outer action: its wake-ups join the outer ones, no audit of its own
                outer.wakes.update(frame.wakes)
                return result
            now = kwargs["now"]
            assert isinstance(now, datetime)
            write_audit(
                conn,
                AuditRecord(
                    workspace_id=actor.workspace_id,
                    at=now,
                    actor=actor.label,
                    action=name,
                    subject_type=frame.subject_type,
                    subject_id=frame.subject_id,
                    before=frame.before,
                    after=frame.after,
                    details=frame.details,
                    request_id=actor.request_id,
                    ip=actor.ip,
                    credential=actor.credential,
                ),
            )
            if frame.wakes:
                conn.info.setdefault(WAKES_KEY, set()).update(frame.wakes)
            return result

        run.__partitur_action__ = name  # type: ignore[attr-defined]
        ACTIONS[name] = ActionSpec(name, permission, subject, run)
        return run

    return decorate
