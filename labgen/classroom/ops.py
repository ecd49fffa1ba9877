"""A classroom's life over its seats: create, up, down, reset, status, exec, scenario.

Orchestration only (like lifecycle.py for one lab): names and addresses come from layout.py,
machines from placement.py (the seam), rules from isolation.py, access from access.py.
Nothing here prints; progress goes to `say(seat, text)` callbacks the CLI passes in.
Seats run in parallel, at most one per core for boots (Vagrant and provisioning are CPU-bound
here; one more for clones of the seat image, see default_workers) and more for commands that
mostly wait on the network.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import yaml

from labgen import hostlimits, lifecycle
from labgen.classroom import access, hostcheck, image as seatimage, isolation
from labgen.classroom.image import image_for
from labgen.classroom.layout import (
    CLASSROOM_FILE,
    LAB_COPY,
    MAX_SEATS,
    Classroom,
    check_request,
    classroom_text,
    load_classroom,
    seat_lab_data,
    seat_lab_text,
    seat_network,
)
from labgen.classroom.placement import placement_for
from labgen.errors import InputError, LabgenError, ScenarioFailed
from labgen.labdir import LabDir, atomic_write
from labgen.labfile import find_lab, load_lab, parse_lab
from labgen.model import STUDENT_KINDS
from labgen.providers import get_provider
from labgen.provision.engine import provision, roles_recorded
from labgen.remote import Remote, Result
from labgen.scenario.challenge import Challenge
from labgen.scenario.handout import write_handout
from labgen.scenario.load import check_against_lab, find_scenario, load_scenario
from labgen.scenario.runner import Runner, select_steps
from labgen.yamlsrc import load_text

if TYPE_CHECKING:
    from labgen.scenario.record import RunRecord

SaySeat = Callable[[int, str], None]
KEYS_DIR = ".classroom/keys"


@dataclass
class SeatOutcome:
    seat: int
    ok: bool
    detail: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- the classroom and its lab


def lab_of(c: Classroom):
    """(Lab, raw YAML data) of the classroom's copy of its lab file."""
    path = c.root / LAB_COPY
    return load_lab(path), yaml.safe_load(path.read_text(encoding="utf-8"))


def seat_lab(c: Classroom, seat: int):
    """The seat's Lab model (instance and addresses of the seat) and its lab file text."""
    lab, raw = lab_of(c)
    text = seat_lab_text(raw, lab, c, seat)
    source = f"seat-{seat:02d}/lab.yml"
    return parse_lab(load_text(text, source), source), text


