"""The published JSON Schemas (labgen/schemas): valid draft 2020-12, in step with the code,
and every built-in and test file checked against them by an INDEPENDENT validator
(check-jsonschema, run as a subprocess: it parses YAML with ruamel.yaml, not labgen's loader)."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labgen import schemas, yamlsrc
from labgen.errors import InputError, LabgenError
from labgen.model import PROVIDERS, STEP_KINDS
from labgen.provision.roles import ROLE_NAMES
from tests.runcli import labgen

REPO = Path(__file__).resolve().parents[2]
CHECK = [sys.executable, "-m", "check_jsonschema"]
BUILTIN_LABS = sorted((REPO / "labgen/labs").glob("*.yml"))
BUILTIN_SCENARIOS = sorted((REPO / "scenarios").glob("*.yml"))
GOOD_LABS = BUILTIN_LABS + sorted((REPO / "tests/data/labs").glob("*.yml"))
GOOD_SCENARIOS = BUILTIN_SCENARIOS + [
    REPO / "tests/data/scenarios" / n for n in ("minimal.yml", "full.yml", "challenge.yml")
]
HOSTILE_LABS = sorted((REPO / "tests/data/labs/hostile").glob("*.yml"))
BAD_SCENARIOS = sorted((REPO / "tests/data/scenarios").glob("bad-*.yml")) + [
    REPO / "tests/data/scenarios/challenge-broken.yml"
]


def independent(kind: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CHECK, "--schemafile", str(schemas.path(kind)), *map(str, files)], capture_output=True, text=True, timeout=120
    )


def test_every_schema_is_a_valid_draft_2020_12_schema():
    res = subprocess.run(
        [*CHECK, "--check-metaschema", *(str(schemas.path(k)) for k in schemas.KINDS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    for kind in schemas.KINDS:
        assert schemas.load(kind)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_builtin_and_test_lab_passes_the_independent_validator():
    res = independent("lab", *GOOD_LABS)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(GOOD_LABS) >= 4


def test_every_builtin_and_test_scenario_passes_the_independent_validator():
    res = independent("scenario", *GOOD_SCENARIOS)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_validator_is_not_blind():
    # A file with a typo must fail it, or the two tests above prove nothing.
    res = independent("scenario", REPO / "tests/data/scenarios/bad-unknown-keys.yml")
    assert res.returncode == 1 and "Additional properties are not allowed" in res.stdout, res.stdout


def test_files_the_schema_refuses_labgen_refuses_too():
    """The schema is the structure; labgen adds cross-field rules on top, so it may refuse
    more, never less."""
    from labgen.labfile import load_lab
    from labgen.scenario.load import load_scenario

    from jsonschema import Draft202012Validator

    refused = 0
    for kind, files, load in (("lab", HOSTILE_LABS, load_lab), ("scenario", BAD_SCENARIOS, load_scenario)):
        validator = Draft202012Validator(schemas.load(kind))
        for path in files:
            try:
                data = yamlsrc.load_file(path)
            except InputError:
                continue  # not YAML: nothing for the schema to say
            if validator.is_valid(data):
                continue
            refused += 1
            with pytest.raises(InputError):
                load(path)
    assert refused >= 20


@pytest.mark.parametrize(
    "path, kind", [(p, "lab") for p in BUILTIN_LABS] + [(p, "scenario") for p in BUILTIN_SCENARIOS]
)
def test_builtin_files_carry_the_editor_header_naming_their_schema(path, kind):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    assert (path.parent / match.group(1)).resolve() == schemas.path(kind)


def test_the_schemas_name_the_roles_providers_and_kinds_the_code_knows():
    assert schemas.enum("lab", "$defs/node/properties/roles") == ROLE_NAMES
    assert schemas.enum("scenario", "$defs/requires/properties/roles") == ROLE_NAMES
    assert schemas.keys("lab", "properties/boxes") == PROVIDERS
    assert schemas.enum("classroom", "properties/provider") == PROVIDERS
    assert schemas.enum("bundle", "$defs/item/properties/provider") == PROVIDERS
    kinds = schemas.enum("scenario", "$defs/command_step/properties/kind")
    assert kinds == STEP_KINDS
    from labgen.classroom import layout

    assert schemas.bounds("classroom", "properties/seats") == (1, layout.MAX_SEATS)
    assert schemas.max_length("classroom", "properties/name") == layout.MAX_NAME
    assert schemas.node("classroom", "properties/ssh_port")["default"] == layout.DEFAULT_SSH_PORT


def test_files_labgen_writes_pass_the_independent_validator(tmp_path):
    from labgen import bundle, lockfile
    from labgen.classroom import layout

    room = layout.Classroom(
        name="cr1",
        lab="duo",
        seats=3,
        pool=ipaddress.IPv4Network("10.56.0.0/18"),
        provider="lxc",
        ssh_address="192.0.2.7",
        roles=("base",),
    )
    (tmp_path / "classroom.yml").write_text(layout.classroom_text(room))
    lock = lockfile.Lock(tmp_path / "labgen.lock")
    lock.record("calicoctl", lockfile.Entry("https://x.example/calicoctl", "calicoctl", 3, "ab" * 32))
    items = [
        bundle.Item("lab", "duo", 10, "a" * 64),
        bundle.Item("lock", "duo", 5, "b" * 64),
        bundle.Item("box", "labgen/debian-12", 7, "c" * 64, "lxc"),
    ]
    (tmp_path / "manifest.json").write_text(bundle.manifest_text("duo", items))
    for kind, name in (("classroom", "classroom.yml"), ("lock", "labgen.lock"), ("bundle", "manifest.json")):
        res = independent(kind, tmp_path / name)
        assert res.returncode == 0, f"{name}: {res.stdout}{res.stderr}"
    assert layout.load_classroom(tmp_path) == layout.Classroom(**{**room.__dict__, "path": tmp_path.resolve()})


# Golden messages of the formats validated by the schema alone (the lab and scenario loaders'
# messages are pinned in test_labfile.py / test_scenario_load.py).
CLASSROOM = "name: cr1\nlab: duo\nseats: 3\npool: 10.56.0.0/18\nprovider: lxc\n"


@pytest.mark.parametrize(
    "change, said",
    [
        (
            ("provider: lxc", "provider: lxd"),
            "line 5: classroom: unknown provider 'lxd' (did you mean 'lxc'?); expected one of virtualbox, libvirt, lxc",
        ),
        (
            ("seats: 3", "seat: 3"),
            "line 1: classroom: missing key 'seats'; expected how many seats; "
            "line 3: classroom: unknown key 'seat' (did you mean 'seats'?); expected one of name, lab, seats, pool, "
            "provider, ssh_port, ssh_address, roles",
        ),
        (
            ("pool: 10.56.0.0/18", "pool: 10.56.0.1/18"),
            "line 4: classroom: pool: 10.56.0.1/18 has host bits set; expected a network address such as 10.56.0.0/18",
        ),
        (
            ("pool: 10.56.0.0/18", "pool: [10.56.0.0/18]"),
            "line 4: classroom: pool is a list; expected a private IPv4 network; seat N gets its Nth subnet of "
            "the lab network's size, e.g. 10.56.0.0/18",
        ),
        (
            ("name: cr1", "name: a--b"),
            "line 1: classroom: classroom name 'a--b' must start with a lowercase letter and hold only lowercase "
            "letters, digits and single hyphens",
        ),
    ],
)
def test_a_damaged_classroom_yml_names_every_problem_with_its_line(tmp_path, change, said):
    (tmp_path / "classroom.yml").write_text(CLASSROOM.replace(*change))
    from labgen.classroom import layout

    with pytest.raises(LabgenError) as exc:
        layout.load_classroom(tmp_path)
    assert exc.value.message == f"{tmp_path / 'classroom.yml'} is damaged: {said}"
    assert exc.value.hint == "`labgen classroom up` writes it; restore it or run that again"
    assert exc.value.__suppress_context__


def test_a_lock_with_a_rule_only_the_schema_has_is_refused():
    from labgen import lockfile

    text = json.dumps({"version": 1, "comment": 7, "artifacts": {}})
    with pytest.raises(
        lockfile.LockError,
        match=r"x.lock: lock: comment is 7 \(a number\); expected "
        r"a note for readers; labgen ignores it",
    ):
        lockfile.parse(text, "x.lock")


def test_the_yaml_line_numbers_come_from_the_yaml_parser():
    data = yamlsrc.load_text("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yml")
    assert (yamlsrc.line_of(data, "b"), yamlsrc.line_of(data["b"], 1), yamlsrc.line_of(data["b"][1], "c")) == (2, 4, 4)


@pytest.mark.parametrize("kind", schemas.KINDS)
def test_labgen_schema_prints_the_published_schema(kind):
    res = labgen("schema", kind, check=True)
    assert json.loads(res.stdout) == schemas.load(kind)


def test_labgen_schema_refuses_an_unknown_kind():
    res = labgen("schema", "labb")
    assert res.returncode == 2 and "'labb' is not one of 'lab', 'scenario'" in res.stderr


def test_the_editor_workflow_of_the_docs(tmp_path):
    """docs/scenarios.md: `labgen schema scenario > scenario.schema.json` next to the files,
    then the header names it; a validator that follows the header accepts a good file and
    refuses a typo (check-jsonschema stands in for the editor's YAML language server)."""
    import shlex

    cmd = " ".join(shlex.quote(a) for a in (*labgen_argv(), "schema", "scenario"))
    subprocess.run(f"{cmd} > scenario.schema.json", shell=True, cwd=tmp_path, check=True, timeout=60)
    header = "# yaml-language-server: $schema=./scenario.schema.json\n"
    good = header + (
        "id: mine\ntitle: Mine\nsummary: One language is enough.\nlab: mesos-calico\n"
        'steps:\n  - {id: a, kind: observe, title: Look, "on": ubuntu-1, run: ip link}\n'
    )
    (tmp_path / "mine.yml").write_text(good)
    (tmp_path / "typo.yml").write_text(good.replace("run: ip link", "rn: ip link"))
    schema = re.search(r"\$schema=(\S+)", header).group(1)
    ok = subprocess.run(
        [*CHECK, "--schemafile", str(tmp_path / schema), "mine.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout
    bad = subprocess.run(
        [*CHECK, "--schemafile", str(tmp_path / schema), "typo.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "'rn' was unexpected" in bad.stdout, bad.stdout


def labgen_argv() -> list[str]:
    from tests.runcli import LABGEN

    return list(LABGEN)


def test_the_schema_helpers_read_what_the_loaders_need():
    with pytest.raises(KeyError, match="labs"):
        schemas.path("labs")
    assert schemas.path("lab") == REPO / "labgen/schemas/lab.json"
    assert json.loads(schemas.text("lock")) == schemas.load("lock")
    # a $ref is followed and the referring schema's own keywords are laid over it
    instance = schemas.node("lab", "properties/instance")
    assert instance["maxLength"] == 40 and instance["pattern"] == schemas.pattern("lab", "$defs/label")
    assert "$ref" not in instance and instance["description"].startswith("A short label")
    assert schemas.node("lab") is schemas.load("lab")
    assert schemas.keys("lab", "properties/network") == ("cidr",)
    assert schemas.required("lab", "properties/network") == ("cidr",)
    assert schemas.keys("lab", "$defs/cidr") == () and schemas.required("lab", "$defs/cidr") == ()
    assert schemas.bounds("lab", "properties/nodes") == (1, 100)
    assert schemas.bounds("lab", "$defs/memory") == (64, 65536)
    assert schemas.bounds("scenario", "$defs/timeout") == (0, 3600)  # exclusive minimum
    assert schemas.bounds("scenario", "$defs/expect/properties/retry") == (0, 600)
    assert schemas.enum("bundle", "$defs/item/properties/kind") == ("lab", "lock", "scenario", "artifact", "box")
    assert schemas.max_length("lab", "$defs/box") == 128
    assert schemas.load("lab") is schemas.load("lab")  # read once
