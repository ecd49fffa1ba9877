"""Live progress of provisioning: one line per node with its current role/task, and a log line
per change or failure above it. Fed by the engine's events callback from worker threads."""

from __future__ import annotations

import threading

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

STYLES = {"changed": "yellow", "ok": "green", "failed": "bold red", "unavailable": "magenta", "stopped": "dim"}


class ProvisionView:
    def __init__(self, console, nodes: list[str], verbose: bool = False):
        self.console = console
        self.verbose = verbose
        self.width = max(len(n) for n in nodes) if nodes else 8
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
        )
        self.ids = {n: self.progress.add_task(f"[bold]{n:<{self.width}}[/] waiting", total=None) for n in nodes}
        self.lock = threading.Lock()

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def event(self, node: str, role: str, task: str, status: str) -> None:
        label = f"{role}/{task}" if task else role
        with self.lock:
            if status == "running":
                self.progress.update(self.ids[node], description=f"[bold]{node:<{self.width}}[/] {label}")
                return
            if status == "unavailable" or (status == "ok" and not self.verbose):
                return  # unavailable roles are summed up once, after the run
            words = {"unavailable": "not available", "ok": "unchanged"}.get(status, status)
            self.console.print(
                f"[bold]{node:<{self.width}}[/] │ {label}: [{STYLES.get(status, '')}]{words}[/]", highlight=False
            )
