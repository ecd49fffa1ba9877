"""A file checked against its published JSON Schema (labgen/schemas): every jsonschema error
turned into one labgen message, `FILE line N: WHERE: PROBLEM; expected EXPECTED`.

The schema is the one description of a format's structure (keys, types, ranges, patterns,
enums); this walker is the only code that enforces it, for every format. The words come from
the schema too: `description` and `examples` say what was expected, a sub-schema's `title`
names one item ("role", "node"), enums and unknown keys get a did-you-mean. What a schema
cannot say stays with the caller: `where` names the object a path lies in (`node n1`,
`step look`), `explain` says why a value misses a pattern (`contains the uppercase letter 'D'`).

DESIGN: jsonschema rather than pydantic: see labgen/schemas/__init__.py.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable

from labgen import schemas, yamlsrc
from labgen.validate import Problems, character_problem, describe, did_you_mean, show
from labgen.validate import kind as kind_of

Path = tuple  # a path into the document: keys and list indexes
Where = Callable[[Any, Path], "tuple[str, Path]"]


class Invalid:
    """The paths where the schema found a wrong value, so the caller's cross-field rules read
    only values that are known to be well-formed."""

    def __init__(self, paths: Iterable[Path] = ()):
        self.paths = set(paths)

    def ok(self, *path: Any) -> bool:
        """Whether no error lies at `path` or at a container holding it (to walk into it)."""
        return not any(path[: len(p)] == p for p in self.paths)

    def clean(self, *path: Any) -> bool:
        """Whether no error lies at `path`, above it or inside it (to use the whole value)."""
        return not any(path[: len(p)] == p or p[: len(path)] == path for p in self.paths)


@lru_cache(maxsize=None)
def _validator(kind: str):
    import re

    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator, rule: str, instance: Any, schema: dict):
        # A schema's regex is ECMA-262, where `$` ends the text; Python's `$` also matches
        # before a final newline, and "demo\n" would pass as a name that reaches a shell.
        python = rule[:-1] + r"\Z" if rule.endswith("$") and not rule.endswith("\\$") else rule
        if validator.is_type(instance, "string") and not re.search(python, instance):
            yield ValidationError(f"{instance!r} does not match {rule!r}")

    strict = validators.extend(Draft202012Validator, {"pattern": pattern})
    return strict(schemas.load(kind))


def check(
    data: Any,
    kind: str,
    problems: Problems,
    *,
    where: Where | None = None,
    explain: dict[str, Callable[[str], str | None]] | None = None,
    printable: tuple[str, str | None] | None = None,
    expect: Callable[[Path], str | None] | None = None,
) -> Invalid:
    """Add one problem per schema error of `data` (a `kind` document) to `problems`; return
    where the wrong values are. `where(data, path)` splits a path into the object messages
    name (`node n1`) and the field inside it (default: `kind.a[0]` and the last key);
    `explain[pattern](value)` says why a string misses that pattern; `printable` = (the
    control characters text may hold, what to say is expected) applies labgen's one policy
    for control and bidi characters (labgen.validate) to every other string; `expect(path)`
    says what a field should be when only the document knows (an address in its network)."""

    def name_of(path: Path, of_value: bool = True) -> tuple[str, Path]:
        if where is not None:
            return where(data, path)
        field = path[-1:] if of_value and path and isinstance(path[-1], str) else ()
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in (path[:-1] if of_value else path))
        return kind + dotted, field

    invalid, seen = Invalid(), set()
    explain = {**_EXPLAIN, **(explain or {})}
    # in the document's order: jsonschema walks some keys in set order, which varies per run
    leaves = sorted(_leaves(_validator(kind).iter_errors(data)), key=lambda ep: _order(data, ep[0].absolute_path))
    for error, parent in leaves:
        path = tuple(error.absolute_path)
        if error.validator in _OF_A_MAPPING:
            if (path, error.validator) not in seen:  # `required` comes once per missing key
                seen.add((path, error.validator))
                obj, field = name_of(path, of_value=False)
                if error.validator == "additionalProperties":  # their values went unchecked
                    invalid.paths.update(
                        path + (key,) for key in error.instance if key not in error.schema.get("properties", {})
                    )
                for line, problem, expected, key in _mapping_problems(error, data, kind, render(field)):
                    problems.add(line, obj, problem, (expect and key is not None and expect(path + (key,))) or expected)
            continue
        line = _line(data, path)
        a_key = "propertyNames" in error.absolute_schema_path  # the value is a key's name
        if a_key:
            line = yamlsrc.line_of(_at(data, path), error.instance) or line
            path += (error.instance,)
        if error.validator == "uniqueItems":  # the line of the second one
            line = yamlsrc.line_of(error.instance, _twice(error.instance)) or line
        invalid.paths.add(path)
        obj, field = name_of(path)
        words = _words(kind, error)
        problem, expected = _say(error, words, _name(path, field, words, a_key), kind, explain, alone=parent is None)
        if parent is not None and parent.absolute_path == error.absolute_path and error.validator != "uniqueItems":
            # the value fits no form: "text in one language, or ..." says it better than one form
            expected = expected_of(_schema_of(kind, parent)) or expected
        expected = (expect and expect(path)) or expected
        problems.add(line or (1 if not path and data is not None else 0), obj, problem, expected)
    allow, said = printable or ("", None)
    for path, value in _strings(data, ()) if printable else ():
        why = character_problem(value, allow=allow) if invalid.ok(*path) else None
        if why:
            obj, field = name_of(path)
            invalid.paths.add(path)
            problems.add(_line(data, path), obj, f"{render(field)} {why}", said)
    return invalid


def _strings(value: Any, path: Path) -> Iterable[tuple[Path, str]]:
    """(path, text) of every string value in a document."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, (dict, list)):
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            yield from _strings(item, path + (key,))


