"""Run the shell of scenarios/mac-bug.yml on a real kernel, with network namespaces as nodes.

The harness: namespace `lgt-br` holds a private bridge (192.168.56.1, standing in for the lab
host) and namespaces `lgt-n2` / `lgt-n3` play ubuntu-2 / ubuntu-3, each with an `eth1` veth
onto that bridge (192.168.56.102/.103) and a default route via 192.168.56.1 (an LXC node has
one via eth0; Calico's proxy ARP needs one, see the scenario). Nothing is added to the root
namespace, so no traffic leaves these namespaces.

The default variant's steps are executed in order, each on its nodes in parallel, as
`ip netns exec lgt-nX sh -c SCRIPT` with {{ var }} replaced by the shell-quoted value, and their
expectations are checked by a minimal re-implementation of the runner's checks (exit,
stdout/stderr contains/not_contains/matches, retry, capture). Cleanup steps always run.

The scenario is read with plain yaml.safe_load on purpose: this test proves the commands, not
the loader.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.root

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "mac-bug.yml"

BRIDGE_NS = "lgt-br"
NODES = {  # scenario node name -> (harness namespace, eth1 address)
    "ubuntu-2": ("lgt-n2", "192.168.56.102"),
    "ubuntu-3": ("lgt-n3", "192.168.56.103"),
}
LAB_NODE_IPS = {"ubuntu-1": "192.168.56.101", "ubuntu-2": "192.168.56.102", "ubuntu-3": "192.168.56.103"}
# Namespaces the scenario itself creates (named after the node) and the harness namespaces.
ALL_NS = [BRIDGE_NS] + [ns for ns, _ in NODES.values()] + [f"wl-{n}" for n in NODES]

VAR_RE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
RETRY_PAUSE = 0.5
MAX_ATTEMPTS = 50  # hard bound on re-runs of one step on one node, whatever `retry` says


def _sh(cmd: list[str], timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "nsenter", "ping", "tcpdump", "timeout", "od"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    probe = f"lgt-probe-{os.getpid()}"
    try:
        r = _sh(["ip", "netns", "add", probe])
        if r.returncode != 0:
            return f"ip netns unusable: {r.stderr.strip()}"
        r = _sh(["ip", "netns", "exec", probe, "ip", "link", "add", "lgtp0", "type", "veth", "peer", "name", "lgtp1"])
        if r.returncode != 0:
            return f"veth unusable in a network namespace: {r.stderr.strip()}"
    except (OSError, subprocess.SubprocessError) as e:
        return f"ip netns unusable: {e}"
    finally:
        _sh(["ip", "netns", "del", probe])
    return None


def _del_namespaces() -> None:
    for ns in ALL_NS:
        _sh(["ip", "netns", "del", ns])


def _build_lab() -> None:
    _del_namespaces()  # leftovers of an aborted run: these names are ours
    cmds = [["ip", "netns", "add", ns] for ns in [BRIDGE_NS] + [ns for ns, _ in NODES.values()]]
    cmds += [
        ["ip", "-n", BRIDGE_NS, "link", "set", "lo", "up"],
        ["ip", "-n", BRIDGE_NS, "link", "add", "lgtbr56", "type", "bridge"],
        ["ip", "-n", BRIDGE_NS, "addr", "add", "192.168.56.1/24", "dev", "lgtbr56"],
        ["ip", "-n", BRIDGE_NS, "link", "set", "lgtbr56", "up"],
    ]
    for i, (ns, ip) in enumerate(NODES.values()):
        port = f"lgtport{i}"
        cmds += [
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", BRIDGE_NS, "link", "add", port, "type", "veth", "peer", "name", "eth1", "netns", ns],
            ["ip", "-n", BRIDGE_NS, "link", "set", port, "master", "lgtbr56", "up"],
            ["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth1"],
            ["ip", "-n", ns, "link", "set", "eth1", "up"],
            ["ip", "-n", ns, "route", "add", "default", "via", "192.168.56.1", "dev", "eth1"],
        ]
    for c in cmds:
        r = _sh(c)
        assert r.returncode == 0, f"harness: {' '.join(c)}: {r.stderr}"


@pytest.fixture
def lab():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    try:
        _build_lab()
        yield
    finally:
        _del_namespaces()
        for n in NODES:
            shutil.rmtree(f"/run/labgen-mac-bug.{n}", ignore_errors=True)


@pytest.fixture(scope="module")
def scenario() -> dict:
    with open(SCENARIO, encoding="utf-8") as f:
        return yaml.safe_load(f)


# ---- a minimal runner


class StepFailed(AssertionError):
    pass


def _nodes_of(step: dict) -> list[str]:
    on = step.get("on")
    if on is None:
        return []
    names = list(NODES) if on == "all" else list(on)
    for n in names:
        assert n in NODES, f"step {step['id']}: node {n} is not in the harness"
    return names


def _render(script: str, node: str, sc: dict, captures: dict[str, str]) -> str:
    builtins = {"node": node, "node_ip": NODES[node][1], "host_ip": "192.168.56.1"}
    builtins.update({f"nodes.{n}.ip": ip for n, ip in LAB_NODE_IPS.items()})
    # vars may be written from the built-ins (peer_ip: "{{ nodes.ubuntu-3.ip }}"), as labgen allows
    own = {**(sc.get("vars") or {}), **((sc.get("node_vars") or {}).get(node) or {})}
    values = dict(builtins)
    values.update({k: VAR_RE.sub(lambda m: builtins[m.group(1)], str(v)) for k, v in own.items()})
    values.update(captures)

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in values:
            raise StepFailed(f"undefined variable {{{{ {name} }}}} on {node}")
        return shlex.quote(values[name])

    return VAR_RE.sub(sub, script)


def _as_list(v) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else [str(x) for x in v]


def _problems(expect: dict, rc: int, out: str, err: str) -> list[str]:
    bad = []
    want = str(expect.get("exit", "0"))
    if want == "nonzero":
        if rc == 0:
            bad.append("exit 0, wanted non-zero")
    elif want != "any" and rc != int(want):
        bad.append(f"exit {rc}, wanted {want}")
    for stream, text in (("stdout", out), ("stderr", err)):
        for s in _as_list(expect.get(f"{stream}_contains")):
            if s not in text:
                bad.append(f"{stream} lacks {s!r}")
        for s in _as_list(expect.get(f"{stream}_not_contains")):
            if s in text:
                bad.append(f"{stream} holds {s!r}")
        for rx in _as_list(expect.get(f"{stream}_matches")):
            if not re.search(rx, text, re.MULTILINE):
                bad.append(f"{stream} does not match {rx!r}")
    return bad


def _node_cmd(node: str, *cmd: str) -> list[str]:
    """Run in the node's network namespace but in the host's mount namespace.

    Not `ip netns exec`: that gives the command a throw-away mount namespace, so the bind mount
    made by the scenario's own `ip netns add wl-...` would vanish when the step ends (the next
    step then gets "setting the network namespace ... failed: Invalid argument"). On an LXC
    node the container's mount namespace persists, which nsenter --net models. The price: /sys
    is the root namespace's, so the default variant reads no /sys/class/net on the node.
    """
    return ["nsenter", f"--net=/run/netns/{NODES[node][0]}", *cmd]


def _run_on(step: dict, node: str, sc: dict, captures: dict[str, str]) -> dict:
    script = _render(step["run"], node, sc, captures)
    expect = step.get("expect") or {}
    timeout = float(step.get("timeout", 60))
    retry = float(expect.get("retry", 0))
    started = time.monotonic()
    deadline = started + retry
    attempts = 0
    while True:
        attempts += 1
        try:
            r = subprocess.run(_node_cmd(node, "sh", "-c", script), capture_output=True, text=True, timeout=timeout)
            rc, out, err = r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = -1, str(e.stdout or ""), f"timed out after {timeout}s"
        bad = _problems(expect, rc, out, err)
        if not bad or time.monotonic() >= deadline or attempts >= MAX_ATTEMPTS:
            break
        time.sleep(RETRY_PAUSE)
    return {
        "node": node,
        "rc": rc,
        "out": out,
        "err": err,
        "bad": bad,
        "attempts": attempts,
        "seconds": time.monotonic() - started,
    }


def run_step(step: dict, sc: dict, captures: dict[str, dict[str, str]], log: list) -> None:
    nodes = _nodes_of(step)
    if not step.get("run") or not nodes:
        assert step["kind"] == "explain", f"step {step['id']} has nothing to run"
        return
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        results = list(pool.map(lambda n: _run_on(step, n, sc, captures[n]), nodes))
    log.append((step["id"], round(time.monotonic() - t0, 2)))
    failures = [r for r in results if r["bad"]]
    if failures:
        raise StepFailed(
            "\n".join(
                f"step {step['id']} on {r['node']} ({r['attempts']} attempts): {'; '.join(r['bad'])}"
                f"\n--- stdout\n{r['out']}\n--- stderr\n{r['err']}"
                for r in failures
            )
        )
    for r in results:
        for var, rx in (step.get("capture") or {}).items():
            m = re.search(rx, r["out"], re.MULTILINE)
            if not m:
                raise StepFailed(
                    f"step {step['id']} on {r['node']}: capture {var} ({rx!r}) found nothing in\n{r['out']}"
                )
            captures[r["node"]][var] = m.group(1)


def run_variant(sc: dict, steps: list[dict], log: list) -> None:
    """Steps in order; cleanup steps always, even after a failure (like the runner)."""
    captures = {n: {} for n in NODES}
    try:
        for step in steps:
            if step["kind"] != "cleanup":
                run_step(step, sc, captures, log)
    finally:
        for step in steps:
            if step["kind"] == "cleanup":
                run_step(step, sc, captures, log)


# ---- state checks


def _in(node: str, *cmd: str) -> str:
    r = _sh(_node_cmd(node, *cmd))
    assert r.returncode == 0, r.stderr
    return r.stdout


def _assert_clean(forward_before: dict[str, str]) -> None:
    netns = _sh(["ip", "netns", "list"]).stdout
    for node in NODES:
        assert not re.search(rf"^wl-{node}\b", netns, re.M), f"wl-{node} left behind"
        assert "cali" not in _in(node, "ip", "-o", "link"), f"cali link left on {node}"
        assert "172.32." not in _in(node, "ip", "route", "show", "table", "all")
        assert "172.32." not in _in(node, "ip", "neigh")
        assert _in(node, "cat", "/proc/sys/net/ipv4/ip_forward") == forward_before[node]
        assert not os.path.exists(f"/run/labgen-mac-bug.{node}")


def _forwarding(nodes=NODES) -> dict[str, str]:
    return {n: _in(n, "cat", "/proc/sys/net/ipv4/ip_forward") for n in nodes}


# ---- tests


def test_scenario_shape(scenario):
    steps = scenario["steps"]
    kinds = [s["kind"] for s in steps]
    assert kinds == ["setup", "observe", "break", "observe", "fix", "verify", "explain", "explain", "cleanup"]
    for s in steps + scenario["variants"]["docker"]["steps"]:
        # YAML 1.1 reads a bare `on:` key as the boolean True: the file must quote it
        assert True not in s, f'{s["id"]}: write "on": (quoted), not on:'
        assert ("on" in s) == bool(s.get("run")), s["id"]
        for text in (s["title"], s.get("explain") or {"en": "x", "zh": "x"}):
            assert text["en"].strip() and text["zh"].strip(), s["id"]
        # a {{ var }} inside single quotes would be quoted twice
        for line in (s.get("run") or "").splitlines():
            for quoted in re.findall(r"'[^']*'", line):
                assert not VAR_RE.search(quoted), f"{s['id']}: {line}"


def test_cleanup_on_fresh_and_half_built_nodes(lab, scenario):
    before = _forwarding()
    steps = scenario["steps"]
    cleanup = [s for s in steps if s["kind"] == "cleanup"]
    log: list = []
    run_variant(scenario, cleanup, log)  # setup never ran
    _assert_clean(before)

    # setup stopped halfway: the namespace and the veth exist, nothing else
    setup = dict(steps[0])
    lines = setup["run"].splitlines()
    cut = next(i for i, ln in enumerate(lines) if "type veth" in ln)
    setup["run"] = "\n".join(lines[: cut + 1]) + "\n"
    setup["expect"] = {"exit": 0}
    run_variant(scenario, [setup] + cleanup, log)
    _assert_clean(before)


def test_default_variant_story_twice(lab, scenario, capsys):
    before = _forwarding()
    steps = scenario["steps"]
    for round_ in (1, 2):  # re-runnable immediately
        log: list = []
        t0 = time.monotonic()
        run_variant(scenario, steps, log)
        total = time.monotonic() - t0
        _assert_clean(before)
        with capsys.disabled():
            print(f"\nmac-bug round {round_}: {total:.2f}s " + ", ".join(f"{sid} {sec}s" for sid, sec in log))
        assert total < 30, f"the scenario should take seconds, took {total:.1f}s"


def test_symptom_shows_replies_to_good_mac(lab, scenario):
    """The tcpdump evidence in detail: requests from the random MAC, replies to ee:ee:..."""
    steps = {s["id"]: s for s in scenario["steps"]}
    captures = {n: {} for n in NODES}
    log: list = []
    try:
        for sid in ("setup-workloads", "observe-healthy", "break-mac"):
            run_step(steps[sid], scenario, captures, log)
        bad = captures["ubuntu-2"]["bad_mac"]
        good = scenario["vars"]["good_mac"]
        assert bad != good and int(bad[:2], 16) & 0x03 == 0x02  # local, unicast
        r = _run_on(steps["observe-symptom"], "ubuntu-2", scenario, captures["ubuntu-2"])
        assert not r["bad"], r
        out = r["out"]
        gw = captures["ubuntu-2"]["gw_mac"]
        assert re.search(rf"^.*{bad} > {gw}, .*ICMP echo request", out, re.M), out
        assert re.search(rf"^.*{gw} > {good}, .*ICMP echo reply", out, re.M), out
        # the proxy ARP reply for 169.254.1.1 does reach the random MAC
        assert re.search(rf"{gw} > {bad}, .*Reply 169\.254\.1\.1 is-at {gw}", out), out
    finally:
        run_step(steps["cleanup"], scenario, captures, log)


def test_setup_refuses_a_node_without_a_route_for_the_gateway(lab, scenario):
    """Proxy ARP answers 169.254.1.1 only if the host would forward to it out of another
    interface; on a node without a default route, setup says so instead of half-working."""
    steps = {s["id"]: s for s in scenario["steps"]}
    _in("ubuntu-2", "ip", "route", "del", "default")
    captures = {n: {} for n in NODES}
    try:
        r = _run_on(steps["setup-workloads"], "ubuntu-2", scenario, captures["ubuntu-2"])
        assert r["rc"] != 0 and "proxy ARP" in r["err"], r
    finally:
        run_step(steps["cleanup"], scenario, captures, [])
