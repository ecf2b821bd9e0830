"""Templates: sandboxed, locale variants with fallback, layouts and snippets, strict variables."""

from __future__ import annotations

import pytest

from partitur.channels.contracts import TemplateIn
from partitur.channels.templates import TemplateBook, TemplateProblem


def book() -> TemplateBook:
    templates = [
        TemplateIn(
            key="welcome",
            channel="email",
            locale="en",
            subject="Hi {{ profile.first_name }}",
            body_text="Welcome, {{ profile.first_name }}! Code {{ code }}",
            body_html="<p>Welcome {{ profile.first_name }}</p>",
            layout="brand",
        ),
        TemplateIn(
            key="welcome",
            channel="email",
            locale="de",
            subject="Hallo {{ profile.first_name }}",
            body_text="Willkommen, {{ profile.first_name }}! Code {{ code }}",
            body_html="<p>Willkommen</p>{% include 'snippet:footer' %}",
            layout="brand",
        ),
        TemplateIn(
            key="brand",
            kind="layout",
            body_text="",
            body_html="<html><body><header>ACME</header>{{ content }}</body></html>",
        ),
        TemplateIn(
            key="footer",
            kind="snippet",
            locale="de",
            body_text="",
            body_html="<footer>Impressum</footer>",
        ),
    ]
    return TemplateBook({(t.kind, t.key, t.locale): t for t in templates})


def test_the_profiles_locale_picks_the_variant_and_others_fall_back_to_english() -> None:
    ctx = {"profile": {"first_name": "Jana"}, "code": "X1"}
    assert book().render("welcome", locale="de-AT", context=ctx).text == "Willkommen, Jana! Code X1"
    assert book().render("welcome", locale="fr", context=ctx).subject == "Hi Jana"


def test_html_is_wrapped_in_the_brand_layout_with_snippets_and_escaped() -> None:
    html = (
        book()
        .render("welcome", locale="de", context={"profile": {"first_name": "<b>x</b>"}, "code": 1})
        .html
    )
    expected = "<header>ACME</header><p>Willkommen</p><footer>Impressum</footer>"
    assert html == f"<html><body>{expected}</body></html>"
    english = (
        book()
        .render("welcome", locale="en", context={"profile": {"first_name": "<b>x</b>"}, "code": 1})
        .html
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in (english or "")


def test_a_missing_variable_is_an_error_naming_it() -> None:
    with pytest.raises(TemplateProblem, match=r"missing variable.*code"):
        book().render("welcome", locale="en", context={"profile": {"first_name": "A"}})


def test_check_lists_every_problem_per_locale() -> None:
    problems = book().check(
        "welcome",
        channel="email",
        contexts={"en": {"profile": {"first_name": "A"}}, "de": {"profile": {}, "code": 1}},
    )
    assert any(p.startswith("[de]") and "first_name" in p for p in problems)
    assert any(p.startswith("[en]") and "code" in p for p in problems)
    assert book().check("welcome", channel="sms", contexts={})[0].endswith("is for email, not sms")
    assert book().check("nope", channel="email", contexts={}) == ["template 'nope' does not exist"]


def test_the_sandbox_refuses_unsafe_attribute_access() -> None:
    evil = TemplateIn(key="evil", body_text="{{ ''.__class__.__mro__ }}")
    with pytest.raises(TemplateProblem):
        TemplateBook({("message", "evil", "en"): evil}).render("evil", locale="en", context={})
