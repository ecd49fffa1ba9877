"""Role `etcd`: one member of the lab's etcd cluster (WALKTHROUGH §3.1).

Every node with this role is a member; client port 2379, peer port 2380, no TLS (the article:
an internal test), the v2 API on (Calico 2.6 and Docker's cluster store speak etcd v2).
Installed from the distribution's archive: xenial's etcd 2.2.5 (v2 only) or Debian 12's
etcd-server 3.4.23 (v2 behind --enable-v2). Both packages read ETCD_* from /etc/default/etcd.
"""

from __future__ import annotations

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import apt_install, packages_installed_check, settles, wait_until
from labgen.provision.stack import ETCD_CLIENT_PORT as CLIENT_PORT
from labgen.provision.stack import etcd_members as members

PEER_PORT = 2380
DATA_DIR = "/var/lib/etcd/labgen"  # not the package's default dir, see config_file
HEARTBEAT_MS = 250
ELECTION_MS = 1250
HEALTH_WAIT = 180  # seconds: the other members are still being installed
# A seat image (labgen/classroom/image.py) is sealed without what makes this member itself:
# its data dir holds the member id and the image's cluster; the service starts again only
# once provisioning has written the seat's config. (units to stop and mask, paths to remove)
SEAL = (("etcd",), (DATA_DIR,))


def config_file(lab: Lab, node: Node, distro: str) -> str:
    initial = ",".join(f"{n.name}=http://{n.ip}:{PEER_PORT}" for n in members(lab))
    lines = [
        f"# Written by labgen (role etcd): member {node.name} of lab {lab.name}'s etcd cluster.",
        "# No TLS: an internal test cluster, as in the walkthrough.",
        f"ETCD_NAME={node.name}",
        # The package starts a single-member etcd with its default data dir when installed;
        # a data dir that already belongs to a cluster ignores ETCD_INITIAL_*: use our own.
        f"ETCD_DATA_DIR={DATA_DIR}",
        f"ETCD_LISTEN_PEER_URLS=http://{node.ip}:{PEER_PORT}",
        # 127.0.0.1 too: the article's calico.env points calico/node at localhost:2379.
        f"ETCD_LISTEN_CLIENT_URLS=http://{node.ip}:{CLIENT_PORT},http://127.0.0.1:{CLIENT_PORT}",
        f"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://{node.ip}:{PEER_PORT}",
        f"ETCD_ADVERTISE_CLIENT_URLS=http://{node.ip}:{CLIENT_PORT}",
        f"ETCD_INITIAL_CLUSTER={initial}",
        "ETCD_INITIAL_CLUSTER_STATE=new",
        f"ETCD_INITIAL_CLUSTER_TOKEN=labgen-{lab.name}",
        # An idle member spent 1.6% of a core (a classroom: 90 members, most of 2 cores), mostly
        # waking up for raft's 100 ms heartbeats on two threads. 250 ms, the election timeout
        # raised with it (etcd wants 5x), and one Go thread (a lab node has one CPU) cut that by
        # a third or more; a lost leader is replaced within 1.25-2.5 s instead of 1-2 s. (500 ms
        # saved more, but a new cluster's first election then took 1.7 s longer.)
        f"ETCD_HEARTBEAT_INTERVAL={HEARTBEAT_MS}",
        f"ETCD_ELECTION_TIMEOUT={ELECTION_MS}",
        "GOMAXPROCS=1",
    ]
    if distro == pins.BOOKWORM:
        # etcd 3.4 serves the v2 API only when asked; Calico 2.6 (datastoreType etcdv2) needs it.
        lines.append("ETCD_ENABLE_V2=true")
    return "\n".join(lines) + "\n"


def etcdctl2(args: str) -> str:
    """An etcdctl v2 command against the local member (etcdctl 3.4 needs ETCDCTL_API=2;
    xenial's 2.2.5 ignores the variable). The endpoint goes in --peers (-C): xenial's etcdctl
    2.2.5 has --peers and --endpoint but no --endpoints (added in 2.3), and 3.4's v2 mode
    still accepts --peers (deprecated) (tests/integration/test_etcd_v2.py runs them)."""
    return f"ETCDCTL_API=2 etcdctl --peers http://127.0.0.1:{CLIENT_PORT} {args}"


def healthy_check(lab: Lab) -> str:
    """Passes when the cluster is healthy, has every member, and answers the v2 API."""
    n = len(members(lab))
    return (
        f"{etcdctl2('cluster-health')} | grep -qx 'cluster is healthy' && "
        f"test \"$({etcdctl2('member list')} | grep -c 'clientURLs=http://')\" -eq {n} && "
        f"{etcdctl2('ls /')} >/dev/null"
    )


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    pins.require_distro("etcd", distro)
    packages = pins.ETCD_PACKAGES[distro]
    active = "systemctl is-active --quiet etcd"
    # `systemctl show --value` needs systemd 230; xenial has 229: compare the whole line.
    activating = 'test "$(systemctl show -p ActiveState etcd)" = ActiveState=activating'
    return [
        Task(
            f"install etcd {pins.ETCD_VERSIONS[distro]} ({', '.join(packages)})",
            check=packages_installed_check(packages),
            run=(apt_install(packages),),
        ),
        # --no-block: a new member's start (Type=notify) only completes once a quorum of
        # members is up, and the other nodes are provisioned in parallel. The health task waits.
        Task(
            "cluster member config",
            files=(File("/etc/default/etcd", config_file(lab, node, distro)),),
            run=("systemctl daemon-reload", "systemctl restart --no-block etcd"),
        ),
        Task(
            "etcd enabled and started",
            check=f"systemctl is-enabled --quiet etcd && {{ {active} || {activating}; }}",
            # --no-block returns before systemd has run the start job: wait (briefly) until
            # the job runs, so the check after it does not see the unit still failed or
            # inactive (seen once on a re-cloned seat whose etcd had just failed)
            run=(
                "systemctl enable etcd",
                "systemctl start --no-block etcd",
                wait_until(f"{active} || {activating}", 30, "etcd starting"),
            ),
        ),
        Task(
            f"cluster healthy with {len(members(lab))} members",
            check=settles(healthy_check(lab)),
            run=(
                wait_until(
                    healthy_check(lab),
                    HEALTH_WAIT,
                    "etcd cluster healthy",
                    diagnose=f"{etcdctl2('cluster-health')}; systemctl status --no-pager -n 5 etcd",
                    stable=3,
                ),
            ),
        ),
    ]