def create(
    path: Path,
    lab_arg: str,
    *,
    seats: int,
    name: str,
    pool: ipaddress.IPv4Network,
    provider: str,
    ssh_port: int,
    ssh_address: str,
    roles: tuple[str, ...] = (),
    use_image: bool = True,
) -> Classroom:
    """Validate everything, then write classroom.yml and lab.yml into `path`.

    An existing classroom dir is reused when it holds the same classroom (its seat count may
    change). Raises InputError (nothing written) for a bad name, seat count, pool, a dir
    holding a lab, or a name/pool another classroom on this host uses.
    """
    path = Path(path).resolve()
    if LabDir(path).exists() or (path / "Vagrantfile").exists():
        raise InputError(
            [f"{path} holds a lab; a classroom needs a dir of its own"],
            hint="choose another --dir (nothing was created)",
        )
    if (path / CLASSROOM_FILE).exists():
        old = load_classroom(path)
        if old.name != name:
            raise InputError(
                [f"{path} holds classroom {old.name}, not {name}"], hint="use --name " + old.name + " or another --dir"
            )
        if str(old.pool) != str(pool) or old.lab != lab_arg:
            raise InputError(
                [f"classroom {name} was made with lab {old.lab} and pool {old.pool}"],
                hint="`labgen classroom down` first to change them",
            )
        lab_file = path / LAB_COPY
    else:
        if path.exists() and any(path.iterdir()):
            raise InputError(
                [f"{path} is not empty and holds no classroom"], hint="choose another --dir (nothing was created)"
            )
        lab_file = find_lab(lab_arg)
    lab = load_lab(lab_file)
    check_request(name, seats, pool, lab)
    unknown = [r for r in roles if not any(r in n.roles for n in lab.nodes)]
    if unknown:
        raise InputError(
            [f"--role: lab {lab.name} has no role {', '.join(unknown)}"],
            hint="roles of its nodes: " + ", ".join(sorted({r for n in lab.nodes for r in n.roles})),
        )

    refused = get_provider(provider).seats_refused()
    if refused:
        raise InputError([refused], hint="--provider lxc")
    for other, info in access.registry().items():
        if other == name and Path(info.get("dir", "")) != path:
            raise InputError(
                [f"classroom {name} already exists on this host in {info.get('dir')}"],
                hint="choose another --name, or `labgen classroom down` there",
            )
    c = Classroom(
        name=name,
        lab=lab_arg,
        seats=seats,
        pool=pool,
        provider=provider,
        ssh_port=ssh_port,
        ssh_address=ssh_address or hostcheck.primary_address(),
        path=path,
        roles=tuple(roles),
    )
    check_host(c, lab, use_image)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / LAB_COPY).exists():
        atomic_write(path / LAB_COPY, lab_file.read_text(encoding="utf-8"))
    atomic_write(path / CLASSROOM_FILE, classroom_text(c))
    return c


def check_host(c: Classroom, lab, use_image: bool = True) -> None:
    """Pool against the host's routes and other classrooms; memory and disk for the seats
    that are not up yet. Raises InputError / PreflightError with the numbers."""
    own = set()
    place = placement_for(c.provider)
    for seat in range(1, c.seats + 1):
        own.add(place.host_resources(_seat_model_quick(c, lab, seat))["bridge"])
    others = [
        (n, ipaddress.IPv4Network(i["pool"])) for n, i in access.registry().items() if n != c.name and "pool" in i
    ]
    hostcheck.check_pool(c.pool, own, others)
    missing = [s for s in range(1, c.seats + 1) if not LabDir(c.seat_dir(s)).load_state().get("booted")]
    prov = place.provider_obj()
    image_mib = hostcheck.image_disk_mib(lab) if use_image and not seat_image(c, lab).ready() else 0
    hostcheck.check_capacity(
        lab,
        len(missing),
        prov.machines_path(),
        image_mib=image_mib,
        cloned=use_image,
        runs=hostcheck.roles_that_run(lab, prov.distro_for(lab)),
    )


def _seat_model_quick(c: Classroom, lab, seat: int):
    net = seat_network(c.pool, lab.network.prefixlen, seat)
    nodes = tuple(
        replace(n, ip=net.network_address + (int(n.ip) - int(lab.network.network_address))) for n in lab.nodes
    )
    return replace(lab, instance=c.instance(seat), network=net, nodes=nodes)


def _record(c: Classroom, use_image: bool | None = None) -> None:
    d = access.state_dir(c.name)
    d.mkdir(parents=True, exist_ok=True)
    if use_image is None:
        use_image = uses_image(c)
    (d / "classroom.json").write_text(
        json.dumps({"dir": str(c.path), "pool": str(c.pool), "seats": c.seats, "image": use_image}) + "\n"
    )


def uses_image(c: Classroom) -> bool:
    """Whether the classroom's seats are clones of a seat image (`up --no-image`: not)."""
    try:
        return bool(json.loads((access.state_dir(c.name) / "classroom.json").read_text()).get("image", True))
    except (OSError, ValueError):
        return True


