"""Role `base`: the node knows its name and every other node's, and has the tools the
scenarios use (iproute2, ping, tcpdump)."""

from __future__ import annotations

import shlex

from labgen.model import File, Lab, Node, Task
from labgen.provision.shell import apt_install, packages_installed_check

PACKAGES = ("iproute2", "iputils-ping", "tcpdump", "procps", "sudo")


def hosts_file(lab: Lab) -> str:
    lines = [
        "# Written by labgen (role base): every node of lab " + lab.name,
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
        "",
    ]
    lines += [f"{n.ip}\t{n.name}" for n in lab.nodes]
    return "\n".join(lines) + "\n"



def tasks(lab: Lab, node: Node, distro: str) -> list[Task]:
    from labgen.aptproxy import node_proxy_file

    name = shlex.quote(node.name)
    return [
        # First: every later apt-get on the node goes through the host's caching proxy (on LXC
        # nodes it is the only way to the Debian archive).
        Task("apt proxy", files=(node_proxy_file(lab),)),
        Task("hostname",
             files=(File("/etc/hostname", node.name + "\n"),),
             check=f"test \"$(hostname)\" = {name}",
             run=(f"hostname {name}",)),
        Task("hosts file", files=(File("/etc/hosts", hosts_file(lab)),)),
        Task("tools", check=packages_installed_check(PACKAGES), run=(apt_install(PACKAGES),)),
    ]
