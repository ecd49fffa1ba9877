"""Role `zookeeper`: one member of the lab's ZooKeeper ensemble, for Mesos and Marathon
(WALKTHROUGH §3.2: `apt-get install zookeeperd`; Marathon's zk string names all three nodes).

Both distributions package it the same way (Debian's packaging, also in Ubuntu): xenial has
3.4.8, Debian 12 has 3.8.0. /etc/zookeeper/conf is an alternatives link to conf_example, and
/var/lib/zookeeper/myid links to /etc/zookeeper/conf/myid; the service is the SysV script
/etc/init.d/zookeeper (systemd wraps it as zookeeper.service).
"""

from __future__ import annotations

import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import apt_install, packages_installed_check, wait_steady
from labgen.provision.stack import ZK_CLIENT_PORT as CLIENT_PORT
from labgen.provision.stack import zookeeper_members as members

QUORUM_PORT = 2888
ELECTION_PORT = 3888
CONF_DIR = "/etc/zookeeper/conf"
# Sourced by /etc/init.d/zookeeper after conf/environment (which sets JAVA_OPTS="").
DEFAULTS = "/etc/default/zookeeper"
# A lab node has one CPU: one garbage collector thread and only the quick (C1) compiler. The
# JVM then starts with ~0.17 CPU-s less, which a classroom pays 90 times.
JAVA_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
# netcat: the health check asks the server `srvr` (a four-letter word) on its client port.
PACKAGES = ("zookeeperd", "netcat-openbsd")
# seconds: every member must serve, and the others are still being installed in parallel
QUORUM_WAIT = 300
# A member that just joined may fall back to an election while it syncs: the ensemble counts as
# serving once every ask for STEADY seconds, POLL seconds apart, found every member leader or
# follower under exactly one leader. (Until 2026-12-06: 3 answers in a row, 2 s apart: 4 s seen
# at 3 instants, up to 2 s lost before the first; 7.3 s of a trio seat's 20 s reset.) A member
# not restarted with the ensemble's config yet answers standalone or nothing, so the restarts
# of the nodes' own provisioning runs cannot pass for a stable ensemble; a follower's Zxid may
# stay 0x0 while the leader's is in the new epoch, so the epochs are not compared.
STEADY = 2.0
POLL = 0.5
# seconds the check gives a converged ensemble to serve STEADY seconds on end: on a loaded host a
# member can miss a few asks (seen: 30 s was not enough once during a re-provision)
SETTLE = 60
# Sealed out of a seat image: the snapshot and transaction log (the image's ensemble);
# myid and zoo.cfg are rewritten by provisioning. (units, paths)
SEAL = (("zookeeper",), ("/var/lib/zookeeper/version-2",))


def myid(lab: Lab, node: Node) -> int:
    """1..N by the order of the lab's nodes."""
    return [n.name for n in members(lab)].index(node.name) + 1


def defaults_file() -> str:
    return f'# Written by labgen (role zookeeper): the JVM options of a lab node.\nJAVA_OPTS="{JAVA_OPTS}"\n'


def zoo_cfg(lab: Lab) -> str:
    lines = [
        f"# Written by labgen (role zookeeper): the ensemble of lab {lab.name}.",
        "tickTime=2000",
        "initLimit=10",
        "syncLimit=5",
        "dataDir=/var/lib/zookeeper",
        f"clientPort={CLIENT_PORT}",
        "# Since 3.5 only the listed four-letter words are answered (3.4 answers all of them).",
        "4lw.commands.whitelist=srvr,stat,ruok",
        "# Since 3.5 an admin web server listens on 8080, Marathon's port on the master.",
        "admin.enableServer=false",
    ]
    lines += [f"server.{i}={n.ip}:{QUORUM_PORT}:{ELECTION_PORT}" for i, n in enumerate(members(lab), 1)]
    return "\n".join(lines) + "\n"


