"""Lab files: YAML → validated Lab, with every problem reported at once as file:line.

Pure: reads the file it is given (and the built-in labs directory), nothing else.
Each problem is one line: `<file> line <N>: <object>: <problem>; expected <what>`.
Values shown in messages are escaped (ascii()), so a hostile file cannot paint the terminal.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from labgen import schemacheck, schemas, yamlsrc
from labgen.errors import InputError
from labgen.model import PROVIDERS, Lab, Node
from labgen.provision import pins
from labgen.resources import builtin_labs_dir
from labgen.validate import Problems, character_problem, closest, show

# The structure (keys, types, ranges, patterns, enums) is labgen/schemas/lab.json, enforced by
# labgen.schemacheck; this module adds the rules between fields and builds the model.
PARAM_DEFAULTS = {
    "docker_version": pins.DOCKER_DEFAULT,  # the version with the MAC bug; 18.06.0 fixes it
    "calico_pool": schemas.node("lab", "properties/params/properties/calico_pool")["default"],
}
DEFAULT_MEMORY = schemas.node("lab", "$defs/memory")["default"]
DEFAULT_CPUS = schemas.node("lab", "$defs/cpus")["default"]
MIN_PREFIX, MAX_PREFIX = 16, 29  # (a range of the parsed network: code, not schema)
_LABEL = re.compile(schemas.pattern("lab", "$defs/label"))
_POOL_SUGGESTIONS = ("172.32.0.0/16", "10.233.0.0/16", "172.31.0.0/16")
_SECTIONS = ("network", "boxes", "defaults", "params", "mirrors", "nodes")


# ---------------------------------------------------------------- public functions


def load_lab(path: Path) -> Lab:
    """Read and validate the lab file at `path`.

    Raises InputError (every problem, one per line, each with file and line) when the file is
    missing, unreadable, not YAML or not a valid lab.
    """
    path = Path(path)
    data = yamlsrc.load_file(path)
    lab = parse_lab(data, str(path))
    return _with_source(lab, path)


def parse_lab(data: Any, source: str) -> Lab:
    """Validate already-parsed YAML `data` (from yamlsrc, for line numbers) into a Lab.

    `source` names the file in messages. Raises InputError carrying every problem found.
    """
    problems = Problems(source)
    invalid = schemacheck.check(
        data,
        "lab",
        problems,
        where=_where,
        explain={_LABEL.pattern: _label_problem},
        expect=lambda path: _address_range(data) if path[-1:] == ("ip",) else None,
    )
    if isinstance(data, dict):
        _Rules(data, invalid, problems).check()
    if problems:
        raise InputError(problems.sorted(), hint="see labgen/labs/mesos-calico.yml for a complete, valid lab file")
    return _build(data)


def find_lab(name_or_path: str) -> Path:
    """The lab file meant by `name_or_path`: an existing file, else a built-in lab's name.

    Raises InputError listing the built-in labs (with a did-you-mean) when it is neither.
    """
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    builtins = {name: path for name, path in _builtin_lab_paths()}
    # Only ever look the name up among the files that exist: never join user text to a path.
    if name_or_path in builtins:
        return builtins[name_or_path]
    names = sorted(builtins)
    close = closest(name_or_path, names)
    problem = f"lab {show(name_or_path)} is neither a file nor a built-in lab"
    if close:
        problem += f" (did you mean {close!r}?)"
    expected = "a path to a lab file or one of the built-in labs: " + (", ".join(names) or "none")
    raise InputError(
        [f"{problem}; expected {expected}"], hint="`labgen list` shows the built-in labs with their descriptions"
    )


def builtin_labs() -> list[tuple[str, str]]:
    """(name, description) of every built-in lab, sorted by name.

    Reads labgen/labs/*.yml; raises InputError if a built-in lab file is invalid (a bug).
    """
    return [(name, load_lab(path).description) for name, path in _builtin_lab_paths()]


# ---------------------------------------------------------------- helpers


def _builtin_lab_paths() -> list[tuple[str, Path]]:
    directory = builtin_labs_dir()
    if not directory.is_dir():
        return []
    return sorted((p.stem, p) for p in directory.glob("*.yml") if p.is_file())


def _with_source(lab: Lab, path: Path) -> Lab:
    from dataclasses import replace

    return replace(lab, source=path)


def _label_problem(value: str) -> str | None:
    """Why `value` is not an RFC 1123 label, or None when it is one."""
    if _LABEL.fullmatch(value):
        return None
    if value == "":
        return "is empty"
    if len(value) > 63:
        return f"is {len(value)} characters long"
    for ch in value:
        if ord(ch) > 127:
            return f"contains the non-ASCII character U+{ord(ch):04X}"
    for ch in value:
        if not (ch.isalnum() or ch == "-"):
            return f"contains the character {ascii(ch)}"
    for ch in value:
        if ch.isupper():
            return f"contains the uppercase letter {ch!r}"
    return "starts or ends with a hyphen"


def _where(data: Any, path: tuple) -> tuple[str, tuple]:
    """The object a path lies in, as messages name it (`lab`, `network`, `node n1`, `node #2`),
    and the field inside it."""
    if not path or path[0] not in _SECTIONS:
        return "lab", path
    if path[0] == "nodes" and len(path) > 1:
        item = data["nodes"][path[1]]
        name = item.get("name") if isinstance(item, dict) else None
        return (
            f"node {name}" if isinstance(name, str) and _LABEL.fullmatch(name) else f"node #{path[1] + 1}",
            path[2:],
        )
    if path[0] == "boxes" and len(path) > 1:
        return "boxes", (f"{path[1]} box",)  # "lxc box 'x' is not a valid box name"
    return path[0], path[1:]


def _address_range(data: dict) -> str | None:
    """`an address from 192.168.56.2 to 192.168.56.254`, when the lab's network is readable."""
    try:
        network = ipaddress.IPv4Network(data["network"]["cidr"])
    except (KeyError, TypeError, ValueError):
        return None
    if network.num_addresses < 4:
        return None
    return f"an address from {network.network_address + 2} to {network.broadcast_address - 1}"


def _expected(pointer: str) -> str | None:
    return schemacheck.expected_of(schemas.node("lab", pointer))


class _Rules:
    """The rules between fields (and the character policy of free text), read only from values
    the schema found well-formed; each records its problems."""

    def __init__(self, data: dict, invalid: schemacheck.Invalid, problems: Problems):
        self.data, self.ok, self.p = data, invalid.ok, problems

    def check(self) -> None:
        for key in ("description", "message"):  # the other strings have patterns or are parsed
            why = character_problem(self.data[key], allow="\n") if self.given(key) else None  # (a tab: a mistake)
            if why:
                self.p.add(yamlsrc.line_of(self.data, key), "lab", f"{key} {why}", _expected("$defs/text"))
        network = self.network()
        self.calico_pool(network)
        self.mirrors()
        self.nodes(network)

    def given(self, *path: Any) -> Any:
        """The value at `path` when it is there and well-formed, else None."""
        value: Any = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value if self.ok(*path) else None

    def cidr(self, text: str, line: int, obj: str, key: str) -> ipaddress.IPv4Network | None:
        try:
            return ipaddress.IPv4Network(text, strict=True)
        except ValueError:
            pass
        try:
            loose = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            field = schemas.node(
                "lab",
                "properties/network/properties/cidr"
                if obj == "network"
                else "properties/params/properties/calico_pool",
            )
            self.p.add(
                line,
                obj,
                f"{key} {show(text)} is not a valid IPv4 network",
                schemacheck.expected_of({**field, "description": schemas.node("lab", "$defs/cidr")["description"]}),
            )
            return None
        self.p.add(line, obj, f"{key} {text} has host bits set", f"the network address, i.e. {loose}")
        return None

    def network(self) -> ipaddress.IPv4Network | None:
        if self.given("network", "cidr") is None:
            return None
        line = yamlsrc.line_of(self.data["network"], "cidr")
        net = self.cidr(self.data["network"]["cidr"], line, "network", "cidr")
        if net is None:
            return None
        if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
            self.p.add(
                line,
                "network",
                f"cidr {net} has prefix /{net.prefixlen}",
                f"a prefix from /{MIN_PREFIX} to /{MAX_PREFIX}",
            )
            return None
        if not net.is_private or net.is_loopback or net.is_link_local:
            self.p.add(
                line,
                "network",
                f"cidr {net} is not a private network range",
                "a private IPv4 network (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) such as 192.168.56.0/24",
            )
            return None
        return net

    def calico_pool(self, network: ipaddress.IPv4Network | None) -> None:
        # Only a pool the file gives can overlap the lab network: the default (172.32.0.0/16)
        # lies outside the private ranges a lab network must be in (a unit test keeps it so).
        text = self.given("params", "calico_pool")
        if text is None:
            return
        line = yamlsrc.line_of(self.data["params"], "calico_pool")
        pool = self.cidr(text, line, "params", "calico_pool")
        if pool is None:
            return
        if pool.prefixlen > 26:
            self.p.add(
                line,
                "params",
                f"calico_pool {pool} is smaller than a /26",
                "a pool of /26 or larger: Calico hands out addresses in /26 blocks",
            )
            return
        if (
            pool.is_loopback
            or pool.is_link_local
            or pool.is_multicast
            or pool.is_reserved
            or pool.is_unspecified
            or pool.overlaps(ipaddress.IPv4Network("0.0.0.0/8"))
        ):
            # 169.254.1.1 is the workloads' dummy gateway; the others are not unicast space
            self.p.add(
                line,
                "params",
                f"calico_pool {pool} is a special-purpose range",
                "an ordinary unicast range such as 172.32.0.0/16",
            )
            return
        if network is not None and pool.overlaps(network):
            suggestion = next(s for s in _POOL_SUGGESTIONS if not ipaddress.IPv4Network(s).overlaps(network))
            self.p.add(
                line,
                "params",
                f"calico_pool {pool} overlaps the lab network {network}: workload routes "
                "would shadow the host-only network",
                f"a pool outside {network}, e.g. {suggestion}",
            )

    def mirrors(self) -> None:
        from labgen.mirrors import RULE_HELP, rule_problem

        rules = self.given("mirrors")
        for key, url in (rules or {}).items():
            why = rule_problem(key, url, pins.ARTIFACTS) if self.ok("mirrors", key) else None
            if why:
                self.p.add(yamlsrc.line_of(rules, key), "mirrors", why, RULE_HELP)

    def nodes(self, network: ipaddress.IPv4Network | None) -> None:
        items = self.given("nodes")
        names: dict[str, int] = {}
        ips: dict[ipaddress.IPv4Address, tuple[str, int]] = {}
        for index, item in enumerate(items or []):
            if not isinstance(item, dict):
                continue
            obj = _where(self.data, ("nodes", index))[0]
            name = self.given("nodes", index, "name")
            if name is not None:
                line = yamlsrc.line_of(item, "name")
                if name in names:
                    self.p.add(
                        line,
                        obj,
                        f"the name is already used by the node at line {names[name]}",
                        "a unique name per node",
                    )
                else:
                    names[name] = line
            ip = self.ip(item, obj, network) if self.given("nodes", index, "ip") is not None else None
            if ip is not None:
                line = yamlsrc.line_of(item, "ip")
                if ip in ips:
                    other, other_line = ips[ip]
                    self.p.add(
                        line,
                        obj,
                        f"ip {ip} is already used by {other} (line {other_line})",
                        "a unique address per node",
                    )
                else:
                    ips[ip] = (obj, line)

    def ip(self, item: dict, obj: str, network: ipaddress.IPv4Network | None) -> ipaddress.IPv4Address | None:
        line, text = yamlsrc.line_of(item, "ip"), item["ip"]
        expected = (_address_range(self.data) if network else None) or "an IPv4 address on the lab network"
        try:
            ip = ipaddress.IPv4Address(text)
        except ValueError:
            self.p.add(line, obj, f"ip {show(text)} is not a valid IPv4 address", expected)
            return None
        if network is None:
            return ip
        if ip not in network:
            problem = f"ip {ip} is outside network {network}"
        elif ip == network.network_address:
            problem = f"ip {ip} is the network address of {network}"
        elif ip == network.broadcast_address:
            problem = f"ip {ip} is the broadcast address of {network}"
        elif ip == network.network_address + 1:
            problem = f"ip {ip} is the host's own address on {network}"
        else:
            return ip
        self.p.add(line, obj, problem, expected)
        return None


def _build(data: dict) -> Lab:
    """The Lab of a document that passed the schema and the rules."""
    defaults = data.get("defaults", {})
    memory, cpus = defaults.get("memory", DEFAULT_MEMORY), defaults.get("cpus", DEFAULT_CPUS)
    nodes = tuple(
        Node(
            name=n["name"],
            ip=ipaddress.IPv4Address(n["ip"]),
            roles=tuple(n["roles"]),
            memory=int(n.get("memory", memory)),
            cpus=int(n.get("cpus", cpus)),
        )
        for n in data["nodes"]
    )
    return Lab(
        name=data["name"],
        description=data.get("description", ""),
        network=ipaddress.IPv4Network(data["network"]["cidr"]),
        boxes={p: data["boxes"][p] for p in PROVIDERS if p in data["boxes"]},
        nodes=nodes,
        message=data.get("message", ""),
        synced_folder=data.get("synced_folder", False),
        params={**PARAM_DEFAULTS, **data.get("params", {})},
        mirrors=tuple(data.get("mirrors", {}).items()),
        instance=data.get("instance", ""),
    )
