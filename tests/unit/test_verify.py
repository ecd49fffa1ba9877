"""scenario verify's own logic: normalising, the transcript text, comparing, what changed on
the nodes, JUnit; and the scenario's `normalise:` section validated like every field."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labgen import yamlsrc
from labgen.errors import InputError
from labgen.labfile import find_lab, load_lab
from labgen.scenario import verify as vf
from labgen.scenario.load import parse_scenario
from labgen.scenario.record import load_record

RECORD = Path(__file__).resolve().parents[1] / "data" / "records" / "mac-bug.json"


@pytest.fixture(scope="module")
def record():
    return load_record(RECORD)


def norm(record):
    lab = record.lab or load_lab(find_lab("mesos-calico"))
    return vf.normaliser(record.scenario, lab), lab


def test_normaliser_masks_volatile_and_keeps_the_story(record):
    normalise, lab = norm(record)
    ip = str(lab.nodes[1].ip)
    text = (
        f"64 bytes from 172.32.3.10: icmp_seq=1 ttl=62 time=0.061 ms\n"
        f"rtt min/avg/max/mdev = 0.05/0.06/0.07/0.01 ms\n"
        f"12:01:02.123456 5a:1b:2c:3d:4e:5f > ee:ee:ee:ee:ee:ee, id 4711, seq 1\n"
        f"via {ip} dev eth1; cali0@if12; link/ether ee:aa:66:53:32:86\n"
        f"{ip}0 is not a node"
    )
    out = normalise(text)
    assert "time=<t> ms" in out and "mdev = <t> ms" in out
    assert "<clock> <mac> > ee:ee:ee:ee:ee:ee, id <id>, seq 1" in out  # named MACs stay
    assert f"via <ip:{lab.nodes[1].name}> dev eth1" in out and "@if<n>" in out
    assert "ee:aa:66:53:32:86" in out  # the story's MAC stays
    assert f"{ip}0 is not a node" in out  # no partial address match


def test_scenario_rules_apply_after_builtins_and_replace_literally(record):
    from dataclasses import replace

    sc = replace(record.scenario, normalise=(("STALE$", r"<\1>"),))
    normalise = vf.normaliser(sc, record.lab or load_lab(find_lab("mesos-calico")))
    assert normalise("dev cali0 lladdr aa STALE") == r"dev cali0 lladdr aa <\1>"


def test_transcript_round_trip_and_drift(record):
    normalise, _ = norm(record)
    secs = vf.sections(record, normalise)
    text = vf.render(record, secs)
    parsed = vf.parse(text)
    assert list(parsed) == [s.key for s in secs]
    assert vf.compare(parsed, secs).ok
    changed = [vf.Section(s.key, s.title, s.body) for s in secs]
    changed[1].body += "\nsomething new"
    verdict = vf.compare(parsed, changed)
    assert [d.key for d in verdict.drifts] == [secs[1].key]
    assert "+something new" in verdict.drifts[0].diff
    missing = vf.compare(parsed, secs[:-1])  # a step that no longer ran
    assert [d.key for d in missing.drifts] == [secs[-1].key]


def test_repeated_step_ids_get_their_own_sections(record):
    from dataclasses import replace

    normalise, _ = norm(record)
    doubled = replace(record, steps=record.steps + record.steps[:1])
    keys = [s.key for s in vf.sections(doubled, normalise)]
    assert keys[-1] == f"{record.steps[0].step.id}#2" and len(set(keys)) == len(keys)


def test_env_changes_name_the_package():
    old = vf.env_text("0.1.0", "lxc", "abc", {"ubuntu-2": {"iproute2": "6.1.0-3", "gone": "1"}, "x": {"a": "1"}})
    new = vf.env_text("0.2.0", "lxc", "abc", {"ubuntu-2": {"iproute2": "6.1.0-4", "new": "2"}})
    changes = vf.env_changes(old, new)
    assert "labgen: 0.1.0 -> 0.2.0" in changes
    assert "ubuntu-2: package iproute2 6.1.0-3 -> 6.1.0-4" in changes
    assert "ubuntu-2: package gone 1 -> (removed)" in changes
    assert "ubuntu-2: package new (not installed) -> 2" in changes
    assert not any(c.startswith("x:") for c in changes)  # a node only one side has
    assert vf.env_changes(old, old) == []


def test_junit_parses_and_carries_the_diff():
    verdict = vf.Verdict(
        drifts=[vf.Drift("greet", "Greet <&>", "-a\n+b")],
        matched=["one", "two"],
        env_changes=["ubuntu-2: package p 1 -> 2"],
    )
    root = ET.fromstring(vf.junit_xml("s", "default", verdict, 1.5))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='greet']/failure")
    assert failure is not None and "Greet <&>" in failure.get("message", "")
    assert "-a\n+b" in (failure.text or "") and "package p 1 -> 2" in (failure.text or "")


def test_parse_packages_ignores_garbage():
    assert vf.parse_packages("a 1\n\nbad\nb 2 extra\nc 3\n") == {"a": "1", "c": "3"}


BASE = """\
id: n
title: {en: T, zh: 题}
summary: {en: S, zh: 概}
lab: mesos-calico
steps:
  - {id: a, kind: explain, title: {en: A, zh: 甲}, explain: {en: E, zh: 乙}}
