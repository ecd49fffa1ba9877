"""Role `marathon`: pinned Marathon from the Mesosphere xenial repository (WALKTHROUGH §5.3).

Ubuntu 16.04 only (see mesos_master). The article configures it through /etc/marathon/conf
(`master`: a copy of /etc/mesos/zk; `zk`: every ZooKeeper member, chroot /marathon).
"""

from __future__ import annotations

import shlex

from labgen.model import File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.roles import zookeeper
from labgen.provision.roles.base import wait_until
from labgen.provision.roles.mesos_master import install_task, repository_tasks, require_xenial, zk_url

PORT = 8080


def url(node: Node, path: str) -> str:
    return f"http://{node.ip}:{PORT}{path}"


def default_file(lab: Lab) -> str:
    # Marathon 1.5's package reads MARATHON_* from /etc/default/marathon; the conf-dir files
    # are what the article wrote (older packages read those). Both say the same thing.
    return ("# Written by labgen (role marathon): the same as /etc/marathon/conf.\n"
            f"MARATHON_MASTER={zk_url(lab)}\n"
            f"MARATHON_ZK={zookeeper.connect_string(lab, 'marathon')}\n")


def tasks(lab: Lab, node: Node, distro: str) -> list[Task]:
    require_xenial("marathon", distro, f"Marathon {pins.MARATHON_VERSION}")
    info = shlex.quote(url(node, "/v2/info"))
    version = shlex.quote(f'"version":"{pins.MARATHON_VERSION}')
    up = f"curl -sf {info} | grep -qF {version}"
    return [
        *repository_tasks(),
        install_task("marathon", pins.MARATHON_VERSION),
        Task("marathon config",
             files=(File("/etc/marathon/conf/master", zk_url(lab) + "\n"),
                    File("/etc/marathon/conf/zk", zookeeper.connect_string(lab, "marathon") + "\n"),
                    File("/etc/default/marathon", default_file(lab))),
             run=("systemctl restart marathon",)),
        Task("marathon enabled and started",
             check="systemctl is-enabled --quiet marathon && systemctl is-active --quiet marathon",
             run=("systemctl enable marathon", "systemctl start marathon")),
        Task(f"/v2/info answers (Marathon {pins.MARATHON_VERSION})",
             check=up,
             run=(wait_until(up, 180, "Marathon answering on /v2/info",
                             diagnose="systemctl status --no-pager -n 10 marathon"),)),
    ]
