"""YAML loading that remembers where each value came from, so errors can say file:line.

Only plain data is built (SafeLoader): no tags, no Python objects, nothing executes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from labgen.errors import InputError


class Mapping(dict):
    """A YAML mapping; `.line` is where it starts, `.key_lines[key]` where each key stands."""

    line: int = 0
    key_lines: dict


class Sequence(list):
    """A YAML sequence; `.line` is where it starts, `.item_lines[i]` where each item stands."""

    line: int = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    pass


# YAML 1.1 reads `on`, `yes`, `no` as booleans and `10:20:30` as a base-60 number: a MAC or a
# step's `on:` key would silently change meaning. Keep only YAML 1.2's core forms.
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    return int(text, 0) if text.lstrip("+-").startswith(("0o", "0x")) else int(text, 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Mapping:
    result = Mapping()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain scalars", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> Sequence:
    result = Sequence(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)

MAX_BYTES = 1_000_000  # a lab or scenario file is small; refuse anything that is not


def load_text(text: str, source: str) -> Any:
    """Parse YAML text; raise InputError naming `source` and the line of a syntax error."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise InputError([f"{source}: file is larger than {MAX_BYTES} bytes"])
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source} line {mark.line + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(
            [f"{where}: YAML syntax error: {problem}"], hint="check indentation and quoting near that line"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError([f"{source}: YAML syntax error: {exc}"]) from None


def load_file(path: Path) -> Any:
    """Read and parse a YAML file; a missing or unreadable file is an InputError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([f"{path}: cannot read: {exc}"]) from None
    return load_text(text, str(path))


def line_of(container: Any, key: Any = None) -> int:
    """Best line number for `container[key]` (or the container itself); 0 when unknown."""
    if key is not None:
        if isinstance(container, Mapping) and key in container.key_lines:
            return container.key_lines[key]
        if isinstance(container, Sequence) and isinstance(key, int) and key < len(container.item_lines):
            return container.item_lines[key]
    return getattr(container, "line", 0)
