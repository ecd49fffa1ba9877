"""labgen's file formats as JSON Schema (draft 2020-12): lab, scenario, classroom, lock, bundle.

DESIGN: the schemas are hand-written JSON files, read by `jsonschema`, rather than generated
from pydantic models. They are what editors load (the `# yaml-language-server: $schema=...`
header) and what `labgen schema KIND` prints, so they should read as a document with
descriptions and examples, not as a by-product of classes; jsonschema also reports every
error at once (iter_errors), which the file:line messages need, and adds no model layer next
to model.py's frozen dataclasses. The loaders take their keys, required keys, ranges,
patterns and enums from here (`keys`, `bounds`...), so the code and the published schema
cannot drift; cross-field rules (addresses in the network, unique names, {{ vars }} defined)
stay in the loaders.

The lab and scenario loaders keep their own message code rather than rendering jsonschema's
errors: many of their messages depend on other fields (`expected an address from
192.168.56.2 to 192.168.56.254` comes from the parsed network; a step is named by its id, a
node by its name) or say why a value is wrong (`contains the uppercase letter 'D'`), and the
tests pin them. labgen/schemacheck.py renders schema errors for the small formats
(classroom, lock, bundle) and runs after the loaders as a net.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

KINDS = ("lab", "scenario", "classroom", "lock", "bundle")
HERE = Path(__file__).resolve().parent


def path(kind: str) -> Path:
    """The schema file of `kind` (one of KINDS)."""
    if kind not in KINDS:
        raise KeyError(kind)
    return HERE / f"{kind}.json"


@lru_cache(maxsize=None)
def load(kind: str) -> dict:
    """The schema of `kind` as a dict (read once)."""
    return json.loads(path(kind).read_text(encoding="utf-8"))


def text(kind: str) -> str:
    return path(kind).read_text(encoding="utf-8")


def node(kind: str, pointer: str = "") -> dict:
    """The sub-schema at `pointer` (`properties/network`, `$defs/node`), with a top-level
    `$ref` followed (and the referring schema's own keywords laid over it)."""
    schema = load(kind)
    current: Any = schema
    for part in [p for p in pointer.split("/") if p]:
        current = current[part]
    return _deref(schema, current)


def _deref(root: dict, current: dict) -> dict:
    while "$ref" in current:
        target: Any = root
        for part in current["$ref"].lstrip("#/").split("/"):
            target = target[part]
        current = {**target, **{k: v for k, v in current.items() if k != "$ref"}}
    return current


def keys(kind: str, pointer: str = "") -> tuple[str, ...]:
    """The keys a mapping may hold, in the schema's order."""
    return tuple(node(kind, pointer).get("properties", {}))


def required(kind: str, pointer: str = "") -> tuple[str, ...]:
    return tuple(node(kind, pointer).get("required", ()))


def bounds(kind: str, pointer: str) -> tuple[Any, Any]:
    """(minimum, maximum) of a number, or (minItems, maxItems) of a list."""
    sub = node(kind, pointer)
    if "minItems" in sub or "maxItems" in sub:
        return sub.get("minItems"), sub.get("maxItems")
    return (sub.get("minimum", sub.get("exclusiveMinimum")), sub.get("maximum"))


def enum(kind: str, pointer: str) -> tuple[Any, ...]:
    sub = node(kind, pointer)
    return tuple(sub["enum"] if "enum" in sub else sub["items"]["enum"])     # a value's, or a list's


def pattern(kind: str, pointer: str) -> str:
    """A string's pattern, anchored with ^...$ in the schema (use with re.fullmatch or match)."""
    return node(kind, pointer)["pattern"]


def max_length(kind: str, pointer: str) -> int:
    return node(kind, pointer)["maxLength"]
