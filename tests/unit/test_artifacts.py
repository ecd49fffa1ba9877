"""Unit tests for labgen.artifacts, the engine's artifact hook, labgen.aptproxy's pure parts
and `labgen fetch` (file:// URLs: no network; real HTTP and SFTP are in tests/integration)."""

import hashlib
import ipaddress
import threading

import pytest

from labgen import aptproxy, artifacts
from labgen import lockfile
from labgen.artifacts import Artifact, ArtifactError, Stager, fetch, obtain
from labgen.lockfile import Entry, Lock
from labgen.mirrors import Mirrors
from labgen.errors import TaskError
from labgen.model import Lab, Node, Task
from labgen.provision import engine
from tests.unit.fakes import FakeRemote

DATA = b"#!/bin/sh\necho calicoctl\n" * 100
GOOD = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    (d / "calicoctl").write_bytes(DATA)
    return d


def art(src, sha=GOOD, name="calicoctl"):
    return Artifact(name, (src / "calicoctl").as_uri(), sha, "calicoctl")


def test_fetch_downloads_verifies_and_caches(tmp_path, src):
    cache = tmp_path / "cache"
    seen = []
    path = fetch(art(src), cache, progress=lambda done, total: seen.append(done))
    assert path == cache / "calicoctl" and path.read_bytes() == DATA
    assert seen[-1] == len(DATA)
    (src / "calicoctl").unlink()  # the source is gone: the cache answers
    assert fetch(art(src), cache) == path


def test_wrong_checksum_leaves_nothing_in_the_cache(tmp_path, src):
    cache = tmp_path / "cache"
    with pytest.raises(ArtifactError) as err:
        fetch(art(src, sha="0" * 64), cache)
    msg = err.value.message
    assert f"got sha256 {GOOD}, expected {'0' * 64}" in msg and "calicoctl" in msg
    assert "--artifacts DIR" in msg and str(cache) in msg
    assert list(cache.iterdir()) == []


def test_a_corrupted_cache_entry_is_replaced(tmp_path, src):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "calicoctl").write_bytes(b"truncated")
    assert fetch(art(src), cache).read_bytes() == DATA


def test_missing_file_names_url_and_fix(tmp_path, src):
    a = Artifact("x", (src / "nope").as_uri(), GOOD, "nope")
    with pytest.raises(ArtifactError) as err:
        fetch(a, tmp_path / "cache")
    assert err.value.message.startswith(f"artifact x: {a.url}: connection error")
    assert "put nope (sha256 " in err.value.message


def test_artifacts_dir_first_and_copied_into_cache(tmp_path, src):
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "calicoctl").write_bytes(DATA)
    a = Artifact("calicoctl", "http://192.0.2.1:9/unreachable", GOOD, "calicoctl")
    path = fetch(a, tmp_path / "cache", artifacts_dir=usb, timeout=0.01)
    assert path == tmp_path / "cache" / "calicoctl" and path.read_bytes() == DATA


def test_wrong_file_on_the_stick_is_refused(tmp_path, src):
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "calicoctl").write_bytes(b"other")
    with pytest.raises(ArtifactError, match=r"from --artifacts\) has sha256 .* expected " + GOOD):
        fetch(art(src), tmp_path / "cache", artifacts_dir=usb)
    assert not (tmp_path / "cache" / "calicoctl").exists()


def test_first_fetch_locks_later_fetches_verify(tmp_path, src):
    lock = Lock(tmp_path / "labgen.lock")
    cache = tmp_path / "cache"
    got = obtain(art(src, sha=None), cache, lock=lock)
    assert (got.source, got.locked) == ("downloaded", "new")
    assert lock.get("calicoctl") == Entry((src / "calicoctl").as_uri(), "calicoctl", len(DATA), GOOD)
    assert lockfile.load(tmp_path / "labgen.lock").entries == lock.entries  # saved at once
    again = obtain(art(src, sha=None), cache, lock=lock)
    assert (again.source, again.locked) == ("cached", "")
    (cache / "calicoctl").unlink()
    (src / "calicoctl").write_bytes(b"changed upstream")
    with pytest.raises(ArtifactError) as err:
        fetch(art(src, sha=None), cache, lock=lock)
    msg = err.value.message
    assert "the file changed since it was locked" in msg
    assert hashlib.sha256(b"changed upstream").hexdigest() in msg and GOOD in msg
    assert str(tmp_path / "labgen.lock") in msg and list(cache.iterdir()) == []


