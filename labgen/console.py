"""The one rich Console labgen prints through.

rich is imported inside the functions: the CLI's start-up path (`labgen --help`, errors)
must stay fast and not pay for importing it.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Optional

if TYPE_CHECKING:   # pragma: no cover
    from rich.console import Console

_console: Optional["Console"] = None


def make_console(file: IO[str] | None = None, width: int | None = None,
                 force_terminal: bool | None = None) -> "Console":
    """A new Console writing to `file` (stdout when None). Tests pass a StringIO and a width."""
    from rich.console import Console

    return Console(file=file, width=width, force_terminal=force_terminal, stderr=False)


def get_console() -> "Console":
    """The shared Console on stdout, created on first use."""
    global _console
    if _console is None:
        _console = make_console()
    return _console
