"""A file checked against its published JSON Schema (labgen/schemas), every error turned into
one labgen message: `FILE line N: WHERE: PROBLEM; expected EXPECTED`, with did-you-mean.

The small formats (classroom, lock, bundle manifest) are validated by this alone; the lab and
scenario loaders, whose messages are finer, run it after their own checks as a net: a rule in
the schema that the code forgot still refuses the file.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from labgen import schemas, yamlsrc
from labgen.validate import Problems, describe, did_you_mean, show


@lru_cache(maxsize=None)
def _validator(kind: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schemas.load(kind))


def check(data: Any, kind: str, problems: Problems) -> None:
    """Add one problem per schema error of `data` (a `kind` document) to `problems`."""
    import jsonschema.exceptions

    errors = _validator(kind).iter_errors(data)
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        parent = None
        if error.validator == "oneOf" and error.context:
            parent, error = error, jsonschema.exceptions.best_match(error.context)
        path = list(error.absolute_path)
        _, key, line = _locate(data, path)
        whole = error.validator in _OF_A_MAPPING
        if error.validator == "additionalProperties":   # the line of the unknown key itself
            line = yamlsrc.line_of(error.instance, _unknown(error.instance, error.schema))
        problem, expected = _say(error, _name(key), kind)
        if parent is not None:     # "text in one language, or ..." says it better than a branch
            expected = _expected(parent.schema) or expected
        problems.add(line, _where(kind, path if whole else path[:-1]), problem, expected)


_OF_A_MAPPING = ("additionalProperties", "required", "dependentRequired")
_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
          "number": "a number", "boolean": "true or false", "null": "nothing"}


def _name(key: Any) -> str:
    if key is None:
        return "the file"
    return f"item {key + 1}" if isinstance(key, int) else str(key)


def _unknown(mapping: dict, schema: dict) -> Any:
    """The first key of `mapping` that `schema` does not allow (there is one: it is an error)."""
    return next(k for k in mapping if k not in schema["properties"])


def _locate(data: Any, path: list) -> tuple[Any, Any, int]:
    """(the container holding the value, its key, the best line) for a path into `data`."""
    parent, key, line = None, None, yamlsrc.line_of(data)
    current = data
    for part in path:
        parent, key = current, part
        line = yamlsrc.line_of(current, part) or line
        current = current[part]
    return parent, key, line


def _where(kind: str, path: list) -> str:
    out = kind
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _expected(schema: dict) -> str | None:
    text = schema.get("description")
    if text:
        text = text[0].lower() + text[1:].rstrip(".")
    examples = schema.get("examples")
    if examples and not isinstance(examples[0], (dict, list)):
        example = f"e.g. {examples[0]}"
        text = f"{text}, {example}" if text else example
    return text


def _say(error, name: str, kind: str) -> tuple[str, str | None]:
    """(problem, expected) in labgen's words for one jsonschema error."""
    value, schema, rule, validator = error.instance, error.schema, error.validator_value, error.validator
    expected = _expected(schema)
    if validator == "additionalProperties":
        word, allowed = _unknown(value, schema), list(schema["properties"])
        return f"unknown key {show(word)}{did_you_mean(word, allowed)}", "one of " + ", ".join(allowed)
    if validator == "required":
        missing = next(k for k in rule if k not in value)
        sub = schemas._deref(schemas.load(kind), schema["properties"][missing])
        return f"missing key {missing!r}", _expected(sub)
    if validator == "dependentRequired":
        given = next(k for k, needs in rule.items() if k in value and any(n not in value for n in needs))
        needed = next(k for k in rule[given] if k not in value)
        return f"{given!r} is given without {needed!r}", f"{needed!r} as well, or no {given!r}"
    if validator == "enum":
        return (f"{name} is {describe(value)}{did_you_mean(value, rule)}",
                "one of " + ", ".join(map(str, rule)))
    if validator == "const":
        return f"{name} is {describe(value)}", str(rule)
    if validator == "type":
        words = " or ".join(_TYPES[k] for k in (rule if isinstance(rule, list) else [rule]))
        return f"{name} is {describe(value)}", words if "$schema" in schema else expected or words
    if validator in ("minimum", "exclusiveMinimum", "maximum"):
        adjective = "too large" if validator == "maximum" else "too small"
        what = "an integer" if schema.get("type") == "integer" else "a number"
        if "exclusiveMinimum" in schema:
            span = f"{what} more than {schema['exclusiveMinimum']} and at most {schema['maximum']}"
        else:
            span = f"{what} from {schema['minimum']} to {schema['maximum']}"
        return f"{name} {value} is {adjective}", f"{span} ({expected})" if "description" in schema else span
    if validator == "pattern":             # every pattern has a description (a test says so)
        return f"{name} {show(value)} is not valid", expected
    if validator in ("minItems", "minProperties"):      # every minimum in the schemas is 1
        return f"{name} is empty", expected
    if validator == "maxItems":
        return f"{name} has {len(value)}", f"at most {rule}: {expected}"
    if validator == "maxLength":
        return f"{name} is {len(value)} characters long", expected
    if validator == "uniqueItems":
        twice = next(v for i, v in enumerate(value) if v in value[:i])
        return f"{name} lists {show(twice)} twice", "each once"
    if validator == "not":
        return f"{name} {show(value)} is not allowed", expected
    return f"{name}: {error.message}", expected
