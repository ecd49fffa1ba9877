"""Role `base`: the node knows its name and every other node's, and has the tools the
scenarios use (iproute2, ping, tcpdump)."""

from __future__ import annotations

import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision.shell import apt_install, packages_installed_check, wait_until

# tmux: the seat pages' web terminals keep each shell in a tmux session (a reload re-attaches)
PACKAGES = ("iproute2", "iputils-ping", "tcpdump", "procps", "sudo", "tmux")
APT_PROXY_PATH = "/etc/apt/apt.conf.d/01labgen-proxy"


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


def apt_proxy_file(url: str) -> File:
    """The apt config that sends a node's downloads through the proxy at `url`.

    http sources are fetched and cached by the proxy; https sources are tunnelled through it
    (CONNECT to port 443, allowed by the proxy's PassThroughPattern; not cached, but they keep
    working on nodes without a direct route out).
    """
    return File(
        APT_PROXY_PATH,
        "// Written by labgen: apt downloads go through the lab host's caching proxy\n"
        "// (apt-cacher-ng); https sources are tunnelled through it, not cached.\n"
        f'Acquire::http::Proxy "{url}";\n'
        f'Acquire::https::Proxy "{url}";\n'
        "// One request at a time per connection, and give up on a silent one: a\n"
        "// pipelined update through the proxy once stalled on a half-closed connection.\n"
        'Acquire::http::Pipeline-Depth "0";\n'
        'Acquire::http::Timeout "30";\n',
    )


def apt_proxy_task(url: str | None) -> Task:
    if url:
        return Task("apt proxy", files=(apt_proxy_file(url),))
    path = shlex.quote(APT_PROXY_PATH)
    return Task("no apt proxy", check=f"test ! -e {path}", run=(f"rm -f {path}",))


# On LXC a node's default route comes by DHCP on lxcbr0 (facts.default_route; libvirt's
# labgen-mgmt is isolated and gives none). A node answers SSH on its lab address before that
# lease arrives; with nothing else to do (a base-only node whose box has every package)
# provisioning used to return first, and a scenario's first step then found no route (the
# mac-bug workloads' gateway 169.254.1.1 is routed through it).
DEFAULT_ROUTE = "ip -4 route show default | grep -q ."


def management_network_task() -> Task:
    return Task(
        "default route (DHCP on the management network)",
        check=DEFAULT_ROUTE,
        run=(
            wait_until(
                DEFAULT_ROUTE,
                120,
                "a default route by DHCP on the management network",
                diagnose="ip -4 addr; ip -4 route",
            ),
        ),
    )


# libvirt's labgen-mgmt forwards nothing and its DHCP names no router, so a VM had no default
# route. A real Calico node has one, and the walkthrough needs it: the host end of a workload's
# veth answers ARP for 169.254.1.1 (proxy ARP) only when the node routes that address out of
# another interface. The route points at the host, which forwards nothing, so the nodes still
# reach nothing beyond it. dhclient sources its exit hooks on every lease (boot, renewal).
GATEWAY_HOOK = "/etc/dhcp/dhclient-exit-hooks.d/labgen-default-route"


def gateway_task(gateway: str) -> Task:
    route = f"ip -4 route replace default via {shlex.quote(gateway)}"
    hook = (
        "# Written by labgen (role base): the management network's DHCP names no router;\n"
        "# the default route points at the host, which forwards nothing.\n"
        'case "$reason" in\n'
        f"BOUND | RENEW | REBIND | REBOOT) {route} || true ;;\n"
        "esac\n"
    )
    return Task(
        "default route to the host (the management network names no router)",
        files=(File(GATEWAY_HOOK, hook),),
        check=DEFAULT_ROUTE,
        run=(route,),
    )


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    name = shlex.quote(node.name)
    return [
        # First: every later apt-get on the node goes through the host's caching proxy where
        # the provider runs one (on LXC nodes it is the only way to the Debian archive), and
        # straight to the archive where none runs (a stale proxy file would break apt).
        apt_proxy_task(facts.apt_proxy),
        *([management_network_task()] if facts.default_route else []),
        *([gateway_task(facts.gateway)] if facts.gateway else []),
        Task(
            "hostname",
            files=(File("/etc/hostname", node.name + "\n"),),
            check=f'test "$(hostname)" = {name}',
            run=(f"hostname {name}",),
        ),
        Task("hosts file", files=(File("/etc/hosts", hosts_file(lab)),)),
        Task("tools", check=packages_installed_check(PACKAGES), run=(apt_install(PACKAGES),)),
    ]
