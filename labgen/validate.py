"""The validation toolkit both loaders use (labfile.py, scenario/load.py): a problem collector
that names file and line, how a wrong value is described, did-you-mean, and ONE policy for
control and invisible characters.

Lab and scenario files come from strangers, and their text reaches terminals, handouts and
shells: an escape sequence repaints a terminal, a bidirectional override (U+202E) makes text
read differently than it is. Pure and import-light: loading must stay fast.
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import Any, Iterable

# Unicode categories refused in text: Cc control characters (ESC...), Cf format characters
# (bidi overrides and isolates, zero-width joiners), Zl/Zp line and paragraph separators (line
# breaks that are not "\n"), Cs/Co/Cn surrogates, private use, unassigned.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def bad_character(text: str, allow: str = "\n\t") -> tuple[int, str] | None:
    """(index, character) of the first character the policy refuses, or None. `allow`: the
    control characters this kind of text may hold (newline and tab for prose)."""
    for index, ch in enumerate(text):
        if ch not in allow and unicodedata.category(ch) in REFUSED_CATEGORIES:
            return index, ch
    return None


def character_problem(text: str, allow: str = "\n\t") -> str | None:
    """`contains the control character U+202E at character 7`, or None when `text` is clean."""
    bad = bad_character(text, allow)
    if bad is None:
        return None
    index, ch = bad
    return f"contains the control character U+{ord(ch):04X} at character {index + 1}"


def strip_refused(text: str, keep: str = "\n\t") -> str:
    """`text` without the characters the policy refuses (for output read from nodes, which is
    shown, not refused)."""
    if bad_character(text, keep) is None:
        return text
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in REFUSED_CATEGORIES)


class Problems:
    """Problems found in one file, each `FILE line N: WHERE: PROBLEM; expected EXPECTED`,
    reported all at once, sorted by line (then in the order found)."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[tuple[int, int, str]] = []  # (line, order, message)

    def add(self, line: int, where: str, problem: str, expected: str | None = None) -> None:
        at = f"{self.source} line {line}" if line else self.source
        message = f"{at}: {where}: {problem}"
        if expected:
            message += f"; expected {expected}"
        self.items.append((line, len(self.items), message))

    def __len__(self) -> int:
        return len(self.items)

    def sorted(self) -> list[str]:
        return [message for _, _, message in sorted(self.items)]


def closest(word: Any, choices: Iterable[Any]) -> str | None:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: Any, choices: Iterable[Any]) -> str:
    """` (did you mean 'zookeeper'?)`, or "" when nothing is close."""
    close = closest(word, choices)
    return f" (did you mean {close!r}?)" if close else ""


def kind(value: Any) -> str:
    """What sort of value it is: `a string`, `a mapping`, `empty (null)`..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty (null)"
    return f"a {type(value).__name__}"


def show(value: Any, limit: int = 60) -> str:
    """A value as it may appear in a one-line message: escaped (ASCII), quoted, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        if len(value) > limit:
            value = value[: limit - 3] + "..."
        return ascii(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, dict)):
        return kind(value)
    return ascii(str(value))[:limit]


def describe(value: Any) -> str:
    """How a wrong value looks to its author, for `x is <this>; expected ...` (escaped)."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value} (a number)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"{shown!r} (a string)"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return type(value).__name__
