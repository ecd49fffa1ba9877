"""Ctrl-C during `labgen classroom up`: every seat ends up either up or cleanly absent.

The sorting rule (`after_interrupt`) and the whole flow of `ops.up` with a placement that
records what it is asked (a Ctrl-C is delivered to the main thread with interrupt_main, as
the terminal's SIGINT would be). The real thing on LXC: tests/integration/test_classroom_lxc.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from labgen.classroom import ops
from labgen.classroom.ops import SeatOutcome, after_interrupt, interrupt_message, seat_list_text
from tests.unit.test_classroom import classroom


def ok(seat):
    return SeatOutcome(seat, True, "up")


def bad(seat):
    return SeatOutcome(seat, False, "interrupted")


def test_finished_seats_stay_mid_way_seats_go_unstarted_seats_are_left():
    plan = after_interrupt([1, 2, 3, 4, 5], started={1, 2, 3}, was_up=set(), outcomes={1: ok(1), 2: bad(2), 3: bad(3)})
    assert plan == {"up": [1], "remove": [2, 3], "not_started": [4, 5]}


def test_a_seat_that_was_up_before_is_never_destroyed_by_ctrl_c():
    # seat 2 was up (a student may be on it); its re-converge was cut short: it stays
    plan = after_interrupt([1, 2, 3], started={1, 2}, was_up={2, 3}, outcomes={1: bad(1), 2: bad(2)})
    assert plan == {"up": [2, 3], "remove": [1], "not_started": []}


def test_a_seat_that_failed_on_its_own_before_the_interrupt_is_half_made_too():
    plan = after_interrupt(
        [1, 2], started={1, 2}, was_up=set(), outcomes={1: SeatOutcome(1, False, "vagrant up failed"), 2: ok(2)}
    )
    assert plan["remove"] == [1] and plan["up"] == [2]


def test_seat_lists_are_short():
    assert seat_list_text([5, 1, 2, 3, 7, 8]) == "1-3,5,7,8"
    assert seat_list_text([]) == "none"
    assert seat_list_text([4]) == "4"


def test_the_message_is_one_line_naming_every_group():
    plan = {"up": [1, 2], "remove": [3, 4], "not_started": [5]}
    text = interrupt_message(plan, removed=[3], failed=[4])
    assert "\n" not in text
    assert text == (
        "interrupted: seat(s) 1,2 up; seat(s) 3 removed (were being made); "
        "seat(s) 4 could not be removed; seat(s) 5 not started"
    )


class Place:
    """A placement that records calls. Seats in `done` finish at once; seat `cut` waits until
    the seats in `after` have started, then sends this process a real SIGINT (what the
    terminal's Ctrl-C does) while it boots; every other seat is still booting and stops at its
    next phase, as a real one does once `stop` is set."""

    def __init__(self, cut: int, done: set[int], after: set[int]):
        self.cut, self.done, self.after = cut, done, after
        self.placed, self.removed, self.leftovers = [], [], []
        self.lock = threading.Lock()

    def place(self, lab_dir, text, say, roles=None, stop=None, image=None):
        seat = int(lab_dir.name.split("-")[1])
        with self.lock:
            self.placed.append(seat)
        if seat == self.cut:
            deadline = time.monotonic() + 10
            while not self.after <= set(self.placed) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.wait(10), "up() never set stop after Ctrl-C"
            raise ops.LabgenError("interrupted after booting")
        if seat not in self.done:  # still booting when Ctrl-C comes: finishes its phase
            assert stop.wait(10)
        return []

    def remote(self, lab_dir):
        import contextlib

        return contextlib.nullcontext(None)

    def remove(self, lab_dir, say):
        self.removed.append(int(lab_dir.name.split("-")[1]))
        return ["machines"]

    def remove_leftovers(self, model):
        self.leftovers.append(model.instance)
        return []


@pytest.fixture
def fake_up(monkeypatch, tmp_path):
    def run(cut, done, after=frozenset(), seats=4, workers=2):
        c = classroom(path=tmp_path / "cr1", seats=seats)
        c.path.mkdir()
        (c.path / "lab.yml").write_text((ops.Path(c.lab)).read_text())
        place = Place(cut, done, set(after))
        access_calls = []
        monkeypatch.setattr(ops, "placement_for", lambda provider: place)
        monkeypatch.setattr(ops, "_record", lambda c, use_image=None: None)
        monkeypatch.setattr(ops, "_prepare_host", lambda c, lab: [])
        monkeypatch.setattr(ops, "authorize_on_nodes", lambda remote, key: None)
        monkeypatch.setattr(ops.access, "public_key", lambda path: "ssh-ed25519 AAAA test")
        monkeypatch.setattr(ops.access, "remove_seat", lambda name, account: access_calls.append(account) or [])
        for s in range(1, seats + 1):  # every seat has a key pair, as _prepare_host made
            key = ops.key_path(c, s)
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_text("private")
            key.with_suffix(".pub").write_text("public")
        notes = []
        with pytest.raises(ops.UpInterrupted) as caught:
            ops.up(c, lambda seat, text: None, workers=workers, note=notes.append, use_image=False)
        return c, place, access_calls, caught.value, notes

    return run


def test_ctrl_c_keeps_finished_seats_and_removes_the_half_made_ones(fake_up):
    # 2 workers: seat 1 finishes, its worker takes seat 3 (still booting), then seat 2 gets
    # Ctrl-C mid-boot; seat 4 is queued and never starts.
    c, place, accounts, err, notes = fake_up(cut=2, done={1}, after={3})
    assert err.exit_code == 130
    assert (err.up, err.removed) == ([1], [2, 3]) and sorted(place.placed) == [1, 2, 3]
    assert sorted(place.removed) == [2, 3] and place.leftovers == [c.instance(2), c.instance(3)]
    assert accounts == [c.account(2), c.account(3)]
    for s in (2, 3):
        assert not ops.key_path(c, s).exists() and not ops.key_path(c, s).with_suffix(".pub").exists()
    for s in (1, 4):
        assert ops.key_path(c, s).exists()
    assert err.message == ("interrupted: seat(s) 1 up; seat(s) 2,3 removed (were being made); seat(s) 4 not started")
    assert any("waiting for seat(s)" in n and "Ctrl-C again quits" in n for n in notes), notes
    assert any("removing half-made seat 2" in n for n in notes)


def test_ctrl_c_waits_for_a_seat_in_flight_and_removes_it(fake_up):
    # seat 1 is still booting when seat 2 gets Ctrl-C: it is waited for, then removed
    c, place, accounts, err, notes = fake_up(cut=2, done=set(), after={1}, seats=2)
    assert err.up == [] and sorted(err.removed) == [1, 2]
    assert sorted(place.removed) == [1, 2]
    assert err.message == "interrupted: no seat up; seat(s) 1,2 removed (were being made)"


def test_a_seat_up_before_the_run_survives_ctrl_c(fake_up, monkeypatch):
    # seat 1 booted in an earlier run: the re-run is cut short while it converges
    from labgen.labdir import LabDir

    real = LabDir.load_state
    monkeypatch.setattr(
        LabDir, "load_state", lambda self: {"booted": True, "roles": {}} if self.path.name == "seat-01" else real(self)
    )
    c, place, accounts, err, notes = fake_up(cut=2, done=set(), after={1}, seats=2)
    assert err.up == [1] and err.removed == [2] and place.removed == [2]


def test_cli_prints_one_line_and_exits_130(monkeypatch, tmp_path, capsys):
    from labgen import cli as cli_mod
    from labgen.classroom import ops as ops_mod

    monkeypatch.setattr(ops_mod, "create", lambda *a, **kw: classroom(path=tmp_path))

    def interrupted(*a, **kw):
        raise ops_mod.UpInterrupted(
            "interrupted: seat(s) 1 up; seat(s) 2 removed (were being made)", hint="re-run", up=[1], removed=[2]
        )

    def exit_now(code):  # os._exit: no thread joins (a second Ctrl-C must quit at once)
        raise SystemExit(f"os._exit({code})")

    monkeypatch.setattr(ops_mod, "up", interrupted)
    monkeypatch.setattr(cli_mod.os, "_exit", exit_now)
    monkeypatch.setattr(cli_mod.sys, "argv", ["labgen", "classroom", "up", "x", "--seats", "2"])
    with pytest.raises(SystemExit, match=r"os\._exit\(130\)"):
        cli_mod.main()
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "error: interrupted: seat(s) 1 up; seat(s) 2 removed (were being made)"


def test_a_second_ctrl_c_during_cleanup_quits_and_says_what_may_be_half_made(fake_up, monkeypatch):
    def remove(self, lab_dir, say):
        raise KeyboardInterrupt  # the second Ctrl-C lands while seat 1 is being removed

    monkeypatch.setattr(Place, "remove", remove)
    c, place, accounts, err, notes = fake_up(cut=2, done=set(), after={1}, seats=2)
    assert err.exit_code == 130 and err.removed == []
    assert err.message == "interrupted again: no seat up; seat(s) 1,2 may be half-made"
    assert "classroom down" in err.hint
