"""`{{ name }}` substitution in scenario commands: every value is shell-quoted on the way in.

A scenario's `run` script is shell; the values put into it come from the scenario file, the
lab and from what earlier steps captured on the nodes (i.e. from strangers). So a value is
never pasted raw: `{{ v }}` becomes `shlex.quote(value)`, one shell word whatever it holds.
Write `echo {{ v }}`, not `echo "{{ v }}"` (quoting again would put the quotes in the output).

Anything between braces that is not a variable name (`{{.State.Pid}}` in a docker format,
`{{ json . }}`) is left alone.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from typing import Any, Mapping

from labgen.errors import LabgenError
from labgen.model import Expect, Lab, Scenario

VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")

# Names every step may use without defining them; `nodes.<name>.ip` exists for each lab node.
BUILTINS = ("node", "node_ip", "lab_network", "host_ip")
NODE_IP = re.compile(r"^nodes\.([^.]+)\.ip$")


class UndefinedVariable(LabgenError, KeyError):
    """A `{{ name }}` with no value. A KeyError too, so callers may treat it as a lookup miss."""

    def __init__(self, name: str, available: list[str] | None = None):
        self.name = name
        hint = f"defined here: {', '.join(sorted(available))}" if available else None
        super().__init__(f"variable {{{{ {name} }}}} is not defined", hint)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


def variables_in(text: str) -> set[str]:
    """The variable names `text` refers to as `{{ name }}`."""
    return set(VAR.findall(text or ""))


def is_builtin(name: str) -> bool:
    """True for built-in variable names (`node`, `node_ip`, `lab_network`, `host_ip`,
    `nodes.<name>.ip`); whether a `nodes.<name>.ip` node exists is the lab's business."""
    return name in BUILTINS or NODE_IP.match(name) is not None


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace each `{{ name }}` in `text` by `shlex.quote(values[name])`.

    Pure. Raises UndefinedVariable (a LabgenError and a KeyError) naming the first variable
    that has no value.
    """

    def replace(match: re.Match) -> str:
        name = match.group(1)
        try:
            value = values[name]
        except KeyError:
            raise UndefinedVariable(name, list(values)) from None
        return shlex.quote(str(value))

    return VAR.sub(replace, text)


def fill(text: str, values: Mapping[str, str], transform=str) -> str:
    """Replace each `{{ name }}` by `transform(values[name])`, unquoted: for values that are
    not shell (a var defined from built-ins; expectations, where `transform` is re.escape
    for regular expressions). Raises UndefinedVariable like substitute()."""

    def replace(match: re.Match) -> str:
        try:
            return transform(str(values[match.group(1)]))
        except KeyError:
            raise UndefinedVariable(match.group(1), list(values)) from None

    return VAR.sub(replace, text)


_EXPECT_TEXTS = ("stdout_contains", "stdout_not_contains", "stderr_contains", "stderr_not_contains")
_EXPECT_REGEXES = ("stdout_matches", "stderr_matches")


def expect_text(expect: Expect) -> str:
    """Every string of an expectation, joined (for finding the variables it uses)."""
    return "\n".join(t for f in _EXPECT_TEXTS + _EXPECT_REGEXES for t in getattr(expect, f))


def expand_expect(expect: Expect, values: Mapping[str, str]) -> Expect:
    """`expect` with `{{ name }}` filled in: as text in *_contains, regex-escaped in *_matches
    (`'etcd://{{ node_ip }}:2379'` matches the node's own address, dots and all)."""
    if not variables_in(expect_text(expect)):
        return expect
    # field names computed at run time: mypy cannot match them to Expect's fields
    changes: dict[str, Any] = {f: tuple(fill(t, values) for t in getattr(expect, f)) for f in _EXPECT_TEXTS}
    changes.update({f: tuple(fill(t, values, re.escape) for t in getattr(expect, f)) for f in _EXPECT_REGEXES})
    return replace(expect, **changes)


def node_values(scenario: Scenario, lab: Lab, node_name: str, captures: Mapping[str, str]) -> dict[str, str]:
    """Every variable a step sees on node `node_name`, as strings.

    Later sources win: built-ins (`node`, `node_ip`, `nodes.<name>.ip`, `lab_network`,
    `host_ip`), then the scenario's vars, then its node_vars for this node, then `captures`
    (what earlier steps captured, already narrowed to this node by the caller).
    Raises LabgenError when the node is not in the lab.
    """
    try:
        node = lab.node(node_name)
    except KeyError:
        raise LabgenError(
            f"node {node_name!r} is not in lab {lab.name}", hint=f"its nodes: {', '.join(n.name for n in lab.nodes)}"
        ) from None
    values: dict[str, str] = {
        "node": node.name,
        "node_ip": str(node.ip),
        "lab_network": str(lab.network),
        "host_ip": str(lab.host_ip),
    }
    for other in lab.nodes:
        values[f"nodes.{other.name}.ip"] = str(other.ip)
    builtins = dict(values)
    # vars may be written from built-ins (`peer_ip: "{{ nodes.ubuntu-3.ip }}"`): filled in
    # here, unquoted, so that the lab's addresses (a classroom seat's) are never hard-coded.
    values.update({k: fill(str(v), builtins) for k, v in scenario.vars.items()})
    values.update({k: fill(str(v), builtins) for k, v in scenario.node_vars.get(node_name, {}).items()})
    values.update({k: str(v) for k, v in captures.items()})
    return values


def fill_text(text: str, values: Mapping[str, str]) -> str:
    """Text a person reads (a goal, a hint, an answer) with its {{ vars }} filled in as they
    are: no shell quoting. An unknown name stays as written."""
    return VAR.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
