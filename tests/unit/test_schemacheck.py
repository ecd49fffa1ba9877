"""schemacheck: every kind of schema error in labgen's words (file:line, where, what was
expected, did-you-mean). Golden messages, one broken case each."""

from __future__ import annotations

import pytest

from labgen import schemacheck, yamlsrc
from labgen.validate import Problems

LAB = (
    "name: demo\nnetwork: {cidr: 192.168.56.0/24}\nboxes: {lxc: a/b}\nnodes:\n"
    "  - {name: n1, ip: 192.168.56.11, roles: [base]}\n"
)
SC = "id: s\ntitle: T\nsummary: S\nlab: x\nsteps:\n  - {id: a, kind: observe, title: A, 'on': x, run: ls}\n"


def said(kind: str, data) -> list[str]:
    if isinstance(data, str):
        data = yamlsrc.load_text(data, "f.yml")
    problems = Problems("f.yml")
    schemacheck.check(data, kind, problems)
    return problems.sorted()


CASES = {
    "unknown key, on its own line": (
        "lab",
        LAB + "nmae: x\n",
        [
            "f.yml line 6: lab: unknown key 'nmae' (did you mean 'name'?); expected one of name, description, "
            "network, boxes, defaults, params, synced_folder, nodes, message, mirrors, instance"
        ],
    ),
    "missing key, with the key's description": (
        "lab",
        LAB.replace("boxes: {lxc: a/b}\n", ""),
        [
            "f.yml line 1: lab: missing key 'boxes'; expected the box each provider boots: a name 'owner/name', e.g. {virtualbox: ubuntu/xenial64, lxc: labgen/debian-12}"
        ],
    ),
    "empty mapping and list": (
        "lab",
        LAB.replace("{lxc: a/b}", "{}").split("nodes:")[0] + "nodes: []\n",
        [
            "f.yml line 3: lab: boxes is an empty mapping; expected at least one of virtualbox, libvirt, lxc",
            "f.yml line 4: lab: nodes is an empty list; expected at least one node: the machines, each with a unique name and address",
        ],
    ),
    "too many items": (
        "lab",
        LAB.split("nodes:")[0]
        + "nodes:\n"
        + "".join(f"  - {{name: n{i}, ip: 192.168.56.{i + 10}, roles: []}}\n" for i in range(101)),
        [
            "f.yml line 4: lab: nodes has 101 items; expected at most 100: the machines, each with a unique name and address"
        ],
    ),
    "range, integer, with the field's description": (
        "lab",
        LAB.replace("roles: [base]", "roles: [base], cpus: 65"),
        ["f.yml line 5: lab.nodes[0]: cpus 65 is too large; expected an integer from 1 to 64 (number of CPUs)"],
    ),
    "range, exclusive minimum": (
        "scenario",
        SC.replace("run: ls}", "run: ls, timeout: 0}"),
        [
            "f.yml line 6: scenario.steps[0]: timeout 0 is too small; expected a number more than 0 and at most "
            "3600 (seconds the command may take)"
        ],
    ),
    "enum with did-you-mean": (
        "lab",
        LAB.replace("[base]", "[base, dockr]"),
        [
            "f.yml line 5: lab.nodes[0].roles: unknown role 'dockr' (did you mean 'docker'?); expected one of base, etcd, zookeeper, docker, calico, calico-network, mesos-master, mesos-slave, marathon, marathon-app"
        ],
    ),
    "listed twice": (
        "lab",
        LAB.replace("[base]", "[base, docker, docker]"),
        ["f.yml line 5: lab.nodes[0]: role 'docker' is listed twice; expected each role once"],
    ),
    "pattern, with an example": (
        "lab",
        LAB.replace("name: demo", "name: Demo"),
        [
            "f.yml line 1: lab: name 'Demo' is not valid; expected an RFC 1123 label: lowercase letters, digits and hyphens, at most 63 characters, not starting or ending with a hyphen, e.g. mesos-calico"
        ],
    ),
    "too long": (
        "lab",
        LAB + "description: " + "x" * 2001 + "\n",
        [
            "f.yml line 6: lab: description is 2001 characters long; expected plain text of at most 2000 characters "
            "(newlines allowed, no other control characters)"
        ],
    ),
    "type, in a list": (
        "lab",
        LAB + "  - 3\n",
        [
            "f.yml line 6: lab.nodes: the node is 3 (a number); expected a machine: its name, address and roles, e.g. {name: ubuntu-1, ip: 192.168.56.101, roles: [base, docker]}"
        ],
    ),
    "one of: the parent's description": (
        "scenario",
        SC.replace("title: T", "title: {}"),
        [
            "f.yml line 2: scenario: title is an empty mapping; expected non-empty text: a plain string in one language, or {en: ..., zh: ...} with either or both (a reader of the other language sees what exists), e.g. Look at the MAC"
        ],
    ),
    "one of: exit": (
        "scenario",
        SC.replace("run: ls}", "run: ls, expect: {exit: 300}}"),
        [
            "f.yml line 6: scenario.steps[0].expect: exit is 300 (a number); expected 0, nonzero, any, or an exit "
            "status 0..255"
        ],
    ),
    "dependent keys": (
        "scenario",
        SC.replace("'on': x, ", ""),
        ["f.yml line 6: scenario.steps[0]: 'run' is given without 'on'; expected 'on' as well, or no 'run'"],
    ),
    "dependent keys, the one given": (
        "scenario",
        SC.replace("'on': x, run: ls", "expect: {exit: 0}"),
        [
            "f.yml line 6: scenario.steps[0]: 'expect' is given without 'run'; expected 'run' as well, or no 'expect'",
            "f.yml line 6: scenario.steps[0]: missing key 'run'; expected a shell script: every step but an explain step has one",
        ],
    ),
    "missing key behind a $ref": (
        "lab",
        LAB.replace("name: demo\n", ""),
        [
            "f.yml line 1: lab: missing key 'name'; expected the lab's name, used in machine names "
            "(labgen-<name>-<node>), e.g. mesos-calico"
        ],
    ),
    "one of several types": (
        "scenario",
        SC + "vars: {x: [1]}\n",
        ["f.yml line 7: scenario.vars: x is a list; expected a string or a number"],
    ),
    "range without a description": (
        "bundle",
        {"format": 1, "lab": "x", "items": [{"kind": "lab", "name": "x", "size": -1, "sha256": "a" * 64}]},
        ["f.yml: bundle.items[0]: size -1 is too small; expected an integer from 0 to 1099511627776"],
    ),
    "one of, without a description of its own": (
        "scenario",
        SC.replace("kind: observe, title: A, 'on': x, run: ls", "kind: question, title: Q, goal: G, answers: []"),
        [
            "f.yml line 6: scenario.steps[0]: answers is an empty list; expected accepted answers (compared ignoring case, spaces and : - . _)"
        ],
    ),
    "a name that is not allowed": (
        "scenario",
        SC + "variants: {default: {steps: [{use: a}]}}\n",
        [
            "f.yml line 7: scenario.variants: variant name 'default' is the name of the steps at the top; expected a variant name: an id other than default (the steps at the top are the default)"
        ],
    ),
    "const": ("lock", {"version": 2}, ["f.yml: lock: version is 2 (a number); expected 1"]),
    "conditional requirement": (
        "bundle",
        {"format": 1, "lab": "x", "items": [{"kind": "box", "name": "a/b", "size": 1, "sha256": "a" * 64}]},
        ["f.yml: bundle.items[0]: missing key 'provider'; expected a box item's provider: virtualbox, libvirt or lxc"],
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_schema_errors_in_labgens_words(name):
    kind, data, expected = CASES[name]
    assert said(kind, data) == expected


def test_a_valid_file_has_nothing_to_say():
    assert said("lab", LAB) == [] and said("scenario", SC) == []


def test_the_root_of_a_wrong_document():
    assert said("lab", "- a\n") == [
        "f.yml line 1: lab: the file holds a list; expected a mapping with keys name, network, boxes, nodes"
    ]
    assert said("lab", "") == [
        "f.yml: lab: the file is empty; expected a mapping with keys name, network, boxes, nodes"
    ]


def test_every_pattern_and_range_says_what_it_wants():
    from labgen import schemas

    def walk(node, path):
        if isinstance(node, dict):
            if "pattern" in node:
                assert "description" in node, path
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    for kind in schemas.KINDS:
        walk(schemas.load(kind), kind)


def test_expected_reads_description_and_example():
    from labgen.schemacheck import expected_of

    assert expected_of({"description": "A box name."}) == "a box name"
    assert expected_of({"examples": ["a/b"]}) == "e.g. a/b"
    assert expected_of({"description": "A box.", "examples": ["a/b"]}) == "a box, e.g. a/b"
    assert expected_of({"description": "A map.", "examples": [{"a": [1, True]}]}) == "a map, e.g. {a: [1, true]}"
    assert expected_of({}) is None


def test_a_rule_without_words_of_its_own_says_jsonschemas():
    from jsonschema import Draft202012Validator

    from labgen.schemacheck import _say

    error = next(Draft202012Validator({"multipleOf": 2, "description": "Even."}).iter_errors(3))
    assert _say(error, error.schema, "n", "lab", {}, alone=True) == ("n: 3 is not a multiple of 2", "even")


def test_a_patterns_end_is_the_end_of_the_text():
    # ECMA-262's $; Python's $ also matches before a final newline, which would let
    # "demo\n" through as a name that reaches a shell and a Vagrantfile.
    assert said("lab", LAB.replace("name: demo", 'name: "demo\\n"')) == [
        "f.yml line 1: lab: name 'demo\\n' is not valid; expected an RFC 1123 label: lowercase letters, digits and "
        "hyphens, at most 63 characters, not starting or ending with a hyphen, e.g. mesos-calico"
    ]


def test_problems_come_in_the_documents_order_whatever_the_hash_seed():
    # jsonschema walks additionalProperties in set order; two problems on one line must
    # still come in the file's order on every run.
    import os
    import subprocess
    import sys

    code = (
        "from tests.unit.test_schemacheck import said, SC\n"
        "print(said('scenario', SC + 'vars: {b: [1], a: [2], c: true, d: {}}\\n'))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(seen) == 1
    out = seen.pop()
    assert [out.index(f"vars: {name} is") for name in "bacd"] == sorted(
        out.index(f"vars: {name} is") for name in "bacd"
    )


# A schema of every form the walker knows, none with words of its own (no title, description
# or example): what labgen says then, for formats to come. Kind "toy" exists only here.
TOY = {
    "type": "object",
    "required": ["need"],
    "additionalProperties": False,
    "properties": {
        "need": {"type": "object"},
        "10": {"type": "integer"},
        "nums": {"type": "array", "minItems": 1, "items": {"type": "integer"}},
        "picks": {"type": "array", "items": {"enum": ["a", "b"]}},
        "either": {"oneOf": [{"enum": ["a", "b"]}, {"type": "integer"}]},
        "any": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
        "one": {"const": 1, "title": "unit"},
        "both": {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
        "fine": {"type": "integer"},
        "nope": {"not": {"const": "x"}},
        "inner": {
            "type": "object",
            "required": ["deep"],
            "additionalProperties": False,
            "properties": {"deep": {"type": "string"}},
        },
        "names": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$", "description": "Lowercase."}},
        "bare": {"type": "object", "additionalProperties": False},
        "some": {"type": "object", "minProperties": 1},
    },
}
TOY_TEXT = """\
100: 1
nums: []
picks: [a, c]
either: c
any: x
one: 2
nope: x
inner: {deep: 1, extra: 2}
names: {Bad: 1}
bare: {a: 1}
some: {}
both: 1
fine: 1
"""


@pytest.fixture
def toy(monkeypatch):
    real = schemacheck.schemas.load
    monkeypatch.setattr(schemacheck.schemas, "load", lambda kind: TOY if kind == "toy" else real(kind))

    def check(data, where=None):
        if isinstance(data, str):
            data = yamlsrc.load_text(data, "f.yml")
        problems = Problems("f.yml")
        invalid = schemacheck.check(data, "toy", problems, where=where)
        return problems.sorted(), invalid

    return check


def test_a_schema_without_words_still_gets_messages_that_read(toy):
    said, invalid = toy(TOY_TEXT)
    assert said[:-1] + [said[-1].split(" {")[0]] == [
        "f.yml line 1: toy: missing key 'need'",
        # (a key that is not a string gets no guess: 100 is no misspelt "10")
        "f.yml line 1: toy: unknown key 100; expected one of need, 10, nums, picks, either, any, one, both, fine, "
        "nope, inner, names, bare, some",
        "f.yml line 2: toy: nums is an empty list; expected at least one item",
        "f.yml line 3: toy.picks: unknown item 'c'; expected one of a, b",
        "f.yml line 4: toy: either is 'c' (a string); expected one of a, b",
        "f.yml line 5: toy: any is 'x' (a string); expected an integer",
        "f.yml line 6: toy: one is 2 (a number); expected 1",
        "f.yml line 7: toy: nope 'x' is not allowed",
        "f.yml line 8: toy.inner: unknown key 'extra'; expected one of deep",
        "f.yml line 8: toy.inner: deep is 1 (a number); expected a string",
        "f.yml line 9: toy.names: key 'Bad' is not valid; expected lowercase",
        "f.yml line 10: toy.bare: unknown key 'a'; expected no keys",
        "f.yml line 11: toy: some is an empty mapping; expected at least one key",
        "f.yml line 12: toy: both: 1 is valid under each of",  # (jsonschema's words: it fits both forms)
    ]
    # an unknown key's value went unchecked: the caller's rules must not read it; known keys' may be
    assert not invalid.ok(100) and not invalid.ok("inner", "extra") and invalid.ok("fine")
    assert invalid.ok("inner") and not invalid.clean("inner")


def test_a_wrong_document_without_lines_or_required_keys(toy, monkeypatch):
    assert toy([1])[0] == ["f.yml line 1: toy: the file holds a list; expected a mapping with keys need"]
    monkeypatch.setitem(TOY, "required", [])
    assert toy([1])[0] == ["f.yml line 1: toy: the file holds a list; expected a mapping"]
    assert toy({"need": {}, "nums": [1, "two"]})[0] == [
        "f.yml: toy.nums: item 2 is 'two' (a string); expected an integer"
    ]


def test_a_field_named_by_the_caller_is_said_in_mapping_problems(toy):
    said, _ = toy("need: {}\ninner: {extra: 1}\n", where=lambda data, path: ("toy", path))
    assert said == [
        "f.yml line 2: toy: missing key 'deep' in inner",
        "f.yml line 2: toy: inner has unknown key 'extra'; expected one of deep",
    ]


def test_expected_and_rendered_text_at_their_edges():
    from labgen.schemacheck import expected_of, render

    assert expected_of({"description": "Python's regular expression."}) == "Python's regular expression"
    assert expected_of({"description": "IPv4 Address."}) == "IPv4 Address"
    assert expected_of({"description": "Some box X."}) == "some box X"
    assert render(("Xen", 0, "b")) == "Xen[0].b"


def test_a_rule_about_the_whole_file(monkeypatch):
    real = schemacheck.schemas.load
    small = {"type": "object", "maxProperties": 1}
    monkeypatch.setattr(schemacheck.schemas, "load", lambda kind: small if kind == "toy-file" else real(kind))
    problems = Problems("f.yml")
    schemacheck.check({"a": 1, "b": 2}, "toy-file", problems)
    assert problems.sorted() == ["f.yml line 1: toy-file: the file: {'a': 1, 'b': 2} has too many properties"]
