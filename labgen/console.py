"""The one rich Console labgen prints through.

The CLI imports this module only when it prints (labgen/cli/options.py), so `labgen --help`
and error messages do not pay for importing rich.
"""

from __future__ import annotations

from typing import IO, Optional

from rich.console import Console

_console: Optional[Console] = None


def make_console(file: IO[str] | None = None, width: int | None = None, force_terminal: bool | None = None) -> Console:
    """A new Console writing to `file` (stdout when None). Tests pass a StringIO and a width."""
    return Console(file=file, width=width, force_terminal=force_terminal, stderr=False)


def get_console() -> Console:
    """The shared Console on stdout, created on first use."""
    global _console
    if _console is None:
        _console = make_console()
    return _console