def test_frozen_refuses_what_is_not_locked(tmp_path, src):
    lock = Lock(tmp_path / "labgen.lock")
    with pytest.raises(ArtifactError, match="is not in .*labgen.lock, and --frozen accepts only locked"):
        fetch(art(src, sha=None), tmp_path / "cache", lock=lock, frozen=True)
    assert not (tmp_path / "labgen.lock").exists() and not (tmp_path / "cache").exists()
    fetch(art(src, sha=None), tmp_path / "cache", lock=lock)
    assert fetch(art(src, sha=None), tmp_path / "cache", lock=lock, frozen=True).read_bytes() == DATA


def test_a_lock_entry_for_another_url_is_stale(tmp_path, src):
    lock = Lock(None, {"calicoctl": Entry("https://old.example/calicoctl", "calicoctl", 3, "0" * 64)})
    with pytest.raises(ArtifactError, match="locks https://old.example/calicoctl .* --frozen refuses"):
        fetch(art(src, sha=None), tmp_path / "cache", lock=lock, frozen=True)
    got = obtain(art(src, sha=None), tmp_path / "cache", lock=lock)
    assert got.locked == "replaced" and lock.get("calicoctl").sha256 == GOOD


def test_a_supplied_file_must_match_the_lock(tmp_path, src):
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "calicoctl").write_bytes(b"other")
    lock = Lock(None, {"calicoctl": Entry((src / "calicoctl").as_uri(), "calicoctl", len(DATA), GOOD)})
    with pytest.raises(
        ArtifactError,
        match=r"\(from --artifacts\) has sha256 .* but this run's lock "
        r"has sha256 " + GOOD,
    ):
        fetch(art(src, sha=None), tmp_path / "cache", artifacts_dir=usb, lock=lock)


def test_mirror_is_fetched_but_the_lock_keeps_the_own_url(tmp_path, src):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "calicoctl").write_bytes(DATA)
    a = Artifact("calicoctl", "https://github.com/x/calicoctl", None, "calicoctl")
    lock = Lock(None)
    m = Mirrors((("calicoctl", (mirror / "calicoctl").as_uri()),))
    got = obtain(a, tmp_path / "cache", lock=lock, mirrors=m)
    assert got.source == "downloaded" and lock.get("calicoctl").url == "https://github.com/x/calicoctl"


def test_a_saved_image_is_not_downloadable(tmp_path):
    a = Artifact("img", "docker-save:nginx:1.13.9", None, "nginx.tar", "docker save it")
    with pytest.raises(ArtifactError, match="not a URL labgen can download \\(docker save it\\)"):
        fetch(a, tmp_path)


