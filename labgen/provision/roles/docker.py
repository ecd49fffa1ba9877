"""Role `docker`: Docker with etcd as its cluster store (WALKTHROUGH §3.3).

On Ubuntu 16.04, the pinned docker-ce: default 18.03.1, one of the versions (18.01 to 18.05)
whose libnetwork loses the MAC address Calico returns (the article's bug, §6;
docker/libnetwork#2205, fixed in 18.06.0); lab param docker_version: "18.06.0" gives the first
fixed one, installed from Docker's own .deb for Ubuntu 16.04.

Docker also published 18.03.1 as static binaries
(https://download.docker.com/linux/static/stable/x86_64/docker-18.03.1-ce.tgz; issue 20,
fact 1). A finding, not used: on the Debian box they could be a supplied artifact (no
signature: trusted on first use) unpacked to /usr/local/bin, plus what the .deb brings and the
tarball does not: a systemd unit and socket, the docker group, and iptables in legacy mode if
18.03's libnetwork does not cope with Debian 12's nft variant (untried). It would bring the MAC
bug's Docker to LXC, but not Calico: calico/node's `docker run --privileged` still fails there.

On Debian 12, Debian's docker.io 20.10: cluster-store was deprecated in Docker 20.10 and
removed in 23.0, so 20.10 still honours it (with a warning), and the article's daemon.json works
as written. It has the MAC bug's fix (the scenario's kernel-level story needs no Docker). It
runs in labgen's privileged LXC nodes (the LXC block of Vagrantfile.j2 mounts the cgroups and
allows the devices Docker needs).
"""

from __future__ import annotations

import json
import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import apt_get, apt_install, apt_update, version_check, wait_until
from labgen.provision.stack import ETCD_CLIENT_PORT, docker_artifact

DAEMON_JSON = "/etc/docker/daemon.json"
# Sealed out of a seat image: everything Docker keeps (the engine id, images, the local network
# store that holds what the image's cluster store knew) and the older key.json identity.
# (units, paths)
SEAL = (("docker.socket", "docker"), ("/var/lib/docker", "/etc/docker/key.json"))
# A clone's root file system is an overlay, and Docker's overlay2 driver refuses to run on one
# ("prior storage driver overlay2 failed"): clones keep this dir on the host's file system.
CLONE_OWN_DIRS = ("/var/lib/docker",)


def daemon_json(node: Node) -> str:
    # The article's daemon.json: this node's own etcd member as Docker's cluster store, which
    # makes the calico network (global scope) visible on every node.
    return json.dumps({"cluster-store": f"etcd://{node.ip}:{ETCD_CLIENT_PORT}"}, indent=2) + "\n"


def install_task(lab: Lab, distro: str) -> Task:
    version = pins.docker_version(lab)
    if distro == pins.BOOKWORM:
        return Task(
            f"install docker.io {pins.DOCKER_IO_VERSION} (Debian 12's; docker-ce {version} is for Ubuntu 16.04)",
            check=version_check("docker.io", pins.DOCKER_IO_VERSION),
            run=(apt_install(("docker.io",)),),
        )
    art = docker_artifact(lab)
    package_version = pins.DOCKER_XENIAL_DEBS[version]
    deb = shlex.quote(art.node_path)
    installed = f"test \"$(dpkg-query -W -f='${{Version}}' docker-ce 2>/dev/null)\" = {shlex.quote(package_version)}"
    # apt installs a local .deb with its dependencies (libltdl7 ...) from the archive.
    return Task(
        f"install docker-ce {version}",
        check=installed,
        run=(apt_update(), apt_get(f"install -y --allow-downgrades {deb}"), "apt-mark hold docker-ce"),
        artifacts=(art.name,),
    )


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    pins.require_distro("docker", distro)
    store = shlex.quote(f"Cluster Store: etcd://{node.ip}:{ETCD_CLIENT_PORT}")
    up = f"systemctl is-active --quiet docker && docker info 2>/dev/null | grep -qF {store}"
    return [
        install_task(lab, distro),
        Task(
            "cluster store in daemon.json",
            files=(File(DAEMON_JSON, daemon_json(node)),),
            run=("systemctl restart docker",),
        ),
        Task(
            "docker running with its cluster store",
            # enabled too: a seat's node must start it at every boot
            check=f"systemctl is-enabled --quiet docker && {up}",
            run=(
                "systemctl enable docker",
                "systemctl start docker",
                wait_until(
                    up, 60, "docker running with its cluster store", diagnose="systemctl status --no-pager -n 5 docker"
                ),
            ),
        ),
    ]