def seat_image(c: Classroom, lab=None):
    """The classroom's SeatImage (ready or not): keyed by its lab file, roles and box."""
    copy = c.root / LAB_COPY
    if lab is None or copy.exists():
        lab, _ = lab_of(c)
        text = copy.read_text(encoding="utf-8")
    else:
        text = Path(lab.source).read_text(encoding="utf-8")  # create(): not copied yet
    return image_for(text, tuple(c.roles), lab.boxes.get(c.provider, ""), c.provider)


IMAGES_FILE = ".classroom/images"


def _remember_image(c: Classroom, key: str) -> None:
    """Every seat image this classroom's seats were cloned from (an edited lab, roles or box
    make a new one): `down --image` removes them."""
    f = c.root / IMAGES_FILE
    keys = used_images(c)
    if key not in keys:
        f.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(f, "".join(k + "\n" for k in [*keys, key]))


def used_images(c: Classroom) -> list[str]:
    f = c.root / IMAGES_FILE
    return [k for k in f.read_text().split() if k.isalnum()] if f.exists() else []


def image_lab_text(c: Classroom, image) -> str:
    """The image's lab file: the lab on the pool's unused subnet 0, instance img<key>."""
    lab, raw = lab_of(c)
    data = seat_lab_data(raw, lab, c, 0)
    data["instance"] = image.instance
    head = (
        f"# The seat image of classroom {c.name} (and of any classroom of the same lab,\n"
        f"# roles and box): written by `labgen classroom up`; seats are clones of it.\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


# ---------------------------------------------------------------- up


def key_path(c: Classroom, seat: int) -> Path:
    return c.root / KEYS_DIR / f"seat-{seat:02d}"


def _prepare_host(c: Classroom, lab) -> list[str]:
    """Everything seats share, done once before they boot in parallel: the provider's shared
    host parts, isolation rules for every seat, the sshd, accounts and keys."""
    changes: list[str] = []
    prov = get_provider(c.provider)
    prov.preflight(lab)
    place = placement_for(c.provider)
    # Every container on the host counts against the same kernel limits: the classroom's seats
    # (and its seat image) and whatever else runs here.
    own = {n for s in c.numbers for n in place.host_resources(_seat_model_quick(c, lab, s))["containers"]}
    nodes = len(own | set(place.provider_obj().machines(""))) + len(lab.nodes)
    changes += hostlimits.ensure(nodes, f"{c.seats} seat(s) of {lab.name} ({nodes} containers on this host)")
    changes += place.provider_obj().prepare_shared_host()
    models = {s: _seat_model_quick(c, lab, s) for s in c.numbers}
    res = {s: place.host_resources(m) for s, m in models.items()}
    isolation.apply(c.name, [r["bridge"] for r in res.values()], [p for r in res.values() for p in r["ports"]])
    changes.append(f"isolation: nft tables inet/bridge {isolation.table_name(c.name)} ({len(models)} seat(s))")
    made = 0
    for s, m in models.items():
        key = key_path(c, s)
        access.ensure_key(key, f"labgen classroom {c.name} seat {s}")
        made += access.ensure_account(c.account(s), c.name, s)
        access.write_authorized(c.name, c.account(s), access.public_key(key), [str(n.ip) for n in m.nodes])
    if made:
        changes.append(f"access: {made} seat account(s)")
    changes += access.ensure_sshd(c.name, c.ssh_port)
    return changes


def authorize_on_nodes(remote, pubkey: str, user: str = "vagrant") -> None:
    """Append the seat's public key to the node user's authorized_keys (once) on every node."""
    home = f"/home/{user}"
    script = (
        f"install -d -m 700 -o {user} -g {user} {home}/.ssh && f={home}/.ssh/authorized_keys && "
        f'(grep -qxF {shlex.quote(pubkey)} "$f" 2>/dev/null || echo {shlex.quote(pubkey)} >>"$f") && '
        f'chown {user}:{user} "$f" && chmod 600 "$f"'
    )
    for node in remote.nodes():
        res = remote.run(node, script, sudo=True, timeout=30)
        if not res.ok:
            raise LabgenError(f"{node}: could not authorise the seat key: {res.stderr.strip()}")


class UpInterrupted(LabgenError):
    """Ctrl-C during `classroom up`, after the seats were sorted: `up` stayed, `removed` went."""

    exit_code = 130

    def __init__(self, message: str, hint: str | None = None, up: Iterable[int] = (), removed: Iterable[int] = ()):
        super().__init__(message, hint)
        self.up, self.removed = list(up), list(removed)


def seat_list_text(seats: list[int]) -> str:
    """1,2,3,5 -> "1-3,5": short enough for one line with 60 seats."""
    parts: list[str] = []
    run: list[int] = []
    for s in sorted(seats):
        if run and s == run[-1] + 1:
            run.append(s)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)))
        run = [s]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)))
    return ",".join(parts) or "none"