def test_stager_fetches_once_across_threads(tmp_path, src, monkeypatch):
    calls = []
    real = artifacts.fetch
    monkeypatch.setattr(artifacts, "fetch", lambda *a, **k: calls.append(1) or real(*a, **k))
    stager = Stager(cache=tmp_path / "cache", resolve=lambda name: art(src))
    threads = [threading.Thread(target=stager.local, args=("calicoctl",)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_engine_uploads_artifacts_before_the_task_and_only_once(tmp_path, src):
    remote = FakeRemote()
    stager = Stager(cache=tmp_path / "cache", resolve=lambda name: art(src))
    task = Task(
        "install calicoctl",
        check="test -x /usr/local/bin/calicoctl",
        run=("install -m 0755 /var/cache/labgen/calicoctl /usr/local/bin/",),
        artifacts=("calicoctl",),
    )
    assert engine.apply_task(remote, "n1", "calico", task, stager) is True
    assert remote.files[("n1", "/var/cache/labgen/calicoctl")] == DATA.decode()
    remote.commands.clear()
    assert engine.apply_task(remote, "n1", "calico", task, stager) is False
    assert not any(c.startswith("put ") for _, c in remote.commands)


@pytest.mark.parametrize("on_node", ["stale copy\n", DATA.decode()[:-1], ""])
def test_a_stale_or_corrupt_copy_on_the_node_is_replaced(tmp_path, src, on_node):
    remote = FakeRemote()
    path = "/var/cache/labgen/calicoctl"
    remote.files[("n1", path)] = on_node
    assert artifacts.upload(remote, "n1", art(src), src / "calicoctl") is True
    assert remote.files[("n1", path)] == DATA.decode()
    assert ("n1", f"put {path}") in remote.commands


def test_a_good_copy_on_the_node_is_kept(tmp_path, src):
    remote = FakeRemote()
    remote.files[("n1", "/var/cache/labgen/calicoctl")] = DATA.decode()
    assert artifacts.upload(remote, "n1", art(src), src / "calicoctl") is False
    assert remote.commands == []


class TruncatingRemote(FakeRemote):
    """A node whose disk keeps only part of what is sent (full disk, broken transfer)."""

    def put_file(self, node, content, path, mode="0644", owner="root"):
        super().put_file(node, content, path, mode, owner)
        self.files[(node, path)] = self.files[(node, path)][:100]


def test_a_copy_that_arrives_damaged_is_an_error(tmp_path, src):
    from labgen.errors import LabgenError

    remote = TruncatingRemote()
    with pytest.raises(LabgenError) as err:
        artifacts.upload(remote, "n1", art(src), src / "calicoctl")
    assert err.value.message.startswith("n1: artifact calicoctl at /var/cache/labgen/calicoctl has sha256 ")
    assert err.value.message.endswith(f"after upload, expected {GOOD}")


def test_an_unpinned_artifact_is_checked_against_the_host_copy(tmp_path, src):
    from labgen.errors import LabgenError

    unpinned = Artifact("calicoctl", (src / "calicoctl").as_uri(), None, "calicoctl")
    remote = FakeRemote()
    assert artifacts.upload(remote, "n1", unpinned, src / "calicoctl") is True
    assert artifacts.upload(remote, "n1", unpinned, src / "calicoctl") is False
    with pytest.raises(LabgenError, match="after upload"):
        artifacts.upload(TruncatingRemote(), "n1", unpinned, src / "calicoctl")


def test_failed_fetch_fails_the_task_and_writes_nothing(tmp_path, src):
    remote = FakeRemote()
    from labgen.model import File

    stager = Stager(cache=tmp_path / "cache", resolve=lambda name: art(src, sha="1" * 64))
    task = Task(
        "calicoctl",
        files=(File("/etc/calico/calicoctl.cfg", "x"),),
        check="false",
        run=("touch /done",),
        artifacts=("calicoctl",),
    )
    with pytest.raises(TaskError) as err:
        engine.apply_task(remote, "n1", "calico", task, stager)
    assert err.value.message.startswith("n1: role calico, task 'calicoctl': artifact calicoctl: ")
    assert "expected " + "1" * 64 in err.value.message
    assert remote.files == {} and remote.commands == []


def test_undeclared_artifact_is_a_clean_error(monkeypatch):
    monkeypatch.setattr(artifacts, "declared", lambda: {})
    with pytest.raises(ArtifactError, match="not declared in labgen/provision/pins.py"):
        artifacts.resolve("nope")


# ---- labgen fetch


def test_fetch_command_summary_and_exit_code(tmp_path, src, monkeypatch):
    from labgen import plan
    from labgen.cli import main

    good, bad = art(src), Artifact("gone", (src / "gone").as_uri(), GOOD, "gone")
    monkeypatch.setenv("LABGEN_CACHE", str(tmp_path / "c"))
    monkeypatch.setattr(plan, "lab_artifacts", lambda lab: ["calicoctl", "gone"])
    monkeypatch.setattr(artifacts, "resolve", {"calicoctl": good, "gone": bad}.__getitem__)
    monkeypatch.setattr("sys.argv", ["labgen", "fetch", "mesos-calico", "--dir", str(tmp_path / "lab")])
    from labgen import console

    monkeypatch.setattr(console, "_console", console.make_console(width=200))
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    assert (tmp_path / "c" / "artifacts" / "calicoctl").read_bytes() == DATA
    assert list(lockfile.load(tmp_path / "lab" / "labgen.lock").entries) == ["calicoctl"]


def test_lab_artifacts_collects_from_every_distro(monkeypatch):
    from labgen.plan import lab_artifacts
    from labgen.provision import engine as eng

    lab = Lab(
        "t",
        "",
        ipaddress.ip_network("192.168.56.0/24"),
        {},
        (Node("n1", ipaddress.ip_address("192.168.56.101"), ("calico",), 512, 1),),
    )
    monkeypatch.setattr(
        eng,
        "node_plan",
        lambda lab, node, facts: [("calico", [Task("a", artifacts=(f"bin-{facts.distro}", "shared"))])],
    )
    assert lab_artifacts(lab) == ["bin-ubuntu-16.04", "shared", "bin-debian-12"]


# ---- aptproxy (pure parts)


def test_host_archive_from_deb822_and_one_line(tmp_path):
    apt = tmp_path / "etc" / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nEnabled: no\nURIs: http://off.example/debian\n\n"
        "Types: deb deb-src\n# a comment\nURIs: http://deb.example.org/debian\nSuites: bookworm\n"
    )
    assert aptproxy.host_archive_url(tmp_path) == "http://deb.example.org/debian/"
    (apt / "sources.list").write_text("deb [signed-by=/k.gpg] http://one.example/debian/ bookworm main\n")
    assert aptproxy.host_archive_url(tmp_path) == "http://one.example/debian/"
    (apt / "sources.list").write_text("deb cdrom:[Debian]/ bookworm main\n")
    (apt / "sources.list.d" / "debian.sources").unlink()
    assert aptproxy.host_archive_url(tmp_path) == aptproxy.FALLBACK_ARCHIVE


def test_proxy_url_is_the_lab_hosts_address():
    lab = Lab("t", "", ipaddress.ip_network("192.168.56.0/24"), {}, ())
    assert aptproxy.proxy_url(lab) == "http://192.168.56.1:3142"


def test_proxy_config_binds_only_the_given_addresses(tmp_path):
    text = aptproxy.render_config(tmp_path, ["192.168.56.1", "127.0.0.1"], 3142)
    assert "BindAddress: 192.168.56.1 127.0.0.1\n" in text and "Port: 3142\n" in text
    assert "PassThroughPattern: ^[^/:]+:443$" in text and "file:backends_debian" in text


# ---- found by mutation testing: the small rules, exactly


@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1024**2 - 1, "1024.0 KiB"),
        (1024**2, "1.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**4, "3072.0 GiB"),
    ],
)
def test_sizes_read_as_people_write_them(n, text):
    assert artifacts.size_text(n) == text


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("LABGEN_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert artifacts.cache_dir() == tmp_path / ".cache" / "labgen" / "artifacts"
    monkeypatch.setenv("LABGEN_CACHE", "~/elsewhere")
    assert artifacts.cache_dir() == tmp_path / "elsewhere" / "artifacts"


def test_failures_say_how_to_supply_the_file(tmp_path, src):
    with pytest.raises(ArtifactError) as err:
        fetch(Artifact("x", (src / "nope").as_uri(), GOOD, "nope"), tmp_path / "c")
    assert err.value.hint == "`labgen fetch LAB` fills the cache ahead of time on a connected machine"
    assert err.value.message.endswith(
        f"put nope (sha256 {GOOD}) in {tmp_path / 'c'}/ or pass --artifacts DIR holding it"
    )


def test_resolve_hints_where_to_declare(monkeypatch):
    monkeypatch.setattr(artifacts, "declared", lambda: {})
    with pytest.raises(ArtifactError) as err:
        artifacts.resolve("nope")
    assert err.value.hint == "declare it there with its URL and sha256"


def test_declared_accepts_a_mapping_or_a_sequence(monkeypatch):
    from labgen.provision import pins

    a = Artifact("a", "http://x/a", None, "a")
    monkeypatch.setattr(pins, "ARTIFACTS", {"a": a})
    assert artifacts.declared() == {"a": a}
    monkeypatch.setattr(pins, "ARTIFACTS", [a])
    assert artifacts.declared() == {"a": a}


def test_a_stick_copy_goes_into_a_cache_that_does_not_exist_yet(tmp_path, src):
    cache = tmp_path / "deep" / "er" / "cache"
    path = fetch(art(src), cache, artifacts_dir=src)
    assert path == cache / "calicoctl" and path.read_bytes() == DATA
    assert fetch(art(src), cache, artifacts_dir=src) == cache / "calicoctl"  # and again: it exists


def test_a_good_cached_copy_wins_over_a_good_stick_copy(tmp_path, src, monkeypatch):
    cache = tmp_path / "cache"
    fetch(art(src), cache)
    copies = []
    monkeypatch.setattr(artifacts, "_into_cache", lambda *a: copies.append(a))
    assert fetch(art(src), cache, artifacts_dir=src) == cache / "calicoctl" and copies == []


def test_download_reports_progress_and_keeps_nothing_partial(tmp_path, src):
    seen = []
    fetch(art(src), tmp_path / "c", progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, len(DATA)) and seen[-1] == (len(DATA), len(DATA))
    with pytest.raises(ArtifactError) as err:
        fetch(art(src, sha="0" * 64), tmp_path / "d")
    assert f"got sha256 {GOOD}, expected {'0' * 64} ({artifacts.size_text(len(DATA))} received)" in err.value.message
    assert list((tmp_path / "d").iterdir()) == []


def test_upload_installs_root_owned_0644_and_checks_unpinned_against_the_host_copy(src):
    from tests.unit.test_engine import RecordingRemote

    remote = RecordingRemote()
    assert artifacts.upload(remote, "n1", art(src), src / "calicoctl") is True
    assert remote.puts == [("/var/cache/labgen/calicoctl", "0644", "root")]


def test_stager_passes_its_settings_to_fetch(tmp_path, monkeypatch):
    got = {}

    def fake_fetch(artifact, cache, artifacts_dir, progress, *, timeout, lock, frozen, mirrors):
        got.update(
            cache=cache,
            artifacts_dir=artifacts_dir,
            progress=progress,
            timeout=timeout,
            lock=lock,
            frozen=frozen,
            mirrors=mirrors,
        )
        return tmp_path / "x"

    monkeypatch.setattr(artifacts, "fetch", fake_fetch)
    progress = lambda *a: None  # noqa: E731
    monkeypatch.setenv(artifacts.ARTIFACTS_ENV, str(tmp_path / "usb"))
    from labgen.lockfile import Lock

    lock, mirrors = Lock(None), object()
    stager = Stager(
        cache=tmp_path / "c",
        progress=progress,
        timeout=7.0,
        lock=lock,
        frozen=True,
        mirrors=mirrors,
        resolve=lambda n: Artifact(n, "http://x/" + n, None, n),
    )
    stager.local("a")
    assert got == dict(
        cache=tmp_path / "c",
        artifacts_dir=tmp_path / "usb",
        progress=progress,
        timeout=7.0,
        lock=lock,
        frozen=True,
        mirrors=mirrors,
    )
    assert Stager(artifacts_dir=tmp_path / "stick").artifacts_dir == tmp_path / "stick"  # wins over the env
    monkeypatch.delenv(artifacts.ARTIFACTS_ENV)
    assert Stager().artifacts_dir is None and Stager().timeout == 30.0


def test_sha256_of_a_file_larger_than_one_read(tmp_path):
    big = tmp_path / "big"
    payload = bytes(range(256)) * 9000  # > 2 MiB: several blocks
    big.write_bytes(payload)
    assert artifacts.sha256_file(big) == hashlib.sha256(payload).hexdigest()


# ---- found by mutation testing (2): what obtain reports and records, exactly


def usb_with(tmp_path, data=DATA):
    usb = tmp_path / "usb"
    usb.mkdir(exist_ok=True)
    (usb / "calicoctl").write_bytes(data)
    return usb


@pytest.mark.parametrize("where", ["supplied-and-cached", "supplied", "cached", "downloaded"])
def test_obtain_says_where_the_file_came_from_and_records_it(tmp_path, src, where):
    cache = tmp_path / "cache"
    usb = usb_with(tmp_path) if where.startswith("supplied") else None
    if where in ("supplied-and-cached", "cached"):
        cache.mkdir()
        (cache / "calicoctl").write_bytes(DATA)
    a = art(src, sha=None)
    for entry, locked in (
        (None, "new"),
        (Entry("https://old.example/c", "calicoctl", 3, "0" * 64), "replaced"),
        (Entry(a.url, "calicoctl", len(DATA), GOOD), ""),
    ):
        lock = Lock(None, {"calicoctl": entry} if entry else {})
        got = obtain(a, cache, usb, lock=lock)
        assert got == artifacts.Fetched(cache / "calicoctl", where.split("-")[0], locked)
        assert lock.get("calicoctl") == Entry(a.url, "calicoctl", len(DATA), GOOD)
        if where in ("supplied", "downloaded"):
            (cache / "calicoctl").unlink()  # the same way again next round


def test_a_supplied_copy_goes_into_an_existing_cache(tmp_path, src):
    cache = tmp_path / "cache"
    cache.mkdir()
    got = obtain(art(src), cache, usb_with(tmp_path))
    assert got.path == cache / "calicoctl" and got.path.read_bytes() == DATA


def test_a_supplied_copy_is_used_in_place_when_the_cache_cannot_be_made(tmp_path, src):
    (tmp_path / "file").write_text("not a dir")
    usb = usb_with(tmp_path)
    got = obtain(art(src), tmp_path / "file" / "cache", usb)
    assert got.path == usb / "calicoctl" and got.source == "supplied"


def test_a_wrong_supplied_copy_says_what_to_do(tmp_path, src):
    usb = usb_with(tmp_path, b"other")
    with pytest.raises(ArtifactError) as err:
        fetch(art(src), tmp_path / "cache", artifacts_dir=usb)
    assert err.value.message == (
        f"artifact calicoctl: {usb / 'calicoctl'} (from --artifacts) has sha256 "
        f"{hashlib.sha256(b'other').hexdigest()} (5 bytes), expected {GOOD} (labgen's pin); replace it, "
        "or drop --artifacts to use the cache or the network"
    )


def test_lock_problems_have_their_hints(tmp_path, src):
    stale = Lock(None, {"calicoctl": Entry("https://old.example/c", "calicoctl", 3, "0" * 64)})
    with pytest.raises(ArtifactError) as err:
        fetch(art(src, sha=None), tmp_path / "c", lock=stale, frozen=True)
    assert err.value.hint == "run `labgen fetch LAB` without --frozen, review the change to the lock and commit it"
    with pytest.raises(ArtifactError) as err:
        fetch(art(src, sha=None), tmp_path / "c", lock=Lock(None), frozen=True)
    assert err.value.hint == (
        "run `labgen fetch LAB` without --frozen on a connected machine once, then review and commit the lock file"
    )


def test_a_lock_that_disagrees_with_the_pin_is_refused(tmp_path, src):
    a = art(src)
    lock = Lock(tmp_path / "labgen.lock", {"calicoctl": Entry(a.url, "calicoctl", len(DATA), "0" * 64)})
    with pytest.raises(ArtifactError) as err:
        fetch(a, tmp_path / "c", lock=lock)
    assert err.value.message == (
        f"artifact calicoctl: {tmp_path / 'labgen.lock'} has sha256 {'0' * 64}, but labgen pins {GOOD} for {a.url}"
    )
    assert err.value.hint == "the lock is wrong: remove its entry for this artifact and fetch again"
    assert not (tmp_path / "c").exists()
    agreeing = Lock(None, {"calicoctl": Entry(a.url, "calicoctl", len(DATA), GOOD)})
    assert fetch(a, tmp_path / "c", lock=agreeing).read_bytes() == DATA


def test_an_upper_case_pin_is_accepted(tmp_path, src):
    assert fetch(art(src, sha=GOOD.upper()), tmp_path / "c").read_bytes() == DATA


def test_the_node_copy_is_checked_against_the_pin_not_the_host_file(tmp_path, src):
    """The pin is what a node must hold: a host file that differs from it is no reference."""
    odd = tmp_path / "odd"
    odd.write_bytes(b"not the pinned bytes")
    remote = FakeRemote()
    remote.files[("n1", "/var/cache/labgen/calicoctl")] = DATA.decode()
    assert artifacts.upload(remote, "n1", art(src, sha=GOOD.upper()), odd) is False


def test_a_stager_without_a_lock_locks_in_memory_and_is_not_frozen(tmp_path, src):
    stager = Stager(cache=tmp_path / "cache", resolve={"calicoctl": art(src, sha=None)}.__getitem__)
    assert stager.local("calicoctl")[1].read_bytes() == DATA
    assert stager.lock.get("calicoctl").sha256 == GOOD and stager.frozen is False
    remote = FakeRemote()
    assert stager.stage(remote, "n1", ["calicoctl"]) == ["calicoctl"]
    assert stager.stage(remote, "n1", ["calicoctl"]) == []


def test_a_lock_file_that_cannot_be_written_is_an_artifact_error_of_the_task(tmp_path, src):
    (tmp_path / "file").write_text("not a dir")
    lock = Lock(tmp_path / "file" / "labgen.lock")
    stager = Stager(cache=tmp_path / "cache", resolve=lambda name: art(src, sha=None), lock=lock)
    with pytest.raises(ArtifactError) as err:
        stager.local("calicoctl")
    assert err.value.message.startswith(f"{tmp_path / 'file' / 'labgen.lock'}: cannot write the lock file: ")
    assert type(err.value) is ArtifactError
