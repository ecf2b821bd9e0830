"""Message templates: sandboxed Jinja2, locale variants with fallback, brand layouts, snippets.

Templates see ``profile`` (traits plus ``id``, ``locale``, ``timezone``, ``computed``), ``data``
(the send request's variables, also available at top level), ``message_id`` and, for email,
``unsubscribe_url``. Undefined variables are errors (``StrictUndefined``), found at publish time
by ``check``; a snippet is included with ``{% include "snippet:footer" %}``.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterator, Mapping
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
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from partitur.channels.contracts import RenderedMessage, TemplateIn


class TemplateProblem(ValueError):
    """A template that cannot be rendered; the message says what and where."""


TemplateKey = tuple[str, str, str]  # (kind, key, locale)

#: The most characters one part of a message (subject, text, HTML) may render to.
MAX_RENDER_CHARS = 1_000_000
#: The longest one part may take to render, in seconds.
MAX_RENDER_SECONDS = 1.0
#: The largest number (in bits) arithmetic in a template may make: ``9 ** 9 ** 7`` is refused
#: instead of taking minutes.
MAX_NUMBER_BITS = 4_096
#: The most items ``range()`` may give over one rendering (loops nested in loops included).
MAX_RANGE_ITEMS = 100_000


def _bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) and not isinstance(value, bool) else 0


class _BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox (no attribute access to internals) with bounded arithmetic: powers and
    products that would make huge numbers or strings are refused."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            exponent = right if isinstance(right, int | float) else 0
            if _bits(left) * max(abs(exponent), 1) > MAX_NUMBER_BITS:
                raise SecurityError("the power is too large for a template")
            return operator.pow(left, right)
        if _bits(left) + _bits(right) > MAX_NUMBER_BITS:
            raise SecurityError("the product is too large for a template")
        for seq, times in ((left, right), (right, left)):
            repeated = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if repeated and len(seq) * times > MAX_RENDER_CHARS:
                raise SecurityError("the repetition is too long for a template")
        return operator.mul(left, right)


class _RangeBudget:
    """``range()`` for templates, with one budget of items for a whole rendering."""

    def __init__(self) -> None:
        self.left = MAX_RANGE_ITEMS

    def __call__(self, *args: int) -> Iterator[int]:
        numbers = range(*args)
        if len(numbers) > self.left:
            raise SecurityError(f"a template may loop over at most {MAX_RANGE_ITEMS:,} numbers")
        self.left -= len(numbers)
        return iter(numbers)


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


def _bounded_render(compiled: Template, context: Mapping[str, Any]) -> str:
    """Render within ``MAX_RENDER_CHARS`` and ``MAX_RENDER_SECONDS`` (checked as the output
    is produced) and the ``range()`` budget."""
    deadline = time.monotonic() + MAX_RENDER_SECONDS
    parts: list[str] = []
    size = 0
    for chunk in compiled.generate(**{**context, "range": _RangeBudget()}):
        size += len(chunk)
        if size > MAX_RENDER_CHARS:
            raise SecurityError(f"the message is longer than {MAX_RENDER_CHARS:,} characters")
        if time.monotonic() > deadline:
            raise SecurityError(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")
        parts.append(chunk)
    return "".join(parts)


class TemplateBook:
    """The templates, layouts and snippets of one workspace, ready to render."""

    def __init__(self, templates: Mapping[TemplateKey, TemplateIn], default_locale: str = "en"):
        self.templates = dict(templates)
        self.default_locale = default_locale
        self._locale = default_locale
        #: compiled templates by (environment, source): compiling costs far more than rendering
        self._compiled: dict[tuple[int, str], Template] = {}
        self.env = _BoundedSandbox(
            undefined=StrictUndefined,
            autoescape=False,
            loader=_SnippetLoader(self._snippet),
            keep_trailing_newline=True,
        )
        self.html_env = _BoundedSandbox(
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
            return _bounded_render(compiled, context)
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
