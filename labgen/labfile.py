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
from labgen.provision.roles import ROLE_NAMES
from labgen.resources import builtin_labs_dir
from labgen.validate import Problems, character_problem, closest, did_you_mean, kind, show

# The structure (keys, ranges, patterns) comes from the published schema, labgen/schemas/lab.json.
TOP_KEYS = schemas.keys("lab")
REQUIRED_TOP_KEYS = schemas.required("lab")
NETWORK_KEYS = schemas.keys("lab", "properties/network")
DEFAULT_KEYS = schemas.keys("lab", "properties/defaults")
NODE_KEYS = schemas.keys("lab", "$defs/node")
REQUIRED_NODE_KEYS = schemas.required("lab", "$defs/node")

# Lab parameters: the known keys and their defaults. Values are strings.
PARAM_DEFAULTS = {
    "docker_version": pins.DOCKER_DEFAULT,   # the version with the MAC bug; 18.06.0 fixes it
    "calico_pool": schemas.node("lab", "properties/params/properties/calico_pool")["default"],
}

DEFAULT_MEMORY = schemas.node("lab", "$defs/memory")["default"]
DEFAULT_CPUS = schemas.node("lab", "$defs/cpus")["default"]
MIN_MEMORY, MAX_MEMORY = schemas.bounds("lab", "$defs/memory")          # MiB
MIN_CPUS, MAX_CPUS = schemas.bounds("lab", "$defs/cpus")
MIN_PREFIX, MAX_PREFIX = 16, 29             # (a range of the parsed network: code, not schema)
MAX_NODES = schemas.bounds("lab", "properties/nodes")[1]
MAX_TEXT = schemas.max_length("lab", "$defs/text")                     # description, message
MAX_BOX = schemas.max_length("lab", "$defs/box")
MAX_INSTANCE = schemas.max_length("lab", "properties/instance")  # names are labgen-<instance>-<node>

_LABEL = re.compile(schemas.pattern("lab", "$defs/label"))
_BOX = re.compile(schemas.pattern("lab", "$defs/box"))
# [0-9], not \d: no Unicode digits
_VERSION = re.compile(schemas.pattern("lab", "properties/params/properties/docker_version"))
_CIDR = re.compile(schemas.pattern("lab", "$defs/cidr"))
_POOL_SUGGESTIONS = ("172.32.0.0/16", "10.233.0.0/16", "172.31.0.0/16")

LABEL_RULE = ("an RFC 1123 label: lowercase letters, digits and hyphens, at most 63 characters, "
              "not starting or ending with a hyphen")


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
    lab = _Parser(problems).lab(data)
    if not problems:
        schemacheck.check(data, "lab", problems)    # the net: a schema rule the code lacks
    if problems or lab is None:
        raise InputError(problems.sorted(),
                         hint="see labgen/labs/mesos-calico.yml for a complete, valid lab file")
    return lab


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
    raise InputError([f"{problem}; expected {expected}"],
                     hint="`labgen list` shows the built-in labs with their descriptions")


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


def _text_problem(value: str, limit: int = MAX_TEXT) -> str | None:
    """Why free text `value` is unacceptable (too long, control characters), or None."""
    if len(value) > limit:
        return f"is {len(value)} characters long"
    # newlines only: a tab in a description or message is a mistake, not layout
    return character_problem(value, allow="\n")



