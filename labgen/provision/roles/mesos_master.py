"""Role `mesos-master`: Mesos 1.5 as Mesosphere built it for Ubuntu 16.04 (WALKTHROUGH §5.1–5.2).

Mesosphere built Mesos and Marathon for Ubuntu 16.04, not for Debian 12: the role runs on
ubuntu-16.04 only. Mesosphere's repository is gone, so the package is an artifact the
instructor supplies (pins.MESOS_DEB), installed with apt (its dependencies come from the
Ubuntu archive) and its version verified after the install.
"""

from __future__ import annotations

import shlex

from labgen.model import File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.engine import RoleUnavailableError
from labgen.provision.roles.base import apt_install, wait_until
from labgen.provision.roles.zookeeper import CLIENT_PORT as ZK_PORT

MASTER_PORT = 5050
WORK_DIR = "/var/lib/mesos"


def require_xenial(role: str, distro: str, software: str, artifact: str = "mesos-deb") -> None:
    """Raise RoleUnavailableError off Ubuntu 16.04, naming `software` and how to supply
    `artifact`, the file it comes from."""
    if distro == pins.BOOKWORM:
        raise RoleUnavailableError(
            f"{software} is not in the Debian 12 archive, and Mesosphere built it for Ubuntu "
            "16.04 only: use the virtualbox or libvirt provider (box ubuntu/xenial64), with "
            + pins.how_to_supply(artifact))
    pins.require_distro(role, distro)


def master(lab: Lab) -> Node:
    """The lab's Mesos master: the first node with the mesos-master role."""
    for n in lab.nodes:
        if "mesos-master" in n.roles:
            return n
    raise RoleUnavailableError(f"lab {lab.name} has no node with the mesos-master role")


def zk_url(lab: Lab) -> str:
    """/etc/mesos/zk: the master's ZooKeeper (the article writes `zk://<hostname>:2181/mesos`)."""
    return f"zk://{master(lab).ip}:{ZK_PORT}/mesos"


def version_check(package: str, version: str) -> str:
    return (f"dpkg-query -W -f='${{Version}}' {shlex.quote(package)} 2>/dev/null "
            f"| grep -q {shlex.quote('^' + version.replace('.', '[.]'))}")


def install_mesos() -> Task:
    """Mesos from the supplied .deb (apt resolves its dependencies from the Ubuntu archive)."""
    return Task(f"install mesos {pins.MESOS_VERSION} ({pins.MESOS_DEB})",
                check=version_check("mesos", pins.MESOS_VERSION),
                run=(apt_install((pins.artifact_path("mesos-deb"), "curl")),),
                artifacts=("mesos-deb",))


def service_off(service: str) -> Task:
    """The mesos package enables both daemons: stop the one this node does not run."""
    s = shlex.quote(service)
    return Task(f"{service} disabled here",
                check=f"! systemctl is-enabled --quiet {s} && ! systemctl is-active --quiet {s}",
                run=(f"systemctl disable {s}", f"systemctl stop {s}"))


def agents(lab: Lab) -> list[Node]:
    return [n for n in lab.nodes if "mesos-slave" in n.roles]


def tasks(lab: Lab, node: Node, distro: str) -> list[Task]:
    require_xenial("mesos-master", distro, f"Mesos {pins.MESOS_VERSION}")
    url = f"http://{node.ip}:{MASTER_PORT}/master/slaves"
    want = len(agents(lab))
    seen = (f"test \"$(curl -sf {shlex.quote(url)} | grep -o '\"active\":true' | wc -l)\" "
            f"-ge {want}")
    tasks = [
        install_mesos(),
        Task("master config",
             files=(File("/etc/mesos/zk", zk_url(lab) + "\n"),
                    File("/etc/mesos-master/ip", f"{node.ip}\n"),
                    File("/etc/mesos-master/hostname", f"{node.ip}\n"),
                    File("/etc/mesos-master/quorum", "1\n"),
                    File("/etc/mesos-master/work_dir", WORK_DIR + "\n"),
                    File("/etc/mesos-master/cluster", lab.name + "\n")),
             run=("systemctl restart mesos-master",)),
        Task("mesos-master running",
             check="systemctl is-enabled --quiet mesos-master && systemctl is-active --quiet mesos-master",
             run=("systemctl enable mesos-master", "systemctl start mesos-master")),
    ]
    if "mesos-slave" not in node.roles:
        tasks.append(service_off("mesos-slave"))
    if want:
        tasks.append(Task(f"master sees {want} agents",
                          check=seen,
                          run=(wait_until(seen, 240, f"{want} active Mesos agents",
                                          diagnose=f"curl -s {shlex.quote(url)}"),)))
    return tasks