def after_interrupt(
    chosen: list[int], started: set[int], was_up: set[int], outcomes: dict[int, SeatOutcome]
) -> dict[str, list[int]]:
    """Sort the seats of an interrupted `up` so that each ends up either up or cleanly absent.

    up:          finished in this run, or already up before it (a re-run only converges
                 those; Ctrl-C never destroys a seat a student may already be using);
    remove:      started in this run and not finished (mid-way, or failed): half-made;
    not_started: never started (cancelled before their turn): left as they were.
    """
    up = [s for s in chosen if (s in outcomes and outcomes[s].ok) or s in was_up]
    remove = [s for s in chosen if s in started and s not in up]
    not_started = [s for s in chosen if s not in started and s not in up]
    return {"up": up, "remove": remove, "not_started": not_started}


def interrupt_message(plan: dict[str, list[int]], removed: list[int], failed: list[int]) -> str:
    """The one line `up` ends with after Ctrl-C."""
    text = f"interrupted: seat(s) {seat_list_text(plan['up'])} up" if plan["up"] else "interrupted: no seat up"
    if removed:
        text += f"; seat(s) {seat_list_text(removed)} removed (were being made)"
    if failed:
        text += f"; seat(s) {seat_list_text(failed)} could not be removed"
    if plan["not_started"]:
        text += f"; seat(s) {seat_list_text(plan['not_started'])} not started"
    return text


def remove_seat(c: Classroom, seat: int, say: SaySeat) -> list[str]:
    """Everything one seat owns, as `down` removes it: its machines (also ones Vagrant had not
    recorded yet), bridge, lab dir, account, authorized key and key pair. The classroom's
    shared parts (rules, sshd, other seats) stay."""
    lab, _ = lab_of(c)
    place = placement_for(c.provider)
    removed = place.remove(c.seat_dir(seat), lambda msg: say(seat, msg))
    removed += place.remove_leftovers(_seat_model_quick(c, lab, seat))
    removed += access.remove_seat(c.name, c.account(seat))
    key = key_path(c, seat)
    for p in (key, key.with_suffix(".pub")):
        if p.exists():
            p.unlink()
    return removed


def default_workers(cloned: bool) -> int:
    """Seats booted at once: one per core; one more when they are clones of the seat image,
    whose provisioning waits seconds on its clusters (etcd's first election, ZooKeeper's 2 s
    of steady answers) while the cores could make another seat (30 trio seats: 290 -> 267 s)."""
    return hostcheck.cores() + (1 if cloned else 0)


