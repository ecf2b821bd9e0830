"""A workspace's template library: templates, layouts and snippets in locale variants, saved,
listed, checked at publish time and previewed for a real profile. Rendering itself is
``templates.TemplateBook`` (no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import TemplateSyntaxError
from sqlalchemy import Connection

from partitur.channels import repository
from partitur.channels.contracts import RenderedMessage, Template, TemplateIn
from partitur.channels.recipients import Recipient, load_recipients
from partitur.channels.templates import TemplateBook, TemplateProblem
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Forbidden, NotFound, ValidationFailed
from partitur.profiles import service as profiles


def template_book(conn: Connection, *, workspace_id: str) -> TemplateBook:
    """Every template of the workspace, ready to render (locale fallback from the policy)."""
    policy = repository.load_policy(conn, workspace_id=workspace_id)
    return TemplateBook(
        repository.template_book_rows(conn, workspace_id=workspace_id),
        default_locale=policy.default_locale,
    )


def template_context(
    recipient: Recipient | None,
    data: dict[str, Any],
    *,
    message_id: str = "preview",
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The variables a template sees."""
    context: dict[str, Any] = {**data, "data": data, "message_id": message_id}
    context["profile"] = recipient.template_view() if recipient else {}
    context["unsubscribe_url"] = (links or {}).get("unsubscribe", "#unsubscribe")
    return context


@action("template.save", permission=Permission.edit_templates, subject="template")
def save_template(
    conn: Connection, *, workspace_id: str, template: TemplateIn, now: datetime, actor: Actor
) -> Template:
    """Create or replace one locale variant of a template, layout or snippet.

    A template that does not even parse is refused here (``ValidationFailed`` naming the part);
    missing variables are reported by ``check_template`` (publish time). A sample profile must
    be one of the workspace's (``NotFound``).
    """
    if template.sample_profile_id is not None:
        profiles.require_profile(
            conn,
            workspace_id=workspace_id,
            profile_id=template.sample_profile_id,
            field="sample_profile_id",
        )
    if not actor.can(Permission.manage_workspace):
        previous = repository.template_variant(
            conn, workspace_id=workspace_id, kind=template.kind, key=template.key,
            locale=template.locale,
        )  # fmt: skip
        if template.transactional or (previous is not None and previous["transactional"]):
            # its sends skip consent: what it says is an admin's decision
            raise Forbidden(
                "only an admin may save a transactional template", field="transactional"
            )
    book = TemplateBook({})
    for part, source in (
        ("subject", template.subject),
        ("body_text", template.body_text),
        ("body_html", template.body_html),
    ):
        if source:
            try:
                book.env.parse(source)
            except TemplateSyntaxError as exc:
                raise ValidationFailed(f"{part}: {exc}", field=part) from exc
    values = template.model_dump()
    template_id, created = repository.save_template(
        conn, workspace_id=workspace_id, values=values, now=now
    )
    describe(subject_id=f"{template.kind}:{template.key}:{template.locale}")
    return Template(
        id=template_id, workspace_id=workspace_id, created_at=created, updated_at=now, **values
    )


def list_templates(conn: Connection, *, workspace_id: str) -> list[Template]:
    """Every template, layout and snippet variant, by kind, key and locale."""
    rows = repository.templates(conn, workspace_id=workspace_id)
    return [Template.model_validate(r) for r in rows]


def has_template(conn: Connection, *, workspace_id: str, key: str, kind: str | None = None) -> bool:
    """Whether the workspace has a template ``key`` (in any locale; of ``kind`` if given)."""
    return repository.has_template(conn, workspace_id=workspace_id, key=key, kind=kind)


def is_transactional(conn: Connection, *, workspace_id: str, key: str) -> bool:
    """Whether an admin marked message template ``key`` (every locale variant) transactional."""
    return repository.transactional_template(conn, workspace_id=workspace_id, key=key)


def check_template(conn: Connection, *, workspace_id: str, key: str, channel: str) -> list[str]:
    """Problems of template ``key`` for ``channel`` (empty list: fine).

    Every locale variant is rendered with its sample profile and sample data, so a syntax error
    or a variable missing from them is found when a journey is published, not when it sends.
    """
    book = template_book(conn, workspace_id=workspace_id)
    if channel in ("webhook", "agent_task") and not book.locales(key):
        # a template is optional there: the payload is the body / the task's reason
        if channel == "agent_task":
            return []
        hooks = [
            p
            for p in repository.providers(conn, workspace_id=workspace_id)
            if p["channel"] == "webhook"
        ]
        if not hooks:
            return [f"no webhook endpoint is configured (for {key!r})"]
        return []
    contexts: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for loc in book.locales(key):
        template = book.templates[("message", key, loc)]
        recipient = None
        if template.sample_profile_id:
            recipient = load_recipients(
                conn, workspace_id=workspace_id, profile_ids=[template.sample_profile_id]
            ).get(template.sample_profile_id)
            if recipient is None:
                problems.append(f"[{loc}] sample profile {template.sample_profile_id} not found")
        contexts[loc] = template_context(recipient, template.sample_data)
    return problems + book.check(key, channel=channel, contexts=contexts)


def preview_template(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    profile_id: str | None,
    data: dict[str, Any] | None = None,
) -> RenderedMessage:
    """Render ``key`` for a real profile (its locale picks the variant). Raises
    ``NotFound`` for an unknown template or profile and ``ValidationFailed`` when it does not
    render."""
    book = template_book(conn, workspace_id=workspace_id)
    if not book.locales(key):
        raise NotFound(f"no template {key!r}", field="key")
    recipient = None
    if profile_id:
        recipient = load_recipients(conn, workspace_id=workspace_id, profile_ids=[profile_id]).get(
            profile_id
        )
        if recipient is None:
            raise NotFound(f"no profile {profile_id}", field="profile_id")
    template = book.pick("message", key, recipient.locale if recipient else None)
    variables = data if data is not None else (template.sample_data if template else {})
    try:
        return book.render(
            key,
            locale=recipient.locale if recipient else None,
            context=template_context(recipient, variables),
        )
    except TemplateProblem as exc:
        raise ValidationFailed(str(exc), field="template") from exc
