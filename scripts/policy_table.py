"""Write the role policy (``core.actions.POLICY`` and every action's permission) into
docs/security.md, between its policy markers.

    python scripts/policy_table.py          # rewrite the table
    python scripts/policy_table.py --check  # exit 1 if the document is out of date

``tests/unit/test_policy_doc.py`` runs the check, so the document and the code cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"
START, END = "<!-- policy:start -->", "<!-- policy:end -->"


def rendered() -> str:
    """The policy as it is in the code, with every domain's actions registered."""
    import partitur.app  # noqa: F401  (registers every action)
    from partitur.core.actions import policy_table

    return policy_table()


def document_with_table(text: str, table: str) -> str:
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"{DOC} lacks the markers {START} … {END}")
    return f"{head}{START}\n{table}{END}{tail}"


def main() -> None:
    text = DOC.read_text()
    updated = document_with_table(text, rendered())
    if "--check" in sys.argv[1:]:
        if updated != text:
            raise SystemExit(f"{DOC.name} is out of date: run python scripts/policy_table.py")
        return
    DOC.write_text(updated)


if __name__ == "__main__":
    main()
