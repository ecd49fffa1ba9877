"""progress.py on its own: the file, its format, and its two locks held by real processes."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

import pytest

from labgen.errors import LabgenError
from labgen.labdir import LabDir
from labgen.scenario import student_progress as prog

# A second process that takes one of the locks, says so on stdout, and holds it until its
# stdin closes: the lock is tested between real processes, as the CLI and the server use it.
HOLDER = (
    "import sys\n"
    "from labgen.labdir import LabDir\n"
    "from labgen.scenario import student_progress as prog\n"
    "lab = LabDir(sys.argv[1])\n"
    "cm = {'changing': lambda: prog.changing(lab), 'slot': lambda: prog.check_slot(lab)}[sys.argv[2]]\n"
    "with cm():\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.read()\n"
)


def hold(tmp_path, what):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), what], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "held\n"
    return proc


def release(proc):
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0


def can_lock(path, flags=fcntl.LOCK_EX):
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, flags | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_progress_lives_in_the_lab_meta_dir(tmp_path):
    lab = LabDir(tmp_path)
    assert prog.progress_file(lab) == tmp_path / ".labgen" / "progress.json"


def test_now_is_rounded_to_milliseconds(monkeypatch):
    monkeypatch.setattr(prog.time, "time", lambda: 1234.56789)
    assert prog.now() == 1234.568


def test_fresh_progress_and_step_record(monkeypatch):
    monkeypatch.setattr(prog, "now", lambda: 7.5)
    p = prog.fresh("mac-bug", "/s/mac-bug.yml", "challenge")
    assert p == {
        "version": 1,
        "scenario": "mac-bug",
        "source": "/s/mac-bug.yml",
        "variant": "challenge",
        "started": 7.5,
        "updated": 7.5,
        "current": None,
        "finished": None,
        "captures": {},
        "steps": {},
    }
    rec = prog.step_record(p, "t1", "task")
    assert rec == {
        "kind": "task",
        "status": "open",
        "opened": 7.5,
        "closed": None,
        "attempts": 0,
        "passed": 0,
        "hints": 0,
        "last": None,
    }
    assert p["steps"] == {"t1": rec}
    rec["attempts"] = 3
    assert prog.step_record(p, "t1", "question")["attempts"] == 3  # made once, then kept


def test_load_none_when_missing_or_not_ours(tmp_path):
    lab = LabDir(tmp_path)
    assert prog.load(lab) is None
    prog.progress_file(lab).parent.mkdir(parents=True)
    for text in ("[1, 2]", '{"version": 2, "steps": {}}', '{"steps": {}}', '"x"'):
        prog.progress_file(lab).write_text(text)
        assert prog.load(lab) is None, text
    prog.progress_file(lab).write_text('{"version": 1, "scenario": "x"}')
    assert prog.load(lab) == {"version": 1, "scenario": "x"}


def test_load_of_a_broken_file_is_a_one_line_error_with_a_hint(tmp_path):
    lab = LabDir(tmp_path)
    prog.progress_file(lab).parent.mkdir(parents=True)
    prog.progress_file(lab).write_text("{not json")
    with pytest.raises(LabgenError) as exc:
        prog.load(lab)
    assert exc.value.message.startswith(f"{prog.progress_file(lab)}: unreadable progress: ")
    assert exc.value.hint == "`labgen scenario start SCENARIO` starts over"
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    prog.progress_file(lab).write_bytes(b'{"version": 1, "s": "\xff"}')  # not UTF-8
    with pytest.raises(LabgenError, match="unreadable progress"):
        prog.load(lab)


def test_progress_is_written_and_read_as_utf8(tmp_path):
    lab = LabDir(tmp_path)
    prog.replace(lab, {"version": 1, "answer": "代理 ARP"})
    raw = prog.progress_file(lab).read_bytes()
    assert "代理 ARP".encode() in raw  # written as UTF-8, not \\u escapes
    assert prog.load(lab)["answer"] == "代理 ARP"


def test_saved_file_is_sorted_indented_json_with_a_final_newline(tmp_path):
    lab = LabDir(tmp_path)
    prog.save(lab, {"b": 1, "a": {"z": "中", "y": 2}})
    text = prog.progress_file(lab).read_text(encoding="utf-8")
    assert text == '{\n "a": {\n  "y": 2,\n  "z": "中"\n },\n "b": 1\n}\n'


def test_replace_stamps_updated_and_writes_a_whole_file(tmp_path, monkeypatch):
    lab = LabDir(tmp_path / "lab")  # meta dir made on demand
    monkeypatch.setattr(prog, "now", lambda: 99.0)
    prog.replace(lab, {"version": 1, "updated": 1.0})
    assert prog.load(lab) == {"version": 1, "updated": 99.0}
    assert (tmp_path / "lab" / ".labgen" / "progress.lock").exists()
    assert oct(os.stat(tmp_path / "lab" / ".labgen" / "progress.json").st_mode & 0o777) == "0o644"


def test_changing_saves_the_change_and_stamps_updated(tmp_path, monkeypatch):
    lab = LabDir(tmp_path)
    prog.replace(lab, prog.fresh("x", "", "default"))
    monkeypatch.setattr(prog, "now", lambda: 123.0)
    with prog.changing(lab) as p:
        p["current"] = "t"
    assert prog.load(lab)["current"] == "t" and prog.load(lab)["updated"] == 123.0


def test_changing_without_progress_says_how_to_start(tmp_path):
    lab = LabDir(tmp_path / "new")
    with pytest.raises(LabgenError) as exc:
        with prog.changing(lab):
            pass
    assert exc.value.message == "no scenario started on this lab"
    assert exc.value.hint == "`labgen scenario start mac-bug` starts one"
    assert not prog.progress_file(lab).exists()


def test_changing_does_not_save_when_the_block_raises(tmp_path):
    lab = LabDir(tmp_path)
    prog.replace(lab, prog.fresh("x", "", "default"))
    with pytest.raises(RuntimeError):
        with prog.changing(lab) as p:
            p["current"] = "t"
            raise RuntimeError("boom")
    assert prog.load(lab)["current"] is None


def test_changing_holds_an_exclusive_lock_another_process_waits_for(tmp_path):
    lab = LabDir(tmp_path)
    prog.replace(lab, prog.fresh("x", "", "default"))
    lock = tmp_path / ".labgen" / "progress.lock"
    proc = hold(tmp_path, "changing")
    try:
        assert not can_lock(lock) and not can_lock(lock, fcntl.LOCK_SH)
        # replace() waits for it too: in a thread, it must not finish while the lock is held
        import threading

        done = threading.Event()
        t = threading.Thread(target=lambda: (prog.replace(lab, prog.fresh("y", "", "d")), done.set()), daemon=True)
        t.start()
        assert not done.wait(0.5)
    finally:
        release(proc)
    t.join(timeout=30)
    assert done.is_set() and prog.load(lab)["scenario"] == "y"
    assert can_lock(lock)  # released when the holder left


def test_check_slot_refuses_a_second_holder_at_once(tmp_path):
    lab = LabDir(tmp_path / "lab")
    proc = hold(tmp_path / "lab", "slot")
    try:
        assert not can_lock(tmp_path / "lab" / ".labgen" / "check.lock", fcntl.LOCK_SH)
        started = time.monotonic()
        with pytest.raises(LabgenError) as exc:
            with prog.check_slot(lab):
                pass
        assert time.monotonic() - started < 5  # at once, not waiting
        assert exc.value.message == "a check is already running on this lab"
        assert exc.value.hint == "wait for it to finish, then try again"
        assert exc.value.__cause__ is None and exc.value.__suppress_context__
    finally:
        release(proc)
    with prog.check_slot(lab):  # free again once the other process left
        assert not can_lock(tmp_path / "lab" / ".labgen" / "check.lock")
    assert can_lock(tmp_path / "lab" / ".labgen" / "check.lock")
    assert oct(os.stat(tmp_path / "lab" / ".labgen" / "check.lock").st_mode & 0o777) == "0o644"


def test_the_two_locks_are_separate(tmp_path):
    lab = LabDir(tmp_path)
    prog.replace(lab, prog.fresh("x", "", "default"))
    proc = hold(tmp_path, "slot")
    try:
        with prog.changing(lab) as p:  # a running check does not block the board
            p["current"] = "t"
    finally:
        release(proc)
    assert prog.load(lab)["current"] == "t"


def test_progress_is_read_as_utf8_under_an_ascii_locale(tmp_path):
    """A student's Chinese answer must load whatever the locale of the process reading it."""
    import locale

    lab = LabDir(tmp_path)
    prog.replace(lab, {"version": 1, "answer": "代理 ARP"})
    saved = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # open() would default to ASCII now
    try:
        assert prog.load(lab)["answer"] == "代理 ARP"
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
