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
        about = None
        if error.validator in ("oneOf", "anyOf") and error.context:
            about = _expected(error.schema)       # "text in one language, or ..." says it best
            error = jsonschema.exceptions.best_match(error.context)
        path = list(error.absolute_path)
        _, key, line = _locate(data, path)
        whole = error.validator in _OF_A_MAPPING
        if error.validator == "additionalProperties":   # the line of the unknown key itself
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            line = yamlsrc.line_of(error.instance, extra[0]) if extra else line
        where = path if whole else path[:-1]
        name = _name(where[-1] if whole and where else key)
        problem, expected = _say(error, name, kind)
        problems.add(line, _where(kind, where), problem, about or expected)


_OF_A_MAPPING = ("additionalProperties", "required", "dependentRequired")
_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
          "number": "a number", "boolean": "true or false", "null": "nothing"}


def _name(key: Any) -> str:
    if key is None:
        return "the file"
    return f"item {key + 1}" if isinstance(key, int) else str(key)


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
        allowed = list(schema.get("properties", {}))
        word = next((k for k in value if k not in allowed), "?")
        return (f"unknown key {show(word)}{did_you_mean(word, allowed)}",
                "one of " + ", ".join(allowed) if allowed else "no other keys")
    if validator == "required":
        missing = next((k for k in rule if k not in value), "?")
        sub = schemas._deref(schemas.load(kind), schema.get("properties", {}).get(missing, {}))
        return f"missing key {missing!r}", _expected(sub)
    if validator == "dependentRequired":
        needed = next((k for k in rule.get(_first_present(rule, value), []) if k not in value), "?")
        return f"{_first_present(rule, value)!r} is given without {needed!r}", "both, or neither"
    if validator in ("enum", "const"):
        choices = rule if validator == "enum" else [rule]
        return (f"{name} is {describe(value)}{did_you_mean(value, choices)}",
                "one of " + ", ".join(map(str, choices)) if len(choices) > 1 else str(choices[0]))
    if validator == "type":
        kinds = rule if isinstance(rule, list) else [rule]
        words = " or ".join(_TYPES.get(str(k), str(k)) for k in kinds)
        return f"{name} is {describe(value)}", words if "$schema" in schema else expected or words
    if validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        adjective = "too small" if "inimum" in validator else "too large"
        what = "an integer" if schema.get("type") == "integer" else "a number"
        if "exclusiveMinimum" in schema:
            span = f"{what} more than {schema['exclusiveMinimum']} and at most {schema.get('maximum')}"
        else:
            span = f"{what} from {schema.get('minimum')} to {schema.get('maximum')}"
        about = _expected({"description": schema["description"]}) if "description" in schema else ""
        return f"{name} {value} is {adjective}", f"{span} ({about})" if about else span
    if validator == "pattern":
        return f"{name} {show(value)} is not valid", expected or f"text matching {rule}"
    if validator in ("minItems", "minProperties") and not value:
        return f"{name} is empty", expected
    if validator in ("minItems", "maxItems", "minProperties"):
        limit = "at least" if validator.startswith("min") else "at most"
        return f"{name} has {len(value)}", f"{limit} {rule}" + (f": {expected}" if expected else "")
    if validator in ("minLength", "maxLength"):
        return f"{name} is {len(value)} characters long", expected or f"at most {rule} characters"
    if validator == "uniqueItems":
        twice = next((v for i, v in enumerate(value) if v in value[:i]), None)
        return f"{name} lists {show(twice)} twice", "each once"
    if validator == "not":
        return f"{name} {show(value)} is not allowed", expected
    return f"{name}: {error.message[:120]}", expected


def _first_present(rule: dict, value: dict) -> Any:
    """The key of a dependentRequired rule that is given while one it needs is missing."""
    return next((k for k, needs in rule.items() if k in value and any(n not in value for n in needs)), "?")
