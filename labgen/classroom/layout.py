"""A classroom's data and every name and address derived from it. Pure: no I/O but reading
and writing the classroom's own small files.

One classroom name (a short label, `cr1`) and a seat number derive everything, so no two
classrooms or seats on a host collide:

  seat 3 of classroom cr1
    lab dir      <classroom dir>/seat-03/         (an ordinary lab dir: labgen status works there)
    instance     cr1-s03   → containers labgen-cr1-s03-<node>, bridge lgbr<hash(cr1-s03|net)>
    account      cr1-s03   (the host account students jump through)
    network      the pool's 3rd subnet of the lab's size: 10.56.3.0/24 in the default pool

Node host parts stay those of the lab file (.101, .102...), so the story reads the same in
every seat; only the network part changes.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from labgen import schemacheck, yamlsrc
from labgen.errors import InputError, LabgenError
from labgen.validate import Problems

CLASSROOM_FILE = "classroom.yml"
LAB_COPY = "lab.yml"
# The default pool: seat N gets 10.56.N.0/24 (N = 1..63). It avoids VirtualBox's host-only
# range 192.168.56.0/21, libvirt's 192.168.121/122.0/24, lxcbr0's 10.0.3.0/24, Docker's
# 172.17.0.0/16 and the Calico pool 172.32.0.0/16; the host's routes are checked anyway.
DEFAULT_POOL = ipaddress.IPv4Network("10.56.0.0/18")
DEFAULT_SSH_PORT = 2222
MAX_SEATS = 250  # both also in labgen/schemas/classroom.json (a test keeps them equal)
MAX_NAME = 12  # containers are labgen-<name>-sNN-<node>; accounts <name>-sNN (≤ 32)
_NAME = re.compile(r"[a-z]([a-z0-9-]*[a-z0-9])?")
PRIVATE = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


@dataclass(frozen=True)
class Classroom:
    name: str
    lab: str  # what the instructor named: a built-in lab or a file
    seats: int
    pool: ipaddress.IPv4Network
    provider: str
    ssh_port: int = DEFAULT_SSH_PORT
    ssh_address: str = ""  # the address students connect to (on their sheets)
    path: Path | None = None  # the classroom dir
    roles: tuple[str, ...] = ()  # roles `up` provisions (empty: all of the lab's)

    @property
    def root(self) -> Path:
        """The classroom dir (only a request being checked, before create(), has none)."""
        if self.path is None:
            raise LabgenError(f"classroom {self.name} has no folder yet")
        return Path(self.path)

    def seat_dir(self, seat: int) -> Path:
        return self.root / f"seat-{seat:02d}"

    def instance(self, seat: int) -> str:
        return instance_name(self.name, seat)

    def account(self, seat: int) -> str:
        return instance_name(self.name, seat)

    @property
    def numbers(self) -> list[int]:
        return list(range(1, self.seats + 1))


def instance_name(classroom: str, seat: int) -> str:
    return f"{classroom}-s{seat:02d}"


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a classroom, or None."""
    if not _NAME.fullmatch(name) or "--" in name:
        return (
            f"classroom name {name!r} must start with a lowercase letter and hold only "
            "lowercase letters, digits and single hyphens"
        )
    if len(name) > MAX_NAME:
        return f"classroom name {name!r} is {len(name)} characters long; at most {MAX_NAME}"
    return None


def seat_networks(pool: ipaddress.IPv4Network, prefixlen: int) -> list[ipaddress.IPv4Network]:
    """Subnets of the pool sized like the lab's network; seat N gets index N (0 stays unused,
    so in 10.56.0.0/18 seat 7 is 10.56.7.0/24)."""
    if prefixlen < pool.prefixlen:
        return []
    return list(pool.subnets(new_prefix=prefixlen))


def max_seats(pool: ipaddress.IPv4Network, prefixlen: int) -> int:
    return max(0, min(MAX_SEATS, len(seat_networks(pool, prefixlen)) - 1))


def seat_network(pool: ipaddress.IPv4Network, prefixlen: int, seat: int) -> ipaddress.IPv4Network:
    return seat_networks(pool, prefixlen)[seat]


def check_request(name: str, seats: int, pool: ipaddress.IPv4Network, lab) -> None:
    """Raise InputError (one line each) for a bad name, seat count or pool for `lab`."""
    problems = []
    why = name_problem(name)
    if why:
        problems.append(why)
    prefixlen = lab.network.prefixlen
    if not any(pool.subnet_of(p) for p in PRIVATE):
        problems.append(
            f"pool {pool} is not a private network (10/8, 172.16/12, 192.168/16): "
            "seat networks would shadow real destinations"
        )
    room = max_seats(pool, prefixlen)
    if seats < 1 or seats > MAX_SEATS:
        problems.append(f"--seats {seats} is out of range: 1 to {min(MAX_SEATS, room) or MAX_SEATS}")
    elif seats > room:
        problems.append(
            f"pool {pool} holds {room} seat(s) of the lab's /{prefixlen} network, "
            f"not {seats}: give a bigger --pool (a /{prefixlen - seats.bit_length()} "
            f"or larger)"
        )
    calico = lab.params.get("calico_pool")
    if calico:
        try:
            calico_net = ipaddress.IPv4Network(calico)
        except ValueError:
            calico_net = None
        if calico_net and calico_net.overlaps(pool):
            problems.append(f"pool {pool} overlaps the lab's calico_pool {calico_net}")
    if problems:
        raise InputError(problems, hint="nothing was created")