def srvr(address: str = "127.0.0.1") -> str:
    """Shell: print the server's answer to `srvr`. `nc -N` closes its sending side after the
    command, so it returns as soon as ZooKeeper answers and hangs up (21 ms here; `-q 2` waited
    its 2 s after every answer, which made a converged ensemble's check take 22 s). netcat
    sometimes reads nothing at all from a server that answers (measured on a healthy ensemble:
    17 of 300 asks with `nc -w`, 3 of 400 with `-N`): an empty answer is asked again, up to 5
    times. A real answer ("not currently serving", an election) is printed at once."""
    a = shlex.quote(address)
    return (
        "{ zk=''; for _ in 1 2 3 4 5; do "
        f'zk=$(echo srvr | nc -N -w 3 {a} {CLIENT_PORT}); [ -n "$zk" ] && break; sleep 0.2; done; '
        "printf '%s\\n' \"$zk\"; }"
    )


def mode_check(address: str = "127.0.0.1") -> str:
    """Passes when the server at `address` serves in a quorum (leader or follower: not
    standalone, not in an election)."""
    return f"{srvr(address)} | grep -Eq '^Mode: (leader|follower)$'"


# awk over the members' `srvr` answers, each after a line "@": passes when there are `n`
# members, each answering Mode leader or follower, and exactly one leader.
AGREE = (
    "/^@$/ { m++; next } "
    '/^Mode: (leader|follower)$/ { ok[m] = 1; if ($2 == "leader") leaders++ } '
    "END { if (m != n || leaders != 1) exit 1; for (i = 1; i <= n; i++) if (!ok[i]) exit 1; exit 0 }"
)


def ensemble_check(lab: Lab) -> str:
    """Passes when every member of the ensemble serves under one leader, asked over the lab
    network: a node's role returns only when the whole ensemble does, not just its own server
    (the next step of the walkthrough, or a test, may ask any member)."""
    asks = "; ".join(f"echo @; {srvr(str(n.ip))}" for n in members(lab))
    return f"{{ {asks}; }} | awk -v n={len(members(lab))} {shlex.quote(AGREE)}"


def ensemble_report(lab: Lab) -> str:
    """What each member answers (its mode and zxid), for the error when the ensemble does not
    form."""
    said = '/^(Mode|Zxid): / { printf "%s ", $0; s = 1 } END { print s ? "" : "not serving" }'
    return "; ".join(
        f"printf '%s: ' {shlex.quote(str(n.ip))}; {srvr(str(n.ip))} | awk {shlex.quote(said)}" for n in members(lab)
    )


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    pins.require_distro("zookeeper", distro)
    return [
        Task(
            f"install zookeeperd {pins.ZOOKEEPER_VERSIONS[distro]}",
            check=packages_installed_check(PACKAGES),
            run=(apt_install(PACKAGES),),
        ),
        Task(
            f"ensemble config (myid {myid(lab, node)})",
            files=(
                File(f"{CONF_DIR}/zoo.cfg", zoo_cfg(lab)),
                File(f"{CONF_DIR}/myid", f"{myid(lab, node)}\n"),
                File(DEFAULTS, defaults_file()),
            ),
            run=("systemctl restart zookeeper",),
        ),
        Task(
            "zookeeper started",
            # enabled too: a seat's node must start it at every boot
            check="systemctl is-enabled --quiet zookeeper && systemctl is-active --quiet zookeeper",
            run=("systemctl enable zookeeper", "systemctl start zookeeper"),
        ),
        # The check must be stable too: a one-shot pass right after this node joined let the
        # role return while the node was about to fall back to an election (issue 14).
        Task(
            f"ensemble serving ({len(members(lab))} members, one leader)",
            check=wait_steady(ensemble_check(lab), SETTLE, "not settled", STEADY, POLL),
            run=(
                wait_steady(
                    ensemble_check(lab),
                    QUORUM_WAIT,
                    "zookeeper ensemble serving",
                    STEADY,
                    POLL,
                    diagnose=ensemble_report(lab),
                ),
            ),
        ),
    ]