def up(
    c: Classroom,
    say: SaySeat,
    seats: list[int] | None = None,
    workers: int | None = None,
    prepared: Callable[[list[str]], None] | None = None,
    note: Callable[[str], None] = lambda text: None,
    use_image: bool | None = None,
) -> list[SeatOutcome]:
    """Bring seats up in parallel; a failing seat does not stop the others. Re-running
    converges only what is missing (a seat that is up costs a status check and a converged
    provisioning run).

    Ctrl-C (KeyboardInterrupt in this, the main thread): no new seat starts, the seats being
    made stop at their next phase or task, then those that did not finish are removed
    (`after_interrupt`) and UpInterrupted (exit 130) says which seats are up and which went.
    A second Ctrl-C stops waiting or removing: UpInterrupted says what may be half-made.
    """
    lab, _ = lab_of(c)
    use_image = uses_image(c) if use_image is None else use_image
    _record(c, use_image)
    changes = _prepare_host(c, lab)
    img = None
    if use_image:
        img = seat_image(c)
        if not img.ready():
            note(f"building the seat image {img.instance} once: the lab provisioned, then cloned for every seat")
        img, made = seatimage.ensure(img, image_lab_text(c, img), list(c.roles) or None, lambda text: say(0, text))
        changes += made
        _remember_image(c, img.key)
    if prepared:
        prepared(changes)
    place = placement_for(c.provider)
    chosen = seats or c.numbers
    was_up = {s for s in chosen if LabDir(c.seat_dir(s)).load_state().get("booted")}
    stop = threading.Event()
    lock = threading.Lock()
    started: set[int] = set()
    results: dict[int, SeatOutcome] = {}  # written by the workers: a Ctrl-C may land anywhere here

    def one(seat: int) -> SeatOutcome:
        with lock:
            if stop.is_set():
                return SeatOutcome(seat, False, "not started")
            started.add(seat)
        try:
            out = _one(seat)
        except BaseException:  # a bug: still a seat that did not finish
            with lock:
                results[seat] = SeatOutcome(seat, False, "failed")
            raise
        with lock:
            results[seat] = out
        return out

    def _one(seat: int) -> SeatOutcome:
        began = time.monotonic()
        try:
            model, text = seat_lab(c, seat)
            place.place(
                c.seat_dir(seat), text, lambda msg: say(seat, msg), roles=list(c.roles) or None, stop=stop, image=img
            )
            if stop.is_set():
                return SeatOutcome(seat, False, "interrupted", time.monotonic() - began)
            with place.remote(c.seat_dir(seat)) as remote:
                authorize_on_nodes(remote, access.public_key(key_path(c, seat)))
            return SeatOutcome(seat, True, "up", time.monotonic() - began)
        except LabgenError as exc:
            return SeatOutcome(
                seat, False, exc.message.splitlines()[0] if exc.message else "failed", time.monotonic() - began
            )

    pool = ThreadPoolExecutor(max_workers=max(1, min(len(chosen), workers or default_workers(img is not None))))
    try:
        futures = [pool.submit(one, s) for s in chosen]
        outcomes = [f.result() for f in futures]
    except KeyboardInterrupt:
        with lock:
            stop.set()
        _after_ctrl_c(c, chosen, pool, started, was_up, results, lock, say, note)
        raise  # not reached: _after_ctrl_c raises
    pool.shutdown(wait=True)
    return outcomes


def _after_ctrl_c(c: Classroom, chosen, pool, started, was_up, results, lock, say: SaySeat, note) -> None:
    """Wait for the seats being made to stop, remove the half-made ones, raise UpInterrupted."""
    again = "; Ctrl-C again quits, leaving them for `labgen classroom down` or a re-run of `up`"
    hint = "`labgen classroom down --yes` removes everything; re-running `up` completes them"
    with lock:
        waiting = sorted(s for s in started if s not in results)
    if waiting:
        note(f"interrupted: waiting for seat(s) {seat_list_text(waiting)} to stop" + again)
    try:
        pool.shutdown(wait=True, cancel_futures=True)  # queued seats never start; started ones end
    except KeyboardInterrupt:
        with lock:
            half = sorted(s for s in started if s not in was_up and not (s in results and results[s].ok))
        raise UpInterrupted(f"interrupted again: seat(s) {seat_list_text(half)} may be half-made", hint=hint) from None
    plan = after_interrupt(chosen, set(started), was_up, dict(results))
    removed, failed = [], []
    try:
        for s in plan["remove"]:
            note(f"interrupted: removing half-made seat {s}" + again)
            try:
                remove_seat(c, s, say)
                removed.append(s)
            except LabgenError as exc:
                say(s, f"could not remove: {exc.message.splitlines()[0] if exc.message else exc}")
                failed.append(s)
    except KeyboardInterrupt:
        left = [s for s in plan["remove"] if s not in removed]
        ups = f"seat(s) {seat_list_text(plan['up'])} up" if plan["up"] else "no seat up"
        raise UpInterrupted(
            f"interrupted again: {ups}; seat(s) {seat_list_text(left)} may be half-made",
            hint=hint,
            up=plan["up"],
            removed=removed,
        ) from None
    raise UpInterrupted(
        interrupt_message(plan, removed, failed),
        hint="re-run the same `labgen classroom up` to add the missing seats",
        up=plan["up"],
        removed=removed,
    )


