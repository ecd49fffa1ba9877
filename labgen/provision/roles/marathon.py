"""Role `marathon`: Marathon 1.5.6 from its release tarball (WALKTHROUGH §5.3).

Ubuntu 16.04 only (see mesos_master). Mesosphere's repository, which held the article's
package, is gone; the release tarball (pins.MARATHON_TARBALL, supplied by the instructor) holds
the same Marathon: Java 8 from the Ubuntu archive runs it under a systemd unit written here,
with the settings the article put in /etc/marathon/conf (`master`: the Mesos zk URL; `zk`:
every ZooKeeper member, chroot /marathon).
"""

from __future__ import annotations

import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import apt_install, enabled_and_running, wait_until
from labgen.provision.stack import MARATHON_PORT as PORT
from labgen.provision.stack import install_mesos, require_xenial, zk_connect_string
from labgen.provision.stack import marathon_url as url
from labgen.provision.stack import mesos_zk_url as zk_url

HOME = f"/opt/marathon-{pins.MARATHON_VERSION}"
UNIT = "/etc/systemd/system/marathon.service"


def unit_file(lab: Lab, node: Node) -> str:
    # libmesos.so comes from the mesos package (install_mesos); Marathon loads it through JNI.
    return (
        "# Written by labgen (role marathon).\n"
        "[Unit]\nDescription=Marathon " + pins.MARATHON_VERSION + "\n"
        "After=network-online.target zookeeper.service\nWants=network-online.target\n\n"
        "[Service]\n"
        "Environment=MESOS_NATIVE_JAVA_LIBRARY=/usr/lib/libmesos.so\n"
        f"ExecStart={HOME}/bin/marathon --master {zk_url(lab)} "
        f"--zk {zk_connect_string(lab, 'marathon')} --hostname {node.ip} "
        f"--http_port {PORT}\n"
        "Restart=on-failure\nRestartSec=5\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    require_xenial("marathon", distro, f"Marathon {pins.MARATHON_VERSION}", "marathon-tarball")
    info = shlex.quote(url(node, "/v2/info"))
    version = shlex.quote(f'"version":"{pins.MARATHON_VERSION}')
    up = f"curl -sf {info} | grep -qF {version}"
    tarball = shlex.quote(pins.artifact_path("marathon-tarball"))
    home = shlex.quote(HOME)
    return [
        install_mesos(),
        Task(
            "Java 8 for Marathon",
            check="dpkg-query -W -f='${Status}' openjdk-8-jre-headless 2>/dev/null | grep -q 'ok installed'",
            run=(apt_install(("openjdk-8-jre-headless",)),),
        ),
        Task(
            f"Marathon {pins.MARATHON_VERSION} in {HOME} ({pins.MARATHON_TARBALL})",
            check=f"test -x {home}/bin/marathon",
            run=(
                f"rm -rf {home}.partial && mkdir -p {home}.partial",
                f"tar -xzf {tarball} -C {home}.partial --strip-components=1",
                f"mv {home}.partial {home}",
            ),
            artifacts=("marathon-tarball",),
        ),
        Task(
            "marathon service",
            files=(File(UNIT, unit_file(lab, node)),),
            run=("systemctl daemon-reload", "systemctl restart marathon"),
        ),
        enabled_and_running("marathon", "marathon enabled and started"),
        Task(
            f"/v2/info answers (Marathon {pins.MARATHON_VERSION})",
            check=up,
            run=(
                wait_until(
                    up, 180, "Marathon answering on /v2/info", diagnose="systemctl status --no-pager -n 10 marathon"
                ),
            ),
        ),
    ]
