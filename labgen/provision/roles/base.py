"""Role `base`: the node knows its name and every other node's, and has the tools the
scenarios use (iproute2, ping, tcpdump)."""

from __future__ import annotations

import shlex

from labgen.model import File, Lab, Node, Task

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


def packages_installed_check(packages) -> str:
    # dpkg-query prints one status per package; any line that is not "install ok installed" fails.
    names = " ".join(shlex.quote(p) for p in packages)
    return (f"test \"$(dpkg-query -W -f='${{Status}}\\n' {names} 2>/dev/null "
            f"| grep -c '^install ok installed$')\" -eq {len(packages)}")


def apt_install(packages) -> str:
    names = " ".join(shlex.quote(p) for p in packages)
    return ("DEBIAN_FRONTEND=noninteractive apt-get update -q && "
            f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {names}")


def tasks(lab: Lab, node: Node, distro: str) -> list[Task]:
    name = shlex.quote(node.name)
    return [
        Task("hostname",
             files=(File("/etc/hostname", node.name + "\n"),),
             check=f"test \"$(hostname)\" = {name}",
             run=(f"hostname {name}",)),
        Task("hosts file", files=(File("/etc/hosts", hosts_file(lab)),)),
        Task("tools", check=packages_installed_check(PACKAGES), run=(apt_install(PACKAGES),)),
    ]
