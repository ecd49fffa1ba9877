"""Role `mesos-master`: Mesos 1.5 as Mesosphere built it for Ubuntu 16.04 (WALKTHROUGH §5.1–5.2).

Mesosphere built Mesos and Marathon for Ubuntu 16.04, not for Debian 12: the role runs on
ubuntu-16.04 only. Mesosphere's repository is gone, so the package is an artifact the
instructor supplies (pins.MESOS_DEB), installed with apt (its dependencies come from the
Ubuntu archive) and its version verified after the install (stack.install_mesos).
"""

from __future__ import annotations

import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import disabled_and_stopped, enabled_and_running, wait_until
from labgen.provision.stack import MESOS_WORK_DIR as WORK_DIR
from labgen.provision.stack import mesos_zk_url as zk_url
from labgen.provision.stack import install_mesos, require_xenial

MASTER_PORT = 5050


def agents(lab: Lab) -> list[Node]:
    return [n for n in lab.nodes if "mesos-slave" in n.roles]


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    require_xenial("mesos-master", distro, f"Mesos {pins.MESOS_VERSION}")
    url = f"http://{node.ip}:{MASTER_PORT}/master/slaves"
    want = len(agents(lab))
    seen = f'test "$(curl -sf {shlex.quote(url)} | grep -o \'"active":true\' | wc -l)" -ge {want}'
    tasks = [
        install_mesos(),
        Task(
            "master config",
            files=(
                File("/etc/mesos/zk", zk_url(lab) + "\n"),
                File("/etc/mesos-master/ip", f"{node.ip}\n"),
                File("/etc/mesos-master/hostname", f"{node.ip}\n"),
                File("/etc/mesos-master/quorum", "1\n"),
                File("/etc/mesos-master/work_dir", WORK_DIR + "\n"),
                File("/etc/mesos-master/cluster", lab.name + "\n"),
            ),
            run=("systemctl restart mesos-master",),
        ),
        enabled_and_running("mesos-master"),
    ]
    if "mesos-slave" not in node.roles:
        tasks.append(disabled_and_stopped("mesos-slave"))
    if want:
        tasks.append(
            Task(
                f"master sees {want} agents",
                check=seen,
                run=(wait_until(seen, 240, f"{want} active Mesos agents", diagnose=f"curl -s {shlex.quote(url)}"),),
            )
        )
    return tasks