# ---------------------------------------------------------------- down / reset


def down(c: Classroom, say: SaySeat, image: bool = False) -> list[str]:
    """Remove every seat, rule, account, key and the sshd; also what an interrupted `up`
    left. Removes the classroom dir; with `image`, also its seat image unless another
    classroom's seats are clones of it. Returns what it removed."""
    place = placement_for(c.provider)
    kept = used_images(c)
    images = [seatimage.SeatImage(k, seatimage.images_root() / k, c.provider) for k in kept] if image else []
    removed: list[str] = []
    seat_dirs = sorted(p for p in c.root.glob("seat-*") if p.is_dir())
    lock = threading.Lock()

    cloned = uses_image(c) and (c.root / LAB_COPY).exists()
    lab = lab_of(c)[0] if cloned else None

    def one(p: Path) -> None:
        seat = int(p.name.split("-")[1])
        if cloned:
            # clones go without Vagrant (a Ruby start per seat saved), then the seat's host part
            model = _seat_model_quick(c, lab, seat)
            got = place.remove_clones(p, model, lambda msg: say(seat, msg))
            got += place.provider_obj().cleanup_host(model)
        else:
            got = place.remove(p, lambda msg: say(seat, msg))
        with lock:
            removed.extend(f"seat {seat}: {r}" for r in got)

    with ThreadPoolExecutor(max_workers=max(1, min(len(seat_dirs), hostcheck.cores()))) as pool:
        list(pool.map(one, seat_dirs))
    removed += _sweep_leftovers(c)
    removed += isolation.remove(c.name)
    removed += access.remove_all(c.name)
    for img in images:
        if seatimage.clones_of(img):
            removed.append(f"seat image {img.instance} kept: another classroom's seats are its clones")
        else:
            removed += seatimage.remove(img)
    if kept and not image:
        removed.append(
            f"(kept: seat image(s) {', '.join('img' + k[:8] for k in kept)} for the next classroom "
            "of this lab; `down --image` removes them, `labgen classroom images` lists every image)"
        )
    if c.root.exists():
        shutil.rmtree(c.root)
        removed.append(str(c.root))
    return removed


def _sweep_leftovers(c: Classroom) -> list[str]:
    """Machines and bridges named after this classroom's seats whose lab dir is gone."""
    if not (c.root / LAB_COPY).exists():
        return []
    lab, _ = lab_of(c)
    prov = placement_for(c.provider).provider_obj()
    # Every seat number a classroom of this name may have had (its seat count may have shrunk).
    prefixes = tuple(prov.machine_name(replace(lab, instance=c.instance(s)), "") for s in range(1, MAX_SEATS + 1))
    removed = []
    for name in prov.machines(""):
        if name.startswith(prefixes):
            removed += prov.remove_machine(name)
    for s in range(1, max(c.seats, 1) + 1):
        removed += prov.remove_lab_bridge(_seat_model_quick(c, lab, s))
    return removed


