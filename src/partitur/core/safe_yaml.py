"""YAML from users (journeys, segments, maps, offers, models, CLI files) read within bounds: a
document over ``MAX_BYTES``, nested deeper than ``MAX_DEPTH`` or whose aliases expand it beyond
``MAX_NODES`` values (an "alias bomb": a kilobyte of anchors that unfolds into billions of
items) is refused before anything walks it. Only plain data is built (``SafeLoader``)."""

from __future__ import annotations

from typing import Any

import yaml

#: The largest YAML document read (bytes of UTF-8).
MAX_BYTES = 1 << 20
#: The deepest nesting of mappings and lists.
MAX_DEPTH = 64
#: The most values a document may hold once its aliases are expanded.
MAX_NODES = 200_000


class YamlRefused(ValueError):
    """The text is not YAML, or exceeds a bound; the message says which."""


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlRefused(f"the document is nested deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(root: yaml.Node) -> int:
    """How many values the node graph holds with every alias expanded (each distinct node is
    visited once; a shared node counts as often as it is referenced)."""
    sizes: dict[int, int] = {}
    # post-order without recursion: (node, children visited?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(sizes[id(c)] for c in children)
        sizes[id(node)] = min(total, MAX_NODES + 1)
    return sizes[id(root)]


def load_yaml(text: str | bytes) -> Any:
    """The document's data; raises ``YamlRefused`` for text that is not YAML or breaks a
    bound."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise YamlRefused(f"a YAML document may have at most {MAX_BYTES // 1024} KB")
        text = text.decode("utf-8", errors="replace")
    elif len(text) > MAX_BYTES:
        raise YamlRefused(f"a YAML document may have at most {MAX_BYTES // 1024} KB")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_NODES:
            raise YamlRefused(
                f"the document expands to more than {MAX_NODES:,} values (through its aliases)"
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