# Why a string misses a pattern, for the patterns every format uses.
_EXPLAIN: dict[str, Callable[[str], str | None]] = {
    r"\S": lambda value: "is empty" if value == "" else "is only white space"
}


def _leaves(errors: Iterable) -> Iterable[tuple[Any, Any]]:
    """(error, the oneOf/anyOf it came from or None): for a value that fits none of several
    forms, the errors of the form meant — the one whose type the value has."""
    for error in errors:
        if error.validator not in ("oneOf", "anyOf") or not error.context:
            yield error, None
            continue
        branches: dict[Any, list] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        typed = [b for b in branches.values() if not any(e.validator == "type" and not e.relative_path for e in b)]
        chosen = min(typed, key=len) if typed else [_best(error.context)]
        for sub, _ in _leaves(chosen):
            yield sub, error


def _best(errors: list):
    import jsonschema.exceptions

    return jsonschema.exceptions.best_match(errors)


def render(field: Path) -> str:
    """A path as messages write it: `expect.stdout_contains[1]`."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in field).lstrip(".")


def _name(path: Path, field: Path, schema: dict, a_key: bool) -> str:
    if a_key:
        return schema.get("title", "key")
    if field:
        return render(field)
    if not path:
        return "the file"
    key = path[-1]
    return f"the {schema['title']}" if "title" in schema else f"item {key + 1}" if isinstance(key, int) else str(key)


def _order(data: Any, path: Iterable) -> list[int]:
    """Where a path stands in the document: the position of each key or item on the way."""
    out = []
    for part in path:
        out.append(list(data).index(part) if isinstance(data, dict) else part)
        data = data[part]
    return out


def _at(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


_OF_A_MAPPING = ("additionalProperties", "required", "dependentRequired")
_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def _line(data: Any, path: Path) -> int:
    """The best line for the value at `path`: its key's or item's own, else its container's."""
    line, current = yamlsrc.line_of(data), data
    for part in path:
        line = yamlsrc.line_of(current, part) or line
        current = current[part]
    return line


def _mapping_problems(error, data: Any, kind: str, field: str) -> list[tuple[int, str, str | None, Any]]:
    """Unknown, missing and dependent keys: one problem per key, each at its line."""
    mapping, schema, rule = error.instance, error.schema, error.validator_value
    line = _line(data, tuple(error.absolute_path))
    has = f"{field} has " if field else ""
    if error.validator == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        noun = schema.get("propertyNames", {}).get("title", "key")
        return [
            (
                yamlsrc.line_of(mapping, key),
                f"{has}unknown {noun} {show(key)}{did_you_mean(key, allowed) if isinstance(key, str) else ''}",
                ("one of " + ", ".join(allowed)) if allowed else "no keys",
                None,
            )
            for key in mapping
            if key not in allowed
        ]
    if error.validator == "required":
        return [
            (
                line,
                f"missing key {key!r}" + (f" in {field}" if field else ""),
                expected_of(_sub(kind, schema, key)) or _one_of(_sub(kind, schema, key)),
                key,
            )
            for key in rule
            if key not in mapping
        ]
    given = next(k for k, needs in rule.items() if k in mapping and any(n not in mapping for n in needs))
    needed = next(k for k in rule[given] if k not in mapping)
    return [
        (
            yamlsrc.line_of(mapping, given) or line,
            f"{has}{given!r} is given without {needed!r}",
            f"{needed!r} as well, or no {given!r}",
            None,
        )
    ]


def _schema_of(kind: str, error) -> dict:
    """The schema holding the failed keyword, with each `$ref` on the way followed and the
    referring schema's own words (description, examples, title) laid over its target."""
    root = schemas.load(kind)
    current = root
    for part in list(error.absolute_schema_path)[:-1]:
        current = schemas.deref(root, current)[part]
    return schemas.deref(root, current)