def reset(c: Classroom, seat: int, say: SaySeat) -> SeatOutcome:
    """Seat `seat` back to a freshly provisioned lab: destroy its machines, bring it up again
    (clones of the seat image again, when the classroom uses one)."""
    place = placement_for(c.provider)
    began = time.monotonic()
    say(seat, "resetting")
    if uses_image(c):
        lab, _ = lab_of(c)
        place.remove_clones(c.seat_dir(seat), _seat_model_quick(c, lab, seat), lambda msg: say(seat, msg))
    else:
        place.remove(c.seat_dir(seat), lambda msg: say(seat, msg))
    out = up(c, say, seats=[seat])[0]
    out.seconds = time.monotonic() - began
    return out


# ---------------------------------------------------------------- status / exec / scenario


def status(c: Classroom, seats: list[int] | None = None) -> list[dict]:
    """One dict per seat: seat, network, nodes_up, nodes, reachable, roles_done, roles, scenario."""
    place = placement_for(c.provider)
    lab, _ = lab_of(c)

    def one(seat: int) -> dict:
        model = _seat_model_quick(c, lab, seat)
        ld = LabDir(c.seat_dir(seat))
        row = {
            "seat": seat,
            "instance": c.instance(seat),
            "network": str(model.network),
            "nodes": len(model.nodes),
            "nodes_up": 0,
            "reachable": 0,
            "roles_done": 0,
            "roles": sum(len(n.roles) for n in model.nodes),
            "scenario": ld.load_state().get("classroom_scenario") if ld.exists() else None,
            "error": None,
        }
        if not ld.vagrantfile.exists():
            row["error"] = "not created"
            return row
        try:
            states = place.states(ld.path)
        except LabgenError as exc:
            row["error"] = exc.message.splitlines()[0]
            return row
        row["nodes_up"] = sum(1 for s in states.values() if s == "running")
        ssh_config = ld.cached_ssh_config() if row["nodes_up"] else None
        if ssh_config:
            with Remote(ssh_config, connect_timeout=5) as remote:
                bad = lifecycle.probe(remote)
                row["reachable"] = sum(1 for n in remote.nodes() if n not in bad)
        done = ld.load_state().get("roles", {})
        row["roles_done"] = sum(1 for n in model.nodes for r in n.roles if r in done.get(n.name, {}))
        return row

    chosen = seats or c.numbers
    with ThreadPoolExecutor(max_workers=max(1, min(len(chosen), 8))) as pool:
        return list(pool.map(one, chosen))


def exec_all(
    c: Classroom, seats: list[int], nodes: list[str] | None, command: str, sudo: bool, timeout: float
) -> list[tuple[int, Result]]:
    """Run `command` on `nodes` (None: all) of every seat in `seats`, in parallel.
    Returns (seat, Result) pairs; a seat that cannot be reached gives one failed Result."""
    place = placement_for(c.provider)

    def one(seat: int):
        try:
            with place.remote(c.seat_dir(seat)) as remote:
                names = nodes or remote.nodes()
                with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
                    return [
                        (seat, r) for r in pool.map(lambda n: remote.run(n, command, sudo=sudo, timeout=timeout), names)
                    ]
        except LabgenError as exc:
            return [(seat, Result("-", command, None, "", exc.message.splitlines()[0], 0.0))]

    with ThreadPoolExecutor(max_workers=max(1, min(len(seats), 8))) as pool:
        return [pair for pairs in pool.map(one, seats) for pair in pairs]


class _Quiet:
    """A scenario reporter that prints nothing: the classroom prints one line per seat."""

    def __init__(self, on_step: Callable[[str], None]):
        self.on_step = on_step

    def scenario_started(self, record):
        pass

    def step_started(self, step, commands=None):
        self.on_step(step.id)

    def step_finished(self, record):
        pass

    def scenario_finished(self, record):
        pass


