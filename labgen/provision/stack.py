"""What the roles of the mesos-calico stack know of each other: ports, addresses, paths, the
Mesosphere repository, and when a role that needs Docker or Ubuntu 16.04 cannot run.

One role never imports another (tests/unit/test_imports.py): what two roles share lives here
(facts) or in shell.py (shell snippets).
"""

from __future__ import annotations

import shlex

from labgen.errors import RoleUnavailableError
from labgen.model import File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import apt_install, apt_update, version_check

# ---- etcd (role etcd; calico and Docker's cluster store are its clients)
ETCD_CLIENT_PORT = 2379


def etcd_members(lab: Lab) -> list[Node]:
    return [n for n in lab.nodes if "etcd" in n.roles]


def etcd_endpoints(lab: Lab) -> list[str]:
    """Client URLs of every member: http://192.168.56.101:2379, ..."""
    return [f"http://{n.ip}:{ETCD_CLIENT_PORT}" for n in etcd_members(lab)]


# ---- ZooKeeper (role zookeeper; Mesos and Marathon find each other through it)
ZK_CLIENT_PORT = 2181


def zookeeper_members(lab: Lab) -> list[Node]:
    return [n for n in lab.nodes if "zookeeper" in n.roles]


def zk_connect_string(lab: Lab, chroot: str) -> str:
    """zk://192.168.56.101:2181,192.168.56.102:2181,192.168.56.103:2181/<chroot>"""
    return "zk://" + ",".join(f"{n.ip}:{ZK_CLIENT_PORT}" for n in zookeeper_members(lab)) + "/" + chroot


# ---- Docker (role docker; calico, calico-network, mesos-slave and marathon-app run on it)
def docker_artifact(lab: Lab, distro: str):
    """The docker-ce .deb artifact this lab needs on `distro`; raises RoleUnavailableError."""
    version = pins.docker_version(lab)
    art = pins.docker_artifact(version)
    if art is None:
        raise RoleUnavailableError(
            f"docker-ce {version} (lab param docker_version) is not declared in labgen's pins; "
            f"declared: {', '.join(pins.DOCKER_XENIAL_DEBS)} (add its xenial .deb to "
            "labgen/provision/pins.py)")
    if distro == pins.BOOKWORM:
        raise RoleUnavailableError(
            f"docker-ce {version} is not in the Debian 12 archive (Debian has docker.io 20.10, "
            "which still has cluster-store, deprecated, but no longer shows the MAC bug, fixed in "
            "18.06); the only build is "
            "Docker's .deb for Ubuntu 16.04, so use the virtualbox or libvirt provider (box "
            f"ubuntu/xenial64) with {pins.how_to_supply(art.name)}")
    pins.require_distro("docker", distro)
    return art


def require_docker(role: str, lab: Lab, distro: str) -> None:
    """For roles that run on Docker: unavailable (and why) wherever the docker role is. The
    error's `cause` is the docker role's own reason, so a summary can say it once."""
    try:
        docker_artifact(lab, distro)
    except RoleUnavailableError as exc:
        raise RoleUnavailableError(f"{role} needs the docker role, unavailable here: {exc.message}",
                                   cause=exc.message) from None


# ---- Calico (role calico installs calicoctl; calico-network makes the pool and the network)
CALICOCTL = "/usr/local/bin/calicoctl"
CALICO_NETWORK = "calico-test"


def calico_pool(lab: Lab) -> str:
    return str(lab.params.get("calico_pool") or "172.32.0.0/16")


# ---- Mesos and Marathon (Mesosphere's xenial repository: mesos-master, mesos-slave, marathon)
MESOS_WORK_DIR = "/var/lib/mesos"
MESOSPHERE_PREFERENCES = "/etc/apt/preferences.d/labgen-mesosphere"
MESOSPHERE_SOURCES = "/etc/apt/sources.list.d/mesosphere.list"
MARATHON_PORT = 8080


def require_xenial(role: str, distro: str, software: str) -> None:
    """Raise RoleUnavailableError off Ubuntu 16.04, naming `software` and how to get it."""
    if distro == pins.BOOKWORM:
        raise RoleUnavailableError(
            f"{software} is not in the Debian 12 archive, and Mesosphere's repository "
            f"(`{pins.MESOSPHERE_REPO}`) built it for Ubuntu 16.04 only: use the virtualbox or "
            "libvirt provider (box ubuntu/xenial64), with the repository's apt key as "
            + pins.how_to_supply("mesosphere-key"))
    pins.require_distro(role, distro)


def require_marathon(role: str, distro: str) -> None:
    """For roles that run on Marathon: unavailable wherever the marathon role is, with its
    reason as the cause (said once in summaries)."""
    try:
        require_xenial("marathon", distro, f"Marathon {pins.MARATHON_VERSION}")
    except RoleUnavailableError as exc:
        raise RoleUnavailableError(f"{role} needs the marathon role, unavailable here: {exc.message}",
                                   cause=exc.message) from None


def mesos_master(lab: Lab) -> Node:
    """The lab's Mesos master: the first node with the mesos-master role."""
    for n in lab.nodes:
        if "mesos-master" in n.roles:
            return n
    raise RoleUnavailableError(f"lab {lab.name} has no node with the mesos-master role")


def mesos_zk_url(lab: Lab) -> str:
    """/etc/mesos/zk: the master's ZooKeeper (the article writes `zk://<hostname>:2181/mesos`)."""
    return f"zk://{mesos_master(lab).ip}:{ZK_CLIENT_PORT}/mesos"


def marathon_url(node: Node, path: str) -> str:
    return f"http://{node.ip}:{MARATHON_PORT}{path}"


def mesosphere_preferences() -> str:
    return (f"# Written by labgen: the walkthrough's versions, not the repository's newest.\n"
            f"Package: mesos\nPin: version {pins.MESOS_VERSION}*\nPin-Priority: 1001\n\n"
            f"Package: marathon\nPin: version {pins.MARATHON_VERSION}*\nPin-Priority: 1001\n")


def mesosphere_repository_tasks() -> list[Task]:
    """The Mesosphere apt key, source and pins (mesos-master, mesos-slave and marathon)."""
    key = shlex.quote(pins.artifact_path("mesosphere-key"))
    fpr = shlex.quote(pins.MESOSPHERE_KEY_ID)
    return [
        # The key is checked by its fingerprint after it is added, not by the file's hash.
        Task("Mesosphere apt key",
             check=f"apt-key adv --list-keys --with-colons {fpr} 2>/dev/null | grep -q {fpr}",
             run=(f"apt-key add {key}",),
             artifacts=("mesosphere-key",)),
        Task("Mesosphere apt repository (pinned versions)",
             files=(File(MESOSPHERE_SOURCES, pins.MESOSPHERE_REPO + "\n"),
                    File(MESOSPHERE_PREFERENCES, mesosphere_preferences())),
             run=(apt_update(),)),
    ]


def mesosphere_install_task(package: str, version: str) -> Task:
    return Task(f"install {package} {version}",
                check=version_check(package, version),
                run=(apt_install((package, "curl")),))