def _words(kind: str, error) -> dict:
    """The schema a value failed, for its words: what the failed rule itself says (a label's
    rule, not the field's purpose), with the field's own example when it has one."""
    outer = _schema_of(kind, error)
    if error.validator in ("pattern", "maxLength", "type") and "description" in error.schema:
        return {**outer, "description": error.schema["description"]}
    return outer


def _one_of(schema: dict) -> str | None:
    return "one of " + ", ".join(map(str, schema["enum"])) if "enum" in schema else None


def _sub(kind: str, schema: dict, key: str) -> dict:
    return schemas.deref(schemas.load(kind), schema["properties"][key])


def _twice(items: list) -> int:
    return next(i for i, v in enumerate(items) if v in items[:i])


def _flow(value: Any) -> str:
    """An example as YAML flow text: {cidr: 192.168.56.0/24}, [base, docker]."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_flow, value)) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def expected_of(schema: dict) -> str | None:
    """What a value should be, from the schema's description and first example."""
    text = schema.get("description")
    if text:
        proper = text.split(" ")[0].split("'")[0] in _PROPER
        text = (text if proper else text[0].lower() + text[1:]).rstrip(".")
    examples = schema.get("examples")
    if examples:
        example = f"e.g. {_flow(examples[0])}"
        text = f"{text}, {example}" if text else example
    return text


_PROPER = ("Python", "Calico", "Docker", "Vagrant", "IPv4", "RFC")  # kept capitalised mid-sentence


def _span(schema: dict) -> str:
    what = "an integer" if schema.get("type") == "integer" else "a number"
    if "exclusiveMinimum" in schema:
        return f"{what} more than {schema['exclusiveMinimum']} and at most {schema['maximum']}"
    return f"{what} from {schema['minimum']} to {schema['maximum']}"


def _say(error, schema: dict, name: str, kind: str, explain: dict, alone: bool) -> tuple[str, str | None]:
    """(problem, expected) in labgen's words for one error about a value called `name`."""
    value, rule, validator = error.instance, error.validator_value, error.validator
    path = tuple(error.absolute_path)
    key = path[-1] if path else None
    title = schema.get("title") or (key if isinstance(key, str) else "item")
    item = schemas.deref(schemas.load(kind), schema.get("items", {})).get("title", "item")
    expected = expected_of(schema)
    ranged = "minimum" in schema or "exclusiveMinimum" in schema
    if ranged:
        expected = f"{_span(schema)} ({expected})" if "description" in schema else _span(schema)
    if validator == "type" and not path:
        holds = "the file holds " + kind_of(value) if value is not None else "the file is empty"
        keys = schema.get("required")
        return holds, ("a mapping with keys " + ", ".join(keys)) if keys else "a mapping"
    if validator == "type":
        words = " or ".join(_TYPES[k] for k in (rule if isinstance(rule, list) else [rule]))
        return f"{name} is {describe(value)}", words if rule == "boolean" else expected or words
    if validator == "enum" and alone:  # (in a oneOf, the enum is one of several forms)
        return (f"unknown {title} {_shown(value)}{did_you_mean(value, rule)}", "one of " + ", ".join(map(str, rule)))
    if validator in ("const", "enum"):
        return f"{name} is {describe(value)}", str(rule) if validator == "const" else "one of " + ", ".join(
            map(str, rule)
        )
    if validator in ("minimum", "exclusiveMinimum", "maximum"):
        return f"{name} {value} is {'too large' if validator == 'maximum' else 'too small'}", expected
    if validator == "pattern":  # every pattern has a description (a test says so)
        why = explain[rule](value) if rule in explain else None
        if why:
            return f"{name} {show(value)} {why}", expected
        what = f"a valid {schema['title']}" if schema.get("title", name) != name else "valid"
        return f"{name} {show(value)} is not {what}", expected
    if validator == "minItems":  # every minimum in the schemas is 1
        return f"{name} is {describe(value)}", f"at least one {item}" + (f": {expected}" if expected else "")
    if validator == "minProperties":
        keys = schema.get("properties")
        return f"{name} is {describe(value)}", ("at least one of " + ", ".join(keys)) if keys else "at least one key"
    if validator == "maxItems":
        return f"{name} has {len(value)} items", f"at most {rule}: {expected}"
    if validator == "maxLength":
        return f"{name} is {len(value)} characters long", expected
    if validator == "uniqueItems":
        return f"{item} {show(value[_twice(value)])} is listed twice", f"each {item} once"
    if validator == "not":  # the `not` schema's title says why: "reserved for a built-in"
        return f"{name} {show(value)} is {rule.get('title', 'not allowed')}", expected
    return f"{name}: {error.message}", expected


def _shown(value: Any) -> str:
    return show(value) if isinstance(value, str) else describe(value)