def seat_run_finished(
    seat: int, ld: LabDir, record: RunRecord, began: float, waiting: str | None = None
) -> SeatOutcome:
    """After a scenario ran on one seat: its handout into the seat's transcripts/, its progress
    into the seat's state, and the one-line outcome the instructor sees. `waiting`: the task or
    question the seat now waits at for its student (`--to TASK`)."""
    write_handout(record, ld.transcripts)
    ran = [s for s in record.steps if s.step.kind != "cleanup"]
    passed = sum(1 for s in ran if s.status == "passed")
    last = ran[-1].step.id if ran else "-"
    ld.update_state(
        classroom_scenario={
            "id": record.scenario.id,
            "passed": record.passed,
            "steps": passed,
            "of": len(ran),
            "last": last,
            "waiting": waiting,
        }
    )
    if record.passed:
        return SeatOutcome(seat, True, f"{passed}/{len(ran)} steps passed", time.monotonic() - began)
    failure = record.first_failure
    why = f"step {failure.step.id}: " + "; ".join(failure.failures)[:200] if failure else "interrupted"
    return SeatOutcome(seat, False, why, time.monotonic() - began)


def scenario_run(
    c: Classroom,
    seats: list[int],
    scenario_id: str,
    say: SaySeat,
    *,
    variant: str = "default",
    start: str | None = None,
    stop: str | None = None,
    lang: str = "en",
    keep: bool = False,
) -> list[SeatOutcome]:
    """Run a scenario on every chosen seat in parallel (each with its own addresses); writes
    each seat's handout to its transcripts/ and records its progress in the seat's state."""
    sc = load_scenario(find_scenario(scenario_id))
    if variant not in sc.variants:
        raise LabgenError(f"scenario {sc.id} has no variant {variant!r}", hint=f"variants: {', '.join(sc.variants)}")
    var = sc.variants[variant]
    lab, _ = lab_of(c)
    if sc.lab != lab.name:
        raise LabgenError(f"scenario {sc.id} is written for lab {sc.lab}, this classroom runs {lab.name}")
    check_against_lab(sc, lab)
    select_steps(tuple(s for s in var.steps if s.kind != "cleanup"), start, stop, None)
    # --to a task or question: the seats wait there for their students (as `scenario start`
    # does), instead of the presenter solving it.
    waits = stop is not None and any(s.id == stop and s.kind in STUDENT_KINDS for s in var.steps)
    if waits and start is not None:
        raise LabgenError(
            "--from cannot be used with --to a task or question",
            hint="the seats are prepared from the first step",
            exit_code=2,
        )
    prov = get_provider(c.provider)
    place = placement_for(c.provider)

    def one(seat: int) -> SeatOutcome:
        began = time.monotonic()
        ld = LabDir(c.seat_dir(seat))
        try:
            model = lifecycle.load_lab_of(ld)
            with place.remote(ld.path) as remote:
                facts = prov.facts(model)  # the seat's own apt proxy address
                if not roles_recorded(model, ld, facts, list(var.requires_roles)):
                    say(seat, "provisioning " + ",".join(var.requires_roles))
                    reports = provision(model, ld, remote, facts, roles=list(var.requires_roles))
                    errors = [r.error for r in reports if r.error is not None]
                    if errors:
                        raise errors[0]
                quiet = _Quiet(lambda step: say(seat, step))
                if waits:
                    challenge = Challenge(ld, sc, variant, model, remote, quiet, lang, c.provider)
                    try:
                        challenge.start(at=stop)
                    except ScenarioFailed:
                        pass  # the record holds the failed step: its handout shows the output
                    record = challenge.runner.record
                else:
                    record = Runner(sc, variant, model, remote, quiet, lang, c.provider).run(
                        start=start, stop=stop, cleanup=not keep
                    )
            return seat_run_finished(seat, ld, record, began, waiting=stop if waits else None)
        except LabgenError as exc:
            return SeatOutcome(seat, False, exc.message.splitlines()[0], time.monotonic() - began)

    with ThreadPoolExecutor(max_workers=max(1, min(len(seats), 8))) as pool:
        return list(pool.map(one, seats))