class _Parser:
    """The validation stages; each records problems and returns its best-effort result."""

    def __init__(self, problems: Problems):
        self.p = problems

    # ---- generic checks

    def keys(self, mapping: dict, allowed: tuple, obj: str, required: tuple = (),
             what: dict | None = None) -> None:
        for key in mapping:
            if key in allowed:
                continue
            hint = did_you_mean(key, allowed) if isinstance(key, str) else ""
            self.p.add(yamlsrc.line_of(mapping, key), obj, f"unknown key {show(key)}{hint}",
                       "one of " + ", ".join(allowed))
        for key in required:
            if key not in mapping:
                self.p.add(yamlsrc.line_of(mapping), obj, f"missing key {key!r}",
                           (what or {}).get(key))

    def typed(self, mapping: dict, key: str, kinds: tuple, obj: str, expected: str) -> bool:
        """Whether mapping[key] has one of `kinds` (bool is never an int); records if not."""
        value = mapping[key]
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            self.p.add(yamlsrc.line_of(mapping, key), obj,
                       f"{key} is {kind(value)} ({show(value)})", expected)
        return ok

    def label(self, mapping: dict, key: str, obj: str, what: str) -> str | None:
        if not self.typed(mapping, key, (str,), obj, LABEL_RULE):
            return None
        value = mapping[key]
        why = _label_problem(value)
        if why:
            self.p.add(yamlsrc.line_of(mapping, key), obj,
                       f"{what} {show(value)} {why}", LABEL_RULE)
            return None
        return value

    def text(self, mapping: dict, key: str, obj: str) -> str:
        if key not in mapping:
            return ""
        expected = (f"plain text of at most {MAX_TEXT} characters "
                    "(newlines allowed, no other control characters)")
        if not self.typed(mapping, key, (str,), obj, expected):
            return ""
        why = _text_problem(mapping[key])
        if why:
            self.p.add(yamlsrc.line_of(mapping, key), obj, f"{key} {why}", expected)
            return ""
        return mapping[key]

    def integer(self, mapping: dict, key: str, obj: str, low: int, high: int, unit: str,
                default: int) -> int:
        if key not in mapping:
            return default
        expected = f"an integer from {low} to {high}{unit}"
        if not self.typed(mapping, key, (int,), obj, expected):
            return default
        value = mapping[key]
        if not low <= value <= high:
            adjective = "too small" if value < low else "too large"
            self.p.add(yamlsrc.line_of(mapping, key), obj, f"{key} {value} is {adjective}", expected)
            return default
        return value

    # ---- stages

    def lab(self, data: Any) -> Lab | None:
        if data is None:
            self.p.add(0, "lab", "the file is empty",
                       "a mapping with keys " + ", ".join(REQUIRED_TOP_KEYS))
            return None
        if not isinstance(data, dict):
            self.p.add(yamlsrc.line_of(data) or 1, "lab", f"the file holds {kind(data)}",
                       "a mapping with keys " + ", ".join(REQUIRED_TOP_KEYS))
            return None
        self.keys(data, TOP_KEYS, "lab", REQUIRED_TOP_KEYS, what={
            "name": LABEL_RULE,
            "network": "a mapping with cidr, e.g. {cidr: 192.168.56.0/24}",
            "boxes": "a mapping of provider to box, e.g. {virtualbox: ubuntu/xenial64}",
            "nodes": "a list of nodes, each with name, ip and roles",
        })
        name = self.label(data, "name", "lab", "name") if "name" in data else None
        instance = self.label(data, "instance", "lab", "instance") if "instance" in data else ""
        if instance and len(instance) > MAX_INSTANCE:
            self.p.add(yamlsrc.line_of(data, "instance"), "lab",
                       f"instance {show(instance)} is longer than {MAX_INSTANCE} characters",
                       "a short label such as cr1-s03")
        obj = "lab"
        description = self.text(data, "description", obj)
        message = self.text(data, "message", obj)
        synced = False
        if "synced_folder" in data and self.typed(data, "synced_folder", (bool,), obj,
                                                  "true or false"):
            synced = data["synced_folder"]
        network = self.network(data.get("network"), data) if "network" in data else None
        boxes = self.boxes(data["boxes"], data) if "boxes" in data else {}
        memory, cpus = self.defaults(data)
        params = self.params(data, network)
        mirrors = self.mirrors(data) if "mirrors" in data else ()
        nodes = self.nodes(data, network, memory, cpus) if "nodes" in data else []
        if name is None or network is None or nodes is None or self.p.items:
            return None
        return Lab(name=name, description=description, network=network, boxes=boxes,
                   nodes=tuple(nodes), message=message, synced_folder=synced, params=params,
                   mirrors=mirrors, instance=instance or "")

    def network(self, value: Any, parent: dict) -> ipaddress.IPv4Network | None:
        obj = "network"
        if not isinstance(value, dict):
            self.p.add(yamlsrc.line_of(parent, "network"), obj, f"network is {kind(value)}",
                       "a mapping with cidr, e.g. {cidr: 192.168.56.0/24}")
            return None
        self.keys(value, NETWORK_KEYS, obj, NETWORK_KEYS,
                  what={"cidr": "an IPv4 network such as 192.168.56.0/24"})
        if "cidr" not in value:
            return None
        expected = "an IPv4 network in CIDR notation such as 192.168.56.0/24"
        if not self.typed(value, "cidr", (str,), obj, expected):
            return None
        line = yamlsrc.line_of(value, "cidr")
        net = self.cidr(value["cidr"], line, obj, "cidr", expected)
        if net is None:
            return None
        if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
            self.p.add(line, obj, f"cidr {net} has prefix /{net.prefixlen}",
                       f"a prefix from /{MIN_PREFIX} to /{MAX_PREFIX}")
            return None
        if not net.is_private or net.is_loopback or net.is_link_local:
            self.p.add(line, obj, f"cidr {net} is not a private network range",
                       "a private IPv4 network (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) "
                       "such as 192.168.56.0/24")
            return None
        return net

    def cidr(self, text: str, line: int, obj: str, key: str,
             expected: str) -> ipaddress.IPv4Network | None:
        if not _CIDR.fullmatch(text):
            self.p.add(line, obj, f"{key} {show(text)} is not an IPv4 network", expected)
            return None
        try:
            return ipaddress.IPv4Network(text, strict=True)
        except ValueError:
            pass
        try:
            loose = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            self.p.add(line, obj, f"{key} {show(text)} is not an IPv4 network", expected)
            return None
        self.p.add(line, obj, f"{key} {text} has host bits set",
                   f"the network address, i.e. {loose}")
        return None

    def boxes(self, value: Any, parent: dict) -> dict:
        obj = "boxes"
        expected = "a mapping of provider to box name, e.g. {virtualbox: ubuntu/xenial64}"
        if not isinstance(value, dict):
            self.p.add(yamlsrc.line_of(parent, "boxes"), obj, f"boxes is {kind(value)}", expected)
            return {}
        self.keys(value, PROVIDERS, obj)
        if not value:
            self.p.add(yamlsrc.line_of(parent, "boxes"), obj, "no box is given",
                       "a box for at least one of " + ", ".join(PROVIDERS))
        result = {}
        box_rule = f"a box name 'owner/name' of at most {MAX_BOX} characters, e.g. ubuntu/xenial64"
        for provider in PROVIDERS:
            if provider not in value:
                continue
            if not self.typed(value, provider, (str,), obj, box_rule):
                continue
            box = value[provider]
            if len(box) > MAX_BOX or not _BOX.fullmatch(box):
                self.p.add(yamlsrc.line_of(value, provider), obj,
                           f"{provider} box {show(box)} is not a valid box name", box_rule)
                continue
            result[provider] = box
        return result

    def defaults(self, data: dict) -> tuple[int, int]:
        if "defaults" not in data:
            return DEFAULT_MEMORY, DEFAULT_CPUS
        value = data["defaults"]
        if not isinstance(value, dict):
            self.p.add(yamlsrc.line_of(data, "defaults"), "defaults",
                       f"defaults is {kind(value)}", "a mapping such as {memory: 1024, cpus: 1}")
            return DEFAULT_MEMORY, DEFAULT_CPUS
        self.keys(value, DEFAULT_KEYS, "defaults")
        memory = self.integer(value, "memory", "defaults", MIN_MEMORY, MAX_MEMORY, " MiB",
                              DEFAULT_MEMORY)
        cpus = self.integer(value, "cpus", "defaults", MIN_CPUS, MAX_CPUS, "", DEFAULT_CPUS)
        return memory, cpus

    def params(self, data: dict, network: ipaddress.IPv4Network | None) -> dict:
        obj = "params"
        params = dict(PARAM_DEFAULTS)
        value = data.get("params", {})
        given: dict = {}
        if "params" in data:
            if isinstance(value, dict):
                given = value
                self.keys(value, tuple(PARAM_DEFAULTS), obj)
            else:
                self.p.add(yamlsrc.line_of(data, "params"), obj, f"params is {kind(value)}",
                           "a mapping of parameter to value, e.g. {docker_version: \"18.03.1\"}")
        if "docker_version" in given:
            expected = "a quoted version string such as \"18.03.1\""
            if self.typed(given, "docker_version", (str,), obj, expected):
                version = given["docker_version"]
                if _VERSION.fullmatch(version):
                    params["docker_version"] = version
                else:
                    self.p.add(yamlsrc.line_of(given, "docker_version"), obj,
                               f"docker_version {show(version)} is not a version number",
                               expected)
        pool: ipaddress.IPv4Network | None = ipaddress.IPv4Network(PARAM_DEFAULTS["calico_pool"])
        pool_line = yamlsrc.line_of(data, "network")
        if "calico_pool" in given:
            expected = "an IPv4 network such as 172.32.0.0/16"
            pool_line = yamlsrc.line_of(given, "calico_pool")
            pool = None
            if self.typed(given, "calico_pool", (str,), obj, expected):
                pool = self.cidr(given["calico_pool"], pool_line, obj, "calico_pool", expected)
            if pool is not None and pool.prefixlen > 26:
                self.p.add(pool_line, obj, f"calico_pool {pool} is smaller than a /26",
                           "a pool of /26 or larger: Calico hands out addresses in /26 blocks")
                pool = None
            if pool is not None and (pool.is_loopback or pool.is_link_local or pool.is_multicast
                                     or pool.is_reserved or pool.is_unspecified
                                     or pool.overlaps(ipaddress.IPv4Network("0.0.0.0/8"))):
                # 169.254.1.1 is the workloads' dummy gateway; the others are not unicast space
                self.p.add(pool_line, obj, f"calico_pool {pool} is a special-purpose range",
                           "an ordinary unicast range such as 172.32.0.0/16")
                pool = None
        if pool is not None:
            params["calico_pool"] = str(pool)
            if network is not None and pool.overlaps(network):
                suggestion = next(s for s in _POOL_SUGGESTIONS
                                  if not ipaddress.IPv4Network(s).overlaps(network))
                which = "calico_pool" if "calico_pool" in given else "the default calico_pool"
                self.p.add(pool_line, obj,
                           f"{which} {pool} overlaps the lab network {network}: workload routes "
                           "would shadow the host-only network",
                           f"a pool outside {network}, e.g. {suggestion}")
        return params

    def mirrors(self, data: dict) -> tuple[tuple[str, str], ...]:
        from labgen.mirrors import RULE_HELP, rule_problem

        value = data["mirrors"]
        if not isinstance(value, dict):
            self.p.add(yamlsrc.line_of(data, "mirrors"), "mirrors", f"mirrors is {kind(value)}",
                       "a mapping: " + RULE_HELP)
            return ()
        rules = []
        for key, url in value.items():
            why = rule_problem(key, url, pins.ARTIFACTS)
            if why:
                self.p.add(yamlsrc.line_of(value, key), "mirrors", why, RULE_HELP)
            else:
                rules.append((key, url))
        return tuple(rules)

    def nodes(self, data: dict, network: ipaddress.IPv4Network | None, memory: int,
              cpus: int) -> list[Node] | None:
        value = data["nodes"]
        line = yamlsrc.line_of(data, "nodes")
        if not isinstance(value, list):
            self.p.add(line, "nodes", f"nodes is {kind(value)}",
                       "a list of nodes, each with name, ip and roles")
            return None
        if not value:
            self.p.add(line, "nodes", "the list is empty", "at least one node")
            return None
        if len(value) > MAX_NODES:
            self.p.add(line, "nodes", f"{len(value)} nodes are too many",
                       f"at most {MAX_NODES} nodes")
            return None
        result: list[Node] = []
        names: dict[str, int] = {}
        ips: dict[ipaddress.IPv4Address, tuple[str, int]] = {}
        for index, item in enumerate(value):
            node, name, ip = self.node(value, index, network, memory, cpus)
            # Duplicates are checked even for nodes with other problems: report everything.
            obj = f"node {name}" if name else f"node #{index + 1}"
            duplicate = False
            if name is not None:
                node_line = yamlsrc.line_of(item, "name")
                if name in names:
                    self.p.add(node_line, obj,
                               f"the name is already used by the node at line {names[name]}",
                               "a unique name per node")
                    duplicate = True
                else:
                    names[name] = node_line
            if ip is not None:
                ip_line = yamlsrc.line_of(item, "ip")
                if ip in ips:
                    other, other_line = ips[ip]
                    self.p.add(ip_line, obj,
                               f"ip {ip} is already used by {other} (line {other_line})",
                               "a unique address per node")
                    duplicate = True
                else:
                    ips[ip] = (obj, ip_line)
            if node is not None and not duplicate:
                result.append(node)
        return result

    def node(self, nodes: list, index: int, network: ipaddress.IPv4Network | None,
             memory: int, cpus: int) -> tuple[Node | None, str | None, Any]:
        """(the Node or None when it has problems, its valid name or None, its valid ip or None)."""
        item = nodes[index]
        obj = f"node #{index + 1}"
        if not isinstance(item, dict):
            self.p.add(yamlsrc.line_of(nodes, index), obj, f"the node is {kind(item)}",
                       "a mapping with name, ip and roles")
            return None, None, None
        before = len(self.p.items)
        name = self.label(item, "name", obj, "name") if "name" in item else None
        if name:
            obj = f"node {name}"
        self.keys(item, NODE_KEYS, obj, REQUIRED_NODE_KEYS, what={
            "name": LABEL_RULE,
            "ip": f"an address in {network}" if network else "an IPv4 address",
            "roles": "a list of roles, e.g. [base, docker]",
        })
        ip = self.ip(item, obj, network) if "ip" in item else None
        node_memory = self.integer(item, "memory", obj, MIN_MEMORY, MAX_MEMORY, " MiB", memory)
        node_cpus = self.integer(item, "cpus", obj, MIN_CPUS, MAX_CPUS, "", cpus)
        roles = self.roles(item, obj) if "roles" in item else ()
        if len(self.p.items) != before or name is None or ip is None:
            return None, name, ip
        return Node(name=name, ip=ip, roles=roles, memory=node_memory, cpus=node_cpus), name, ip

    def ip(self, item: dict, obj: str, network: ipaddress.IPv4Network | None):
        line = yamlsrc.line_of(item, "ip")
        if network is not None and network.num_addresses >= 4:
            first, last = network.network_address + 2, network.broadcast_address - 1
            expected = f"an address from {first} to {last}"
        else:
            expected = "an IPv4 address on the lab network"
        if not self.typed(item, "ip", (str,), obj, expected):
            return None
        text = item["ip"]
        try:
            ip = ipaddress.IPv4Address(text)
        except ValueError:
            self.p.add(line, obj, f"ip {show(text)} is not an IPv4 address", expected)
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

    def roles(self, item: dict, obj: str) -> tuple[str, ...]:
        value = item["roles"]
        if not isinstance(value, list):
            self.p.add(yamlsrc.line_of(item, "roles"), obj, f"roles is {kind(value)}",
                       "a list of roles, e.g. [base, docker]")
            return ()
        known = "one of " + ", ".join(ROLE_NAMES)
        seen: list[str] = []
        for index, role in enumerate(value):
            line = yamlsrc.line_of(value, index)
            if not isinstance(role, str) or isinstance(role, bool):
                self.p.add(line, obj, f"role {show(role)} is {kind(role)}", known)
                continue
            if role not in ROLE_NAMES:
                hint = did_you_mean(role, ROLE_NAMES)
                self.p.add(line, obj, f"unknown role {show(role)}{hint}", known)
                continue
            if role in seen:
                self.p.add(line, obj, f"role {role!r} is listed twice", "each role once")
                continue
            seen.append(role)
        return tuple(seen)
