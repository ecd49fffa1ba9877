"""URLs that come from strangers (lab files, lock files, bundles, --mirror): one strict check.

Pure: no network, no file access.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from labgen.validate import character_problem

SCHEMES = ("http", "https", "file")
MAX_URL = 2000


def url_problem(value: object, schemes: tuple[str, ...] = SCHEMES) -> str | None:
    """Why `value` is not an acceptable download URL, or None when it is one.

    Accepted: a string of at most 2000 characters, no whitespace or control/format characters,
    a scheme among `schemes`; http(s) with a host and no user:password@; file with an absolute
    path and no host (or localhost).
    """
    if not isinstance(value, str):
        return "is not a string"
    if len(value) > MAX_URL:
        return f"is {len(value)} characters long (at most {MAX_URL})"
    why = character_problem(value, allow="")  # labgen's one policy (validate.py)
    if why:
        return why
    for index, ch in enumerate(value):
        if ch.isspace():
            return f"contains the space U+{ord(ch):04X} at character {index + 1}"
    try:
        parts = urlsplit(value)
        _ = parts.port  # reading it raises ValueError on a bad port
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in schemes:
        shown = parts.scheme + ":" if parts.scheme else "no scheme"
        return f"has {shown}; expected {', '.join(s + '://' for s in schemes)}"
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            return "is not a file:///absolute/path URL"
        return None
    if parts.scheme not in ("http", "https"):
        return None  # e.g. docker-save:IMAGE (a lock records those too)
    if not parts.hostname:
        return "has no host"
    if "@" in parts.netloc:
        return "carries a user name or password (keep credentials out of lab files)"
    return None
