"""Regular expressions from users (segment and journey rules) run on RE2, whose matching time
grows linearly with the text: a pattern such as ``^(a+)+$`` that takes Python's backtracking
engine seconds per character costs microseconds here. Constructs RE2 cannot run in linear time
(back-references, look-around) are refused when the rule is saved, with the reason."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

#: The longest pattern a rule may hold.
MAX_PATTERN_CHARS = 1_000
#: Memory RE2 may use for one compiled pattern (larger automata are refused).
MAX_PATTERN_MEMORY = 8 << 20


class UnsafePattern(ValueError):
    """The pattern is too long, invalid, or uses a construct without linear-time matching."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PATTERN_MEMORY
    return options


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern; raises ``UnsafePattern`` saying why it is refused."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise UnsafePattern(f"a pattern may have at most {MAX_PATTERN_CHARS} characters")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise UnsafePattern(
            f"not a supported regular expression ({reason}); back-references and look-around "
            "are not supported because they can take exponential time"
        ) from None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text`` (``re.search`` semantics)."""
    return compile_pattern(pattern).search(text) is not None
