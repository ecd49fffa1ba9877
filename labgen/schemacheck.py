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
        if error.validator in ("oneOf", "anyOf") and error.context:
            error = jsonschema.exceptions.best_match(error.context)
        path = list(error.absolute_path)
        _, key, line = _locate(data, path)
        whole = error.validator in _OF_A_MAPPING
        if error.validator == "additionalProperties":   # the line of the unknown key itself
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            line = yamlsrc.line_of(error.instance, extra[0]) if extra else line
        problems.add(line, _where(kind, path if whole else path[:-1]),
                     *_say(error, None if whole else key, kind))


_OF_A_MAPPING = ("additionalProperties", "required", "minProperties", "dependentRequired")
_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
          "number": "a number", "boolean": "true or false", "null": "nothing"}


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


def _say(error, key: Any, kind: str) -> tuple[str, str | None]:
    """(problem, expected) in labgen's words for one jsonschema error."""
    name = "the value" if key is None else (f"item {key + 1}" if isinstance(key, int) else str(key))
    value, schema, rule = error.instance, error.schema, error.validator_value
    if error.validator == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        word = extra[0] if extra else "?"
        return (f"unknown key {show(word)}{did_you_mean(word, allowed)}",
                "one of " + ", ".join(allowed) if allowed else "no other keys")
    if error.validator == "required":
        missing = next((k for k in rule if k not in value), "?")
        sub = schemas._deref(schemas.load(kind), schema.get("properties", {}).get(missing, {}))
        return f"missing key {missing!r}", _expected(sub)
    if error.validator in ("enum", "const"):
        choices = rule if error.validator == "enum" else [rule]
        return (f"{name} is {describe(value)}{did_you_mean(value, choices)}",
                "one of " + ", ".join(str(c) for c in choices))
    if error.validator == "type":
        kinds = rule if isinstance(rule, list) else [rule]
        return f"{name} is {describe(value)}", _expected(schema) or " or ".join(
            _TYPES.get(str(k), str(k)) for k in kinds)
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        adjective = "too small" if "inimum" in error.validator else "too large"
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        what = "an integer" if schema.get("type") == "integer" else "a number"
        span = f"{what} from {low} to {schema.get('maximum')}"
        about = _expected({"description": schema["description"]}) if "description" in schema else ""
        return f"{name} {value} is {adjective}", f"{span} ({about})" if about else span
    if error.validator == "pattern":
        return f"{name} {show(value)} is not valid", _expected(schema) or f"text matching {rule}"
    if error.validator in ("minItems", "maxItems", "minProperties", "minLength", "maxLength",
                           "uniqueItems"):
        return f"{name} {error.message.split(' ', 1)[1] if ' ' in error.message else 'is not valid'}", \
            _expected(schema)
    if error.validator == "dependentRequired":
        return f"{error.message}", None
    return f"{name}: {error.message[:120]}", _expected(schema)