"""


def load(extra):
    return parse_scenario(yamlsrc.load_text(BASE + extra, "n.yml"), "n.yml")


def test_normalise_section_loads():
    sc = load("normalise:\n  - {match: 'STALE$', replace: '<state>'}\n")
    assert sc.normalise == (("STALE$", "<state>"),)


@pytest.mark.parametrize(
    "extra, words",
    [
        ("normalise: {match: x}\n", "normalise"),
        ("normalise:\n  - {match: '(', replace: x}\n", "not a valid regular expression"),
        ("normalise:\n  - {match: x, replace: x, flags: i}\n", "unknown key 'flags'"),
        ("normalise:\n  - {match: x}\n", "missing key 'replace'"),
        ('normalise:\n  - {match: x, replace: "a\\x1b[31m"}\n', "replace"),
        ("normalise:\n  - {match: '', replace: x}\n", "match"),
        ("normalise:\n  - x\n", "normalise"),
    ],
)
def test_normalise_section_refuses_bad_rules(extra, words):
    with pytest.raises(InputError) as err:
        load(extra)
    assert words in str(err.value), str(err.value)
    assert "line 7" in str(err.value) or "line 8" in str(err.value)


def test_cli_without_approved_transcript_stops_before_touching_anything(tmp_path):
    from tests.runcli import labgen_sealed

    (tmp_path / "n.yml").write_text(BASE)
    res = labgen_sealed("scenario", "verify", str(tmp_path / "n.yml"), "--dir", str(tmp_path / "lab"), cwd=tmp_path)
    assert res.returncode == 2
    assert "no approved transcript for n variant default" in res.stderr and "--approve" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "lab").exists()
    help_ = labgen_sealed("scenario", "verify", "--help", cwd=tmp_path)
    assert "Exit 0: nothing drifted. Exit 6" in help_.stdout and "--junit" in help_.stdout


@pytest.mark.parametrize("stopped_at", [0, 1, 2])
def test_walkthrough_degraded_cluster_reads_alike_whichever_member_stopped(stopped_at):
    # etcdctl lists members by id (random per lab): the shipped challenge transcript must verify
    # on any lab, wherever the stopped member falls in the list (seen in test_lab_lxc)
    from labgen.scenario.load import find_scenario, load_scenario

    scenario = load_scenario(find_scenario("walkthrough"))
    lab = load_lab(find_lab("mesos-calico"))
    normalise = vf.normaliser(scenario, lab)
    healthy = [
        f"member {i:016x} is healthy: got healthy result from http://192.168.56.10{n}:2379"
        for n, i in ((1, 0x1A2B), (2, 0x3C4D))
    ]
    failing = [
        "failed to check the health of member 9e8f7a6b5c4d3e2f on http://192.168.56.103:2379: Get "
        '"http://192.168.56.103:2379/health": dial tcp 192.168.56.103:2379: connect: connection refused',
        "member 9e8f7a6b5c4d3e2f is unreachable: [http://192.168.56.103:2379] are all unreachable",
    ]
    lines = healthy[:stopped_at] + failing + healthy[stopped_at:]
    raw = "\n".join(lines + ["cluster is degraded", ""])
    approved = vf.parse((vf.approved_dir(scenario) / "challenge.txt").read_text())["see-degraded"].body
    stdout = approved.split("[stdout]\n", 1)[1]
    assert normalise(raw).rstrip("\n") == stdout
