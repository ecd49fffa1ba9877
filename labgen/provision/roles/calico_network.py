"""Role `calico-network`: the lab's Calico IP pool and the Docker network `calico-test` on it
(WALKTHROUGH §4.4–4.5). Needs calico on the node, hence Docker.

The pool is lab param calico_pool (default 172.32.0.0/16, the article author's own): not
calico/node's default 192.168.0.0/16, which contains the lab network 192.168.56.0/24 (the lab
file validator rejects an overlapping pool).
"""

from __future__ import annotations

import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision.stack import CALICOCTL, require_calico
from labgen.provision.stack import CALICO_NETWORK as NETWORK
from labgen.provision.stack import calico_pool as pool

POOL_FILE = "/etc/calico/labgen-pool.yaml"


def pool_manifest(lab: Lab) -> str:
    # calicoctl 1.x (v1 resources). ipip off: the nodes share one L2 network, where plain BGP
    # routes work (the article: ipip can be off where BGP works). nat-outgoing: workloads
    # reach addresses outside the pool through their host.
    return (
        "apiVersion: v1\n"
        "kind: ipPool\n"
        "metadata:\n"
        f"  cidr: {pool(lab)}\n"
        "spec:\n"
        "  ipip:\n"
        "    enabled: false\n"
        "  nat-outgoing: true\n"
        "  disabled: false\n"
    )


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    require_calico("calico-network", lab, distro)
    cidr = shlex.quote(pool(lab))
    net = shlex.quote(NETWORK)
    apply = f"{CALICOCTL} apply -f {POOL_FILE}"
    subnet = "{{range .IPAM.Config}}{{.Subnet}}{{end}}"
    return [
        Task(f"ip pool {pool(lab)} (manifest)", files=(File(POOL_FILE, pool_manifest(lab)),), run=(apply,)),
        Task(f"ip pool {pool(lab)} exists", check=f"{CALICOCTL} get ipPool {cidr} | grep -qF {cidr}", run=(apply,)),
        Task(
            f"docker network {NETWORK} on {pool(lab)}",
            check=(f'test "$(docker network inspect -f {shlex.quote(subnet)} {net} 2>/dev/null)" = {cidr}'),
            # a calico-test on another subnet (the pool changed) is replaced
            run=(
                f"docker network rm {net} >/dev/null 2>&1 || true",
                f"docker network create --driver calico --ipam-driver calico-ipam --subnet={cidr} {net}",
            ),
        ),
    ]
