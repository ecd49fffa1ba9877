"""What the server knows about a room while it runs, beyond the files: per seat, whether its
student allows watching, who watches, how many terminals are open, and the instructor's
messages. In memory only: a restart forgets it (consent must be given again, on purpose)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Settings:
    """Limits and thresholds of one server (the serve commands' options)."""

    max_terminals: int = 6  # open terminal sessions per seat (tabs, reloads in flight)
    idle_timeout: float = 1800.0  # seconds without a keystroke before a terminal closes
    window: int = 128 * 1024  # bytes an SSH channel may buffer towards the server
    stuck_fails: int = 3  # a check failed this many times on one step: stuck
    stuck_minutes: float = 10.0  # or no progress for this long: stuck


@dataclass
class SeatLive:
    consent: bool = False
    terminals: int = 0
    watchers: set = field(default_factory=set)  # one asyncio.Event per open watch: set = stop
    messages: list = field(default_factory=list)  # {"id", "at", "kind", "text": {en, zh}}


class Room:
    """Live state of every seat, touched only from the event loop (no locks needed)."""

    MAX_MESSAGES = 20

    def __init__(self, names, settings: Settings):
        self.settings = settings
        self.live = {name: SeatLive() for name in names}
        self._next = 1

    def post(self, name: str, kind: str, en: str, zh: str | None = None) -> dict:
        message = {
            "id": self._next,
            "at": time.time(),
            "kind": kind,
            "text": {"en": en, "zh": zh if zh is not None else en},
        }
        self._next += 1
        live = self.live[name]
        live.messages = (live.messages + [message])[-self.MAX_MESSAGES :]
        return message

    def set_consent(self, name: str, allowed: bool) -> None:
        live = self.live[name]
        live.consent = allowed
        if not allowed:  # taking it back ends every watch at once
            for stop in list(live.watchers):
                stop.set()

    def watch_started(self, name: str) -> asyncio.Event:
        stop = asyncio.Event()
        self.live[name].watchers.add(stop)
        return stop

    def watch_ended(self, name: str, stop: asyncio.Event) -> None:
        self.live[name].watchers.discard(stop)
