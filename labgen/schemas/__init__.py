"""labgen's file formats as JSON Schema (draft 2020-12): lab, scenario, classroom, lock, bundle.

Each schema is the one description of its format's structure: keys, types, ranges,
patterns, enums, and the words messages use (description, examples, and `title` naming one
item: "role", "node name"). labgen/schemacheck.py is the only code that enforces it; the
loaders add the rules between fields (addresses inside the network, unique names and ids,
{{ vars }} defined, Python regexes that compile) and build the model from checked data.

DESIGN: hand-written JSON Schema files read by `jsonschema`, not pydantic models with a
generated schema. The schemas are what editors load (the `# yaml-language-server:
$schema=...` header) and what `labgen schema KIND` prints, so they should read as a
document, with descriptions and examples where a reader needs them; jsonschema reports every
error at once (iter_errors) with the path and the failed keyword, which is what file:line
messages with a did-you-mean need; and a model layer would stand next to model.py's frozen
dataclasses, which the rest of labgen uses. What pydantic would give (coercion, defaults) the
loaders' small build functions do in a few lines.
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
    return deref(schema, current)


def deref(root: dict, current: dict) -> dict:
    """`current` with its `$ref`s followed, its own keywords laid over the target's."""
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
    return tuple(sub["enum"] if "enum" in sub else sub["items"]["enum"])  # a value's, or a list's


def pattern(kind: str, pointer: str) -> str:
    """A string's pattern, anchored with ^...$ in the schema (use with re.fullmatch or match)."""
    return node(kind, pointer)["pattern"]


def max_length(kind: str, pointer: str) -> int:
    return node(kind, pointer)["maxLength"]
