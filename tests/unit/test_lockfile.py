"""Unit tests for labgen.lockfile, labgen.mirrors, labgen.urls and the lab file's mirrors key."""

import json

import pytest

from labgen import lockfile, mirrors, urls
from labgen.errors import InputError
from labgen.labfile import parse_lab
from labgen.lockfile import Entry, Lock, LockError
from labgen.yamlsrc import load_text

SHA = "ab" * 32


def test_lock_text_is_sorted_and_round_trips(tmp_path):
    lock = Lock(tmp_path / "labgen.lock")
    lock.record("zeta", Entry("https://z.example/z", "z.bin", 3, SHA))
    lock.record("alpha", Entry("https://a.example/a", "a.bin", 1, "cd" * 32))
    text = (tmp_path / "labgen.lock").read_text()
    assert text.index('"alpha"') < text.index('"zeta"') and text.endswith("}\n")
    assert lockfile.load(tmp_path / "labgen.lock").entries == lock.entries
    assert Lock(None, lock.entries).text() == text  # deterministic


def test_missing_lock_is_empty_unless_required(tmp_path):
    assert lockfile.load(tmp_path / "none.lock").entries == {}
    with pytest.raises(LockError, match="no lock file"):
        lockfile.load(tmp_path / "none.lock", must_exist=True)


@pytest.mark.parametrize(
    "entry, problem",
    [
        (
            {"url": "ftp://x/y", "filename": "y", "size": 1, "sha256": SHA},
            "url 'ftp://x/y' is not valid; expected where",
        ),
        ({"url": "https://x/y\x1b[2J", "filename": "y", "size": 1, "sha256": SHA}, r"U\+001B"),
        (
            {"url": "https://x/y", "filename": "../etc/passwd", "size": 1, "sha256": SHA},
            "'../etc/passwd' is not valid; expected a plain",
        ),
        (
            {"url": "https://x/y", "filename": "y", "size": True, "sha256": SHA},
            r"size is true \(a boolean\); expected an integer",
        ),
        ({"url": "https://x/y", "filename": "y", "size": 1, "sha256": "AB" * 32}, "64 lowercase hex"),
        ({"url": "https://x/y", "filename": "y", "size": 1}, "missing key 'sha256'"),
    ],
)
def test_a_hostile_lock_is_refused(tmp_path, entry, problem):
    path = tmp_path / "labgen.lock"
    path.write_text(json.dumps({"version": 1, "artifacts": {"tool": entry}}))
    with pytest.raises(LockError, match=problem):
        lockfile.load(path)


@pytest.mark.parametrize(
    "url, problem",
    [
        ("https://mirror.lan/x", None),
        ("file:///srv/mirror/x", None),
        ("http://user:pw@mirror.lan/x", "carries a user name or password"),
        ("javascript:alert(1)", "has javascript:"),
        ("http:///x", "has no host"),
        ("file://host/x", "not a file:///absolute/path URL"),
        ("https://mirror.lan/a b", "U+0020"),
        ("https://mirror.lan/\u202ex", "U+202E"),
        ("http://mirror.lan:99999/x", "not a URL"),
        (42, "not a string"),
    ],
)
def test_url_problem(url, problem):
    why = urls.url_problem(url)
    assert (why is None) if problem is None else (problem in why)


def test_mirror_rules_name_beats_base_and_longest_base_wins():
    m = mirrors.Mirrors(
        (
            ("https://dl.example/", "http://m/all/"),
            ("https://dl.example/linux/", "http://m/linux/"),
            ("tool", "file:///usb/tool"),
        )
    )
    assert m.url_for("tool", "https://dl.example/linux/tool") == "file:///usb/tool"
    assert m.url_for("deb", "https://dl.example/linux/x.deb") == "http://m/linux/x.deb"
    assert m.url_for("deb", "https://dl.example/win/x.exe") == "http://m/all/win/x.exe"
    assert m.url_for("deb", "https://other.example/x") == "https://other.example/x"
    cli = mirrors.Mirrors((("tool", "http://cli/tool"),))
    assert m.then(cli).url_for("tool", "https://dl.example/t") == "http://cli/tool"


def test_mirror_options_are_validated():
    names = ["calicoctl", "mesos-deb"]
    assert mirrors.from_options(["calicoctl=http://m/c"], names).rules == (("calicoctl", "http://m/c"),)
    with pytest.raises(InputError) as err:
        mirrors.from_options(
            ["calicotl=http://m/c", "https://a.example=http://m/", "mesos-deb", "mesos-deb=gopher://x/"], names
        )
    text = err.value.message
    assert "(did you mean 'calicoctl'?)" in text and "does not end with /" in text
    assert "expected FROM=TO" in text and "has gopher:" in text and len(err.value.problems) == 4


def test_lab_file_mirrors_key(tmp_path):
    base = (
        "name: t\nnetwork: {cidr: 192.168.67.0/24}\nboxes: {lxc: labgen/debian-12}\n"
        "nodes: [{name: n1, ip: 192.168.67.10, roles: [base]}]\n"
    )
    lab = parse_lab(
        load_text(
            base + "mirrors:\n  calicoctl: http://10.0.0.5/calicoctl\n"
            "  https://download.docker.com/: http://10.0.0.5/docker/\n",
            "t.yml",
        ),
        "t.yml",
    )
    assert lab.mirrors == (
        ("calicoctl", "http://10.0.0.5/calicoctl"),
        ("https://download.docker.com/", "http://10.0.0.5/docker/"),
    )
    with pytest.raises(InputError) as err:
        parse_lab(load_text(base + 'mirrors:\n  calicoctl: "http://x/\\e[2J"\n  nope: http://x/\n', "t.yml"), "t.yml")
    assert err.value.problems[0].startswith("t.yml line 6: mirrors: 'calicoctl' maps to a URL that contains")
    assert err.value.problems[1].startswith("t.yml line 7: mirrors: 'nope' is neither a declared artifact")
