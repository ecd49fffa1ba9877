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


def download_bar(con: Console):
    """A transient progress bar for downloads (name, bar, bytes, speed) on `con`; its tasks are
    added by the caller. `labgen fetch` and `labgen bundle` share it."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=con,
        transient=True,
    )
