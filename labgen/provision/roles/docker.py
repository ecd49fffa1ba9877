"""Role `docker`: the pinned docker-ce with etcd as its cluster store (WALKTHROUGH §3.3).

Default 18.03.1, one of the versions (18.01 to 18.05) whose libnetwork loses the MAC address
Calico returns (the article's bug, §6; docker/libnetwork#2205, fixed in 18.06.0);
lab param docker_version: "18.06.0" gives the first fixed one. cluster-store was deprecated in
Docker 20.10 and removed in 23.0, and docker-ce 18.0x exists only as Docker's own .deb for
Ubuntu: the role runs on ubuntu-16.04 and says so everywhere else.
"""

from __future__ import annotations

import json
import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import apt_get, apt_update, wait_until
from labgen.provision.stack import docker_artifact

DAEMON_JSON = "/etc/docker/daemon.json"


def daemon_json(node: Node) -> str:
    # The article's daemon.json: this node's own etcd member as Docker's cluster store, which
    # makes the calico network (global scope) visible on every node.
    return json.dumps({"cluster-store": f"etcd://{node.ip}:2379"}, indent=2) + "\n"



def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    art = docker_artifact(lab, distro)
    version = pins.docker_version(lab)
    package_version = pins.DOCKER_XENIAL_DEBS[version]
    deb = shlex.quote(f"{pins.NODE_CACHE}/{art.filename}")
    installed = (f"test \"$(dpkg-query -W -f='${{Version}}' docker-ce 2>/dev/null)\" = "
                 f"{shlex.quote(package_version)}")
    store = shlex.quote(f"Cluster Store: etcd://{node.ip}:2379")
    up = f"systemctl is-active --quiet docker && docker info 2>/dev/null | grep -qF {store}"
    return [
        # apt installs a local .deb with its dependencies (libltdl7 ...) from the archive.
        Task(f"install docker-ce {version}",
             check=installed,
             run=(apt_update(),
                  apt_get(f"install -y --allow-downgrades {deb}"),
                  "apt-mark hold docker-ce"),
             artifacts=(art.name,)),
        Task("cluster store in daemon.json",
             files=(File(DAEMON_JSON, daemon_json(node)),),
             run=("systemctl restart docker",)),
        Task("docker running with its cluster store",
             check=up,
             run=("systemctl enable docker", "systemctl start docker",
                  wait_until(up, 60, "docker running with its cluster store",
                             diagnose="systemctl status --no-pager -n 5 docker"))),
    ]
