"""Role `mesos-slave`: a Mesos 1.5 agent with the Docker containerizer (WALKTHROUGH §5.2).

Ubuntu 16.04 only (see mesos_master). The agent runs the article's app with Docker, so the
app's image is loaded here from an artifact instead of being pulled by every agent.
"""

from __future__ import annotations

import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import disabled_and_stopped, enabled_and_running
from labgen.provision.stack import MESOS_WORK_DIR as WORK_DIR
from labgen.provision.stack import mesos_zk_url as zk_url
from labgen.provision.stack import install_mesos, require_docker, require_xenial

AGENT_PORT = 5051


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    require_xenial("mesos-slave", distro, f"Mesos {pins.MESOS_VERSION}")
    require_docker("mesos-slave", lab, distro)
    image = shlex.quote(pins.NGINX_IMAGE)
    tarball = shlex.quote(pins.artifact_path("nginx-image"))
    tasks = [
        install_mesos(),
        Task(
            "agent config",
            files=(
                File("/etc/mesos/zk", zk_url(lab) + "\n"),
                File("/etc/mesos-slave/ip", f"{node.ip}\n"),
                File("/etc/mesos-slave/hostname", f"{node.ip}\n"),
                File("/etc/mesos-slave/containerizers", "docker,mesos\n"),
                File("/etc/mesos-slave/work_dir", WORK_DIR + "\n"),
                # Mesos' advice for the Docker containerizer: an image pull may take minutes.
                File("/etc/mesos-slave/executor_registration_timeout", "5mins\n"),
            ),
            run=("systemctl restart mesos-slave",),
        ),
        enabled_and_running("mesos-slave"),
        Task(
            f"image {pins.NGINX_IMAGE} for the app",
            check=f"docker image inspect {image} >/dev/null 2>&1",
            run=(f"docker load -i {tarball}",),
            artifacts=("nginx-image",),
        ),
    ]
    if "mesos-master" not in node.roles:
        tasks.insert(1, disabled_and_stopped("mesos-master"))
    return tasks
