"""A structured difference between two JSON documents (a published journey and its draft),
for a reviewer to read: one entry per added, removed or changed value, each with its path.

Objects are compared key by key. Lists whose items are all objects with a distinct ``id``
(journey nodes, branches) are compared item by item by that id — so moving a node in the
list is no change, and the path names the node (``nodes[id=welcome].wait``); other lists of
the same length are compared by position, and lists of different lengths as one value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """The items by their ``id`` when every item is an object with a distinct one."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        return None
    keyed = {i["id"]: i for i in items}
    return keyed if len(keyed) == len(items) else None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def document_diff(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every difference from ``before`` to ``after``, in document order."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in [*before, *(k for k in after if k not in before)]:
            where = _join(path, str(key))
            if key not in after:
                changes.append(Change(where, "removed", before=before[key]))
            elif key not in before:
                changes.append(Change(where, "added", after=after[key]))
            else:
                changes.extend(document_diff(before[key], after[key], where))
        return changes
    if isinstance(before, list) and isinstance(after, list):
        old, new = _keyed(before), _keyed(after)
        if old is not None and new is not None:
            changes = []
            for item_id in [*old, *(i for i in new if i not in old)]:
                where = f"{path}[id={item_id}]"
                if item_id not in new:
                    changes.append(Change(where, "removed", before=old[item_id]))
                elif item_id not in old:
                    changes.append(Change(where, "added", after=new[item_id]))
                else:
                    changes.extend(document_diff(old[item_id], new[item_id], where))
            return changes
        if len(before) == len(after):
            return [
                change
                for index, (b, a) in enumerate(zip(before, after, strict=True))
                for change in document_diff(b, a, f"{path}[{index}]")
            ]
    if before == after and type(before) is type(after):
        return []
    return [Change(path, "changed", before=before, after=after)]