def parse_seat_list(text: str | None, seats: int) -> list[int]:
    """'all', '3' or '1,4-6' → sorted seat numbers; InputError for anything else or out of range."""
    if text in (None, "", "all"):
        return list(range(1, seats + 1))
    chosen: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*([0-9]{1,3})\s*(?:-\s*([0-9]{1,3})\s*)?", part)
        if not m:
            raise InputError([f"seat list {text!r}: {part!r} is not a number or a range like 4-6"])
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo > hi or lo < 1 or hi > seats:
            raise InputError(
                [f"seat list {text!r}: {part.strip()} is out of range: this classroom has seats 1-{seats}"]
            )
        chosen.update(range(lo, hi + 1))
    return sorted(chosen)


# ---- the seat's lab file


def seat_lab_data(raw: dict, lab, classroom: Classroom, seat: int) -> dict:
    """The lab file data of one seat: the lab's own YAML data with `instance` set and every
    address moved into the seat's network (host parts kept)."""
    net = seat_network(classroom.pool, lab.network.prefixlen, seat)
    data = dict(raw)
    data["instance"] = classroom.instance(seat)
    data["network"] = {**dict(raw.get("network") or {}), "cidr": str(net)}
    nodes = []
    for item, node in zip(raw["nodes"], lab.nodes):
        offset = int(node.ip) - int(lab.network.network_address)
        nodes.append({**dict(item), "ip": str(net.network_address + offset)})
    data["nodes"] = nodes
    return data


def seat_lab_text(raw: dict, lab, classroom: Classroom, seat: int) -> str:
    head = (
        f"# Seat {seat} of classroom {classroom.name}: written by `labgen classroom up` from\n"
        f"# {classroom.lab}. Only `instance` and the addresses differ from the lab file.\n"
    )
    return head + yaml.safe_dump(
        seat_lab_data(raw, lab, classroom, seat), sort_keys=False, allow_unicode=True, width=100
    )


# ---- classroom.yml


def classroom_text(c: Classroom) -> str:
    data = {
        "name": c.name,
        "lab": c.lab,
        "seats": c.seats,
        "pool": str(c.pool),
        "provider": c.provider,
        "ssh_port": c.ssh_port,
        "ssh_address": c.ssh_address,
        "roles": list(c.roles),
    }
    return "# A labgen classroom: `labgen classroom status` in this dir shows its seats.\n" + yaml.safe_dump(
        data, sort_keys=False
    )


def load_classroom(path: Path) -> Classroom:
    """Read <path>/classroom.yml. Raises LabgenError when it is missing, or damaged (every
    problem, file:line, checked against labgen/schemas/classroom.json)."""
    path = Path(path).resolve()
    file = path / CLASSROOM_FILE
    if not file.is_file():
        raise LabgenError(
            f"no classroom in {path}",
            hint="cd into a classroom dir, pass --dir, or create one: `labgen classroom up LAB --seats N`",
        ) from None
    try:
        data = yamlsrc.load_file(file)
    except InputError as exc:
        raise LabgenError(f"{file} is damaged: {exc.message}") from None
    problems = Problems(str(file))
    schemacheck.check(data, "classroom", problems)
    pool = None
    if not problems and "--" in data["name"]:
        problems.add(yamlsrc.line_of(data, "name"), "classroom", name_problem(data["name"]) or "")
    if not problems:
        try:
            pool = ipaddress.IPv4Network(data["pool"])
        except ValueError as exc:
            problems.add(
                yamlsrc.line_of(data, "pool"), "classroom", f"pool: {exc}", "a network address such as 10.56.0.0/18"
            )
    if problems or pool is None:
        # one line: `FILE is damaged: line 3: classroom: seats is 'x' (a string); expected ...`
        said = "; ".join(p[len(str(file)) :].lstrip(": ") for p in problems.sorted())
        raise LabgenError(
            f"{file} is damaged: {said}", hint="`labgen classroom up` writes it; restore it or run that again"
        ) from None
    return Classroom(
        name=data["name"],
        lab=data["lab"],
        seats=data["seats"],
        pool=pool,
        provider=data["provider"],
        ssh_port=data.get("ssh_port", DEFAULT_SSH_PORT),
        ssh_address=data.get("ssh_address") or "",
        path=path,
        roles=tuple(data.get("roles") or ()),
    )


def find_classroom_dir(start: Path | None = None) -> Path:
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CLASSROOM_FILE).is_file():
            return candidate
    raise LabgenError(
        f"no classroom in {here} or above",
        hint="cd into a classroom dir, pass --dir, or create one: `labgen classroom up LAB --seats N`",
    )
