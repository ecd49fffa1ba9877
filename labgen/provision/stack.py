"""What the roles of the mesos-calico stack know of each other: ports, addresses, paths, how
Mesos is installed, and when a role that needs Docker or Ubuntu 16.04 cannot run.

One role never imports another (tests/unit/test_imports.py): what two roles share lives here
(facts) or in shell.py (shell snippets).
"""

from __future__ import annotations

from labgen.errors import RoleUnavailableError
from labgen.model import Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import apt_install, version_check

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
def docker_artifact(lab: Lab):
    """The docker-ce .deb artifact (Ubuntu 16.04) this lab asks for; raises
    RoleUnavailableError when labgen declares no .deb for its docker_version."""
    version = pins.docker_version(lab)
    art = pins.docker_artifact(version)
    if art is None:
        raise RoleUnavailableError(
            f"docker-ce {version} (lab param docker_version) is not declared in labgen's pins; "
            f"declared: {', '.join(pins.DOCKER_XENIAL_DEBS)} (add its xenial .deb to "
            "labgen/provision/pins.py)"
        )
    return art


def require_docker(role: str, lab: Lab, distro: str) -> None:
    """For roles that run on Docker: unavailable (and why) wherever the docker role is. The
    error's `cause` is the docker role's own reason, so a summary can say it once. On Debian 12
    the docker role runs Debian's docker.io; on Ubuntu 16.04 it needs a declared docker-ce."""
    try:
        pins.require_distro("docker", distro)
        if distro == pins.XENIAL:
            docker_artifact(lab)
    except RoleUnavailableError as exc:
        raise RoleUnavailableError(
            f"{role} needs the docker role, unavailable here: {exc.message}", cause=exc.message
        ) from None


# ---- Calico (role calico installs calicoctl; calico-network makes the pool and the network)
CALICOCTL = "/usr/local/bin/calicoctl"
CALICO_NETWORK = "calico-test"


def require_calico(role: str, lab: Lab, distro: str) -> None:
    """Calico 2.6 runs where labgen has a story for it: Ubuntu 16.04 with docker-ce. On Debian
    12 the docker role runs (docker.io 20.10), but calico/node v2.6.2 on it was never tried, and
    its unit's `docker run --privileged` fails in labgen's LXC nodes (runc: "unable to apply
    caps": their bounding set lacks capabilities --privileged asks for; seen here, and
    ENVIRONMENT.md): say so instead of failing half-way."""
    require_docker(role, lab, distro)
    if distro == pins.BOOKWORM:
        reason = (
            f"Calico 2.6 (calicoctl {pins.CALICOCTL_VERSION}, {pins.CALICO_NODE_IMAGE}) has not been "
            "run by labgen on Debian 12's docker.io 20.10, and its calico-node unit needs "
            "`docker run --privileged`, which fails in labgen's LXC nodes (their capability "
            "bounding set lacks some that --privileged asks for): use the "
            "virtualbox or libvirt provider (box ubuntu/xenial64) with "
            + pins.how_to_supply("calicoctl")
            + "; and "
            + pins.how_to_supply("calico-node-image")
        )
        if role == "calico":
            raise RoleUnavailableError(reason)
        raise RoleUnavailableError(f"{role} needs the calico role, unavailable here: {reason}", cause=reason)


def calico_pool(lab: Lab) -> str:
    return str(lab.params.get("calico_pool") or "172.32.0.0/16")


# ---- Mesos and Marathon (Mesosphere's builds for xenial, supplied as artifacts: mesos-master,
# mesos-slave, marathon). Mesosphere's repository is gone: no apt source, no apt key.
MESOS_WORK_DIR = "/var/lib/mesos"
MARATHON_PORT = 8080


def require_xenial(role: str, distro: str, software: str, artifact: str = "mesos-deb") -> None:
    """Raise RoleUnavailableError off Ubuntu 16.04, naming `software` and how to supply
    `artifact`, the file it comes from."""
    if distro == pins.BOOKWORM:
        raise RoleUnavailableError(
            f"{software} is not in the Debian 12 archive, and Mesosphere built it for Ubuntu "
            "16.04 only: use the virtualbox or libvirt provider (box ubuntu/xenial64), with "
            + pins.how_to_supply(artifact)
        )
    pins.require_distro(role, distro)


def require_marathon(role: str, distro: str) -> None:
    """For roles that run on Marathon: unavailable wherever the marathon role is, with its
    reason as the cause (said once in summaries)."""
    try:
        require_xenial("marathon", distro, f"Marathon {pins.MARATHON_VERSION}", "marathon-tarball")
    except RoleUnavailableError as exc:
        raise RoleUnavailableError(
            f"{role} needs the marathon role, unavailable here: {exc.message}", cause=exc.message
        ) from None


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


def install_mesos() -> Task:
    """Mesos from the supplied .deb (apt resolves its dependencies from the Ubuntu archive;
    mesos-master, mesos-slave, and marathon for libmesos)."""
    return Task(
        f"install mesos {pins.MESOS_VERSION} ({pins.MESOS_DEB})",
        check=version_check("mesos", pins.MESOS_VERSION),
        run=(apt_install((pins.artifact_path("mesos-deb"), "curl")),),
        artifacts=("mesos-deb",),
    )
