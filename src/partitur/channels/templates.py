"""Message templates: sandboxed Jinja2, locale variants with fallback, brand layouts, snippets.

Templates see ``profile`` (traits plus ``id``, ``locale``, ``timezone``, ``computed``), ``data``
(the send request's variables, also available at top level), ``message_id`` and, for email,
``unsubscribe_url``. Undefined variables are errors (``StrictUndefined``), found at publish time
by ``check``; a snippet is included with ``{% include "snippet:footer" %}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import (
    BaseLoader,
    Environment,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import SandboxedEnvironment

from partitur.channels.contracts import RenderedMessage, TemplateIn


class TemplateProblem(ValueError):
    """A template that cannot be rendered; the message says what and where."""


TemplateKey = tuple[str, str, str]  # (kind, key, locale)


class _SnippetLoader(BaseLoader):
    def __init__(self, lookup: Callable[[str], str | None]) -> None:
        self.lookup = lookup

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        kind, _, key = template.partition(":")
        source = self.lookup(key) if kind == "snippet" else None
        if source is None:
            raise TemplateNotFound(template)
        return source, None, lambda: True


def locale_chain(wanted: str | None, default: str) -> list[str]:
    """Locales to try: the profile's language (``de-AT`` -> ``de``), the default, then English."""
    chain: list[str] = []
    for loc in ((wanted or "")[:2].lower(), default, "en"):
        if loc and loc not in chain:
            chain.append(loc)
    return chain


class TemplateBook:
    """The templates, layouts and snippets of one workspace, ready to render."""

    def __init__(self, templates: Mapping[TemplateKey, TemplateIn], default_locale: str = "en"):
        self.templates = dict(templates)
        self.default_locale = default_locale
        self._locale = default_locale
        #: compiled templates by (environment, source): compiling costs far more than rendering
        self._compiled: dict[tuple[int, str], Template] = {}
        self.env = SandboxedEnvironment(
            undefined=StrictUndefined,
            autoescape=False,
            loader=_SnippetLoader(self._snippet),
            keep_trailing_newline=True,
        )
        self.html_env = SandboxedEnvironment(
            undefined=StrictUndefined,
            autoescape=True,
            loader=_SnippetLoader(self._snippet),
            keep_trailing_newline=True,
        )

    def _snippet(self, key: str) -> str | None:
        found = self.pick("snippet", key, self._locale)
        return found.body_html or found.body_text if found else None

    def pick(self, kind: str, key: str, locale: str | None) -> TemplateIn | None:
        for loc in locale_chain(locale, self.default_locale):
            found = self.templates.get((kind, key, loc))
            if found is not None:
                return found
        for (k, name, _), found in sorted(self.templates.items()):
            if k == kind and name == key:
                return found
        return None

    def locales(self, key: str) -> list[str]:
        return sorted(loc for (k, name, loc) in self.templates if k == "message" and name == key)

    def render(
        self, key: str, *, locale: str | None, context: Mapping[str, Any]
    ) -> RenderedMessage:
        """Render template ``key`` in the best locale; raises ``TemplateProblem``."""
        template = self.pick("message", key, locale)
        if template is None:
            raise TemplateProblem(f"template {key!r} does not exist")
        self._locale = template.locale
        return RenderedMessage(
            subject=self._render(self.env, template.subject, context, key, "subject")
            if template.subject
            else None,
            text=self._render(self.env, template.body_text, context, key, "body_text"),
            html=self._html(template, context),
            locale=template.locale,
        )

    def _html(self, template: TemplateIn, context: Mapping[str, Any]) -> str | None:
        if not template.body_html:
            return None
        content = self._render(self.html_env, template.body_html, context, template.key, "html")
        if not template.layout:
            return content
        layout = self.pick("layout", template.layout, template.locale)
        if layout is None:
            raise TemplateProblem(f"layout {template.layout!r} of {template.key!r} does not exist")
        source = layout.body_html or layout.body_text
        return self._render(
            self.html_env, source, {**context, "content": _Markup(content)}, layout.key, "layout"
        )

    def _render(
        self, env: Environment, source: str, context: Mapping[str, Any], key: str, part: str
    ) -> str:
        try:
            compiled = self._compiled.get((id(env), source))
            if compiled is None:
                compiled = env.from_string(source)
                self._compiled[(id(env), source)] = compiled
            return compiled.render(**context)
        except UndefinedError as exc:
            raise TemplateProblem(f"{key} ({part}): missing variable: {exc.message}") from exc
        except TemplateSyntaxError as exc:
            raise TemplateProblem(
                f"{key} ({part}) line {exc.lineno}: syntax error: {exc.message}"
            ) from exc
        except TemplateNotFound as exc:
            raise TemplateProblem(f"{key} ({part}): unknown snippet {exc.name!r}") from exc
        except TemplateError as exc:
            raise TemplateProblem(f"{key} ({part}): {exc}") from exc
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
            raise TemplateProblem(f"{key} ({part}): {type(exc).__name__}: {exc}") from exc

    def check(
        self, key: str, *, channel: str, contexts: Mapping[str, Mapping[str, Any]]
    ) -> list[str]:
        """Every problem of template ``key``: missing, wrong channel, syntax errors, missing
        variables when rendered in each locale with the given sample context (by locale)."""
        variants = self.locales(key)
        if not variants:
            return [f"template {key!r} does not exist"]
        problems: list[str] = []
        for loc in variants:
            template = self.templates[("message", key, loc)]
            if template.channel and template.channel != channel:
                problems.append(
                    f"template {key!r} ({loc}) is for {template.channel}, not {channel}"
                )
            if channel == "email" and not template.subject:
                problems.append(f"template {key!r} ({loc}) has no subject")
            try:
                self.render(key, locale=loc, context=contexts.get(loc, {}))
            except TemplateProblem as exc:
                problems.append(f"[{loc}] {exc}")
        return problems


class _Markup(str):
    """Already-escaped HTML (the rendered body inside its layout)."""

    def __html__(self) -> str:
        return self
