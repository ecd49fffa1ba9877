"""Role `marathon`: pinned Marathon from the Mesosphere xenial repository (WALKTHROUGH §5.3).

Ubuntu 16.04 only (see mesos_master). The article configures it through /etc/marathon/conf
(`master`: a copy of /etc/mesos/zk; `zk`: every ZooKeeper member, chroot /marathon).
"""

from __future__ import annotations

import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import enabled_and_running, wait_until
from labgen.provision.stack import marathon_url as url
from labgen.provision.stack import mesos_zk_url as zk_url
from labgen.provision.stack import mesosphere_install_task as install_task
from labgen.provision.stack import mesosphere_repository_tasks as repository_tasks
from labgen.provision.stack import require_xenial, zk_connect_string


def default_file(lab: Lab) -> str:
    # Marathon 1.5's package reads MARATHON_* from /etc/default/marathon; the conf-dir files
    # are what the article wrote (older packages read those). Both say the same thing.
    return ("# Written by labgen (role marathon): the same as /etc/marathon/conf.\n"
            f"MARATHON_MASTER={zk_url(lab)}\n"
            f"MARATHON_ZK={zk_connect_string(lab, 'marathon')}\n")


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    require_xenial("marathon", distro, f"Marathon {pins.MARATHON_VERSION}")
    info = shlex.quote(url(node, "/v2/info"))
    version = shlex.quote(f'"version":"{pins.MARATHON_VERSION}')
    up = f"curl -sf {info} | grep -qF {version}"
    return [
        *repository_tasks(),
        install_task("marathon", pins.MARATHON_VERSION),
        Task("marathon config",
             files=(File("/etc/marathon/conf/master", zk_url(lab) + "\n"),
                    File("/etc/marathon/conf/zk", zk_connect_string(lab, "marathon") + "\n"),
                    File("/etc/default/marathon", default_file(lab))),
             run=("systemctl restart marathon",)),
        enabled_and_running("marathon", "marathon enabled and started"),
        Task(f"/v2/info answers (Marathon {pins.MARATHON_VERSION})",
             check=up,
             run=(wait_until(up, 180, "Marathon answering on /v2/info",
                             diagnose="systemctl status --no-pager -n 10 marathon"),)),
    ]
