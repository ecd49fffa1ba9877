"""Lab and scenario files of any shape: a value of the wrong type, a missing key or an unknown
one anywhere gives InputError (file:line messages), never a traceback. The schema walker
reports the wrong values; the loaders' cross-field rules must then read only what it passed
(Invalid.ok to walk into a value, Invalid.clean to use it whole). Found by this very loop:
an expect with a bad exit used whole, an unknown key's unchecked value, a network that is a
list."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest

from labgen import yamlsrc
from labgen.errors import InputError
from labgen.labfile import find_lab, parse_lab
from labgen.scenario.load import builtin_scenarios, parse_scenario

DATA = Path(__file__).resolve().parent.parent / "data" / "scenarios"
VALUES = [
    None,
    True,
    0,
    -1,
    3.5,
    "",
    " ",
    "all",
    "x\x1b",
    "default",
    "node",
    "a/b",
    [],
    [1],
    {},
    {"en": ""},
    {"x": 1},
    "192.168.56.1",
    "10.0.0.0/8",
    "nonzero",
    "(",
    "(a)(b)",
    "{{ nope }}",
    "task",
    "question",
    "explain",
]
KEYS = ["kind", "use", "on", "run", "id", "expect", "hints", "check", "name", "ip", "zz"]


def _containers(value, path=()):
    if isinstance(value, (dict, list)) and value:
        yield value
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            yield from _containers(item, path + (key,))


def _mutate(doc, rng: random.Random):
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 4)):
        box = rng.choice(list(_containers(doc)))
        key = rng.choice(list(box) if isinstance(box, dict) else range(len(box)))
        roll = rng.random()
        if roll < 0.5:
            box[key] = copy.deepcopy(rng.choice(VALUES))
        elif roll < 0.7 and isinstance(box, dict):
            del box[key]
        elif isinstance(box, dict):
            box[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
        else:
            box.append(copy.deepcopy(rng.choice(VALUES + [box[0]])))
    return doc


DOCS = (
    [("lab", find_lab("mesos-calico"))]
    + [("scenario", p) for p in builtin_scenarios()]
    + [("scenario", DATA / name) for name in ("full.yml", "challenge.yml")]
)


@pytest.mark.parametrize("kind, path", DOCS, ids=lambda v: getattr(v, "name", v))
def test_any_broken_shape_is_a_message_never_a_traceback(kind, path):
    parse = parse_lab if kind == "lab" else parse_scenario
    doc, rng = yamlsrc.load_file(path), random.Random(f"{path.name}-16")
    refused = 0
    for _ in range(100):
        try:
            parse(_mutate(doc, rng), "f.yml")
        except InputError as exc:
            refused += 1
            assert all(problem.startswith("f.yml") and "\n" not in problem for problem in exc.problems)
    assert refused > 60  # the mutations do break the files (the loop is not idle)
