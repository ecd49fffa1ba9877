"""Mirrors: where to fetch an artifact instead of its own URL (a venue's local mirror).

A rule maps either an artifact name to a full URL, or a base URL to another base URL:

    mirrors:
      calicoctl: http://10.0.0.5/files/calicoctl-v1.6.3          # one artifact
      https://download.docker.com/: http://10.0.0.5/docker/       # every URL under a base

From a lab file's `mirrors:` key or `--mirror FROM=TO` (which wins). A rule for the
artifact's name wins over base rules; among base rules, the longest match wins. The lock
keeps the artifact's own URL, so a mirror changes where bytes come from, never what they must
be. Pure: no network.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

from labgen.errors import InputError
from labgen.urls import url_problem

RULE_HELP = (
    "an artifact name mapped to a URL (calicoctl: http://mirror/calicoctl), or a base "
    "URL ending in / mapped to another (https://download.docker.com/: http://mirror/docker/)"
)


@dataclass(frozen=True)
class Mirrors:
    rules: tuple[tuple[str, str], ...] = ()

    def url_for(self, name: str, url: str) -> str:
        """The URL to fetch artifact `name` (whose own URL is `url`) from."""
        for key, to in self.rules:
            if key == name:
                return to
        best = max((key for key, _ in self.rules if is_base(key) and url.startswith(key)), key=len, default=None)
        if best is None:
            return url
        return dict(self.rules)[best] + url[len(best) :]

    def then(self, first: "Mirrors") -> "Mirrors":
        """These rules with `first`'s rules taking precedence (for --mirror over the lab file)."""
        keys = {k for k, _ in first.rules}
        return Mirrors(first.rules + tuple(r for r in self.rules if r[0] not in keys))

    def __bool__(self) -> bool:
        return bool(self.rules)


def is_base(key: str) -> bool:
    return "://" in key


def rule_problem(key: object, value: object, names: Iterable[str]) -> str | None:
    """Why (key, value) is not a valid mirror rule, or None. `names`: the declared artifacts."""
    if not isinstance(key, str):
        return "a key is not a string"
    shown = ascii(key)[:80]
    if is_base(key):
        why = url_problem(key, ("http", "https"))
        if why:
            return f"base URL {shown} {why}"
        if not key.endswith("/"):
            return f"base URL {shown} does not end with /"
    elif key not in names:
        close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{shown} is neither a declared artifact nor a base URL{hint}"
    why = url_problem(value)
    if why:
        return f"{shown} maps to a URL that {why}"
    if is_base(key) and isinstance(value, str) and not value.endswith("/"):
        return f"{shown} maps to {ascii(value)[:80]}, which does not end with / like its base URL"
    return None


def from_options(texts: Iterable[str], names: Iterable[str]) -> Mirrors:
    """Mirrors from --mirror FROM=TO options. Raises InputError listing every bad one."""
    names = list(names)
    rules, problems = [], []
    for text in texts:
        key, sep, value = text.partition("=")
        # split at the first "=": a FROM (artifact name or base URL) has none; a TO may
        why = "expected FROM=TO" if not sep else rule_problem(key, value, names)
        if why:
            problems.append(f"--mirror {ascii(text)[:100]}: {why}; expected {RULE_HELP}")
        else:
            rules.append((key, value))
    if problems:
        raise InputError(problems)
    return Mirrors(tuple(rules))
