"""docs/security.md shows the role policy exactly as the code enforces it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from partitur.core.actions import ASSIGNABLE_ROLES, POLICY, Permission, Role, policy_table

ROOT = Path(__file__).resolve().parents[2]


def _script() -> object:
    spec = importlib.util.spec_from_file_location("policy_table", ROOT / "scripts/policy_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_policy_table_in_the_docs_is_the_one_the_code_enforces() -> None:
    script = _script()
    text = (ROOT / "docs/security.md").read_text()
    expected = script.document_with_table(text, script.rendered())  # type: ignore[attr-defined]
    assert text == expected, "docs/security.md is out of date: run python scripts/policy_table.py"


def test_the_table_marks_exactly_the_permissions_each_role_holds() -> None:
    rows = [line for line in policy_table({}).splitlines() if line.startswith("| `")]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        permission = Permission(cells[0].strip("`"))
        marks = cells[2:]
        assert len(marks) == len(ASSIGNABLE_ROLES)
        for role, mark in zip(ASSIGNABLE_ROLES, marks, strict=True):
            assert (mark == "✓") == (permission in POLICY[role]), (role, permission)
    assert Role.system not in ASSIGNABLE_ROLES and Role.customer not in ASSIGNABLE_ROLES
