"""Role `mesos-slave`: a Mesos 1.5 agent with the Docker containerizer (WALKTHROUGH §5.2).

Ubuntu 16.04 only (see mesos_master). The agent runs the article's app with Docker, so the
app's image is loaded here from an artifact instead of being pulled by every agent.
"""

from __future__ import annotations

import shlex

from labgen.model import File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.roles import docker
from labgen.provision.roles.mesos_master import (WORK_DIR, install_mesos, require_xenial,
                                                 service_off, zk_url)

AGENT_PORT = 5051


def tasks(lab: Lab, node: Node, distro: str) -> list[Task]:
    require_xenial("mesos-slave", distro, f"Mesos {pins.MESOS_VERSION}")
    docker.require_docker("mesos-slave", lab, distro)
    image = shlex.quote(pins.NGINX_IMAGE)
    tarball = shlex.quote(pins.artifact_path("nginx-image"))
    tasks = [
        install_mesos(),
        Task("agent config",
             files=(File("/etc/mesos/zk", zk_url(lab) + "\n"),
                    File("/etc/mesos-slave/ip", f"{node.ip}\n"),
                    File("/etc/mesos-slave/hostname", f"{node.ip}\n"),
                    File("/etc/mesos-slave/containerizers", "docker,mesos\n"),
                    File("/etc/mesos-slave/work_dir", WORK_DIR + "\n"),
                    # Mesos' advice for the Docker containerizer: an image pull may take minutes.
                    File("/etc/mesos-slave/executor_registration_timeout", "5mins\n")),
             run=("systemctl restart mesos-slave",)),
        Task("mesos-slave running",
             check="systemctl is-enabled --quiet mesos-slave && systemctl is-active --quiet mesos-slave",
             run=("systemctl enable mesos-slave", "systemctl start mesos-slave")),
        Task(f"image {pins.NGINX_IMAGE} for the app",
             check=f"docker image inspect {image} >/dev/null 2>&1",
             run=(f"docker load -i {tarball}",),
             artifacts=("nginx-image",)),
    ]
    if "mesos-master" not in node.roles:
        tasks.insert(1, service_off("mesos-master"))
    return tasks
