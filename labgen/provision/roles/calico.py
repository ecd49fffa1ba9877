"""Role `calico`: calicoctl v1.6.3 and calico/node v2.6.2 as the article's systemd service
(WALKTHROUGH §4.1–4.3). It needs more than Docker: its unit's `docker run --privileged` fails
in labgen's LXC nodes, so it runs on Ubuntu 16.04 only (stack.require_calico; issue 20, fact 4).
"""

from __future__ import annotations

import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import wait_until
from labgen.provision.stack import CALICOCTL, etcd_endpoints, require_calico

CALICOCTL_CFG = "/etc/calico/calicoctl.cfg"
CALICO_ENV = "/etc/calico/calico.env"
UNIT = "/etc/systemd/system/calico-node.service"


def calicoctl_cfg(lab: Lab) -> str:
    # The article's file, except that its third endpoint lacked "http://".
    return (
        "apiVersion: v1\n"
        "kind: calicoApiConfig\n"
        "metadata:\n"
        "spec:\n"
        '  datastoreType: "etcdv2"\n'
        f'  etcdEndpoints: "{",".join(etcd_endpoints(lab))}"\n'
    )


def calico_env(node: Node) -> str:
    return (
        "\n".join(
            [
                f"# Written by labgen (role calico): calico/node on {node.name}.",
                "ETCD_AUTHORITY=localhost:2379",
                "ETCD_SCHEME=http",
                'ETCD_CA_FILE=""',
                'ETCD_CA_CERT_FILE=""',  # the unit passes this name (the article's env said CA_FILE)
                'ETCD_CERT_FILE=""',
                'ETCD_KEY_FILE=""',
                # The unit passes -e HOSTNAME=${HOSTNAME}, which systemd does not set: name it here.
                f"HOSTNAME={node.name}",
                'CALICO_HOSTNAME=""',
                # The default pools include 192.168.0.0/16, which covers the lab network
                # 192.168.56.0/24 (WALKTHROUGH §4.4): the calico-network role creates the lab's pool.
                "CALICO_NO_DEFAULT_POOLS=true",
                # Set, not autodetected: VirtualBox NIC names defeat autodetection and the NAT adapter
                # (10.0.2.15 on every VM) would be chosen (WALKTHROUGH §4.3).
                f'CALICO_IP="{node.ip}"',
                'CALICO_IP6=""',
                'CALICO_AS=""',
                "CALICO_LIBNETWORK_ENABLED=true",
                "CALICO_NETWORKING_BACKEND=bird",
                "# IP_AUTODETECTION_METHOD",
            ]
        )
        + "\n"
    )


def unit_file() -> str:
    # The article's unit file, with the pinned image.
    return f"""[Unit]
Description=calico-node
After=docker.service
Requires=docker.service

[Service]
EnvironmentFile={CALICO_ENV}
ExecStartPre=-/usr/bin/docker rm -f calico-node
ExecStart=/usr/bin/docker run --net=host --privileged \\
 --name=calico-node \\
 -e HOSTNAME=${{HOSTNAME}} \\
 -e IP=${{CALICO_IP}} \\
 -e IP6=${{CALICO_IP6}} \\
 -e CALICO_NETWORKING_BACKEND=${{CALICO_NETWORKING_BACKEND}} \\
 -e AS=${{CALICO_AS}} \\
 -e NO_DEFAULT_POOLS=${{CALICO_NO_DEFAULT_POOLS}} \\
 -e CALICO_LIBNETWORK_ENABLED=${{CALICO_LIBNETWORK_ENABLED}} \\
 -e ETCD_AUTHORITY=${{ETCD_AUTHORITY}} \\
 -e ETCD_SCHEME=${{ETCD_SCHEME}} \\
 -e ETCD_CA_CERT_FILE=${{ETCD_CA_CERT_FILE}} \\
 -e ETCD_CERT_FILE=${{ETCD_CERT_FILE}} \\
 -e ETCD_KEY_FILE=${{ETCD_KEY_FILE}} \\
 -e IP_AUTODETECTION_METHOD=${{IP_AUTODETECTION_METHOD}} \\
 -v /var/log/calico:/var/log/calico \\
 -v /run/docker/plugins:/run/docker/plugins \\
 -v /lib/modules:/lib/modules \\
 -v /var/run/calico:/var/run/calico \\
 -v /var/run/docker.sock:/var/run/docker.sock \\
 -v /run:/run \\
 {pins.CALICO_NODE_IMAGE}

ExecStop=-/usr/bin/docker stop calico-node

Restart=on-failure
StartLimitBurst=3
StartLimitInterval=60s

[Install]
WantedBy=multi-user.target
"""


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    require_calico("calico", lab, distro)
    binary = shlex.quote(pins.artifact_path("calicoctl"))
    tarball = shlex.quote(pins.artifact_path("calico-node-image"))
    image = shlex.quote(pins.CALICO_NODE_IMAGE)
    running = "systemctl is-enabled --quiet calico-node && systemctl is-active --quiet calico-node"
    status = f"{CALICOCTL} node status | grep -q 'Calico process is running'"
    return [
        Task(
            f"calicoctl {pins.CALICOCTL_VERSION}",
            check=f"cmp -s {binary} {CALICOCTL}",
            run=(f"install -m 0755 {binary} {CALICOCTL}",),
            artifacts=("calicoctl",),
        ),
        Task("calicoctl.cfg (etcdv2, every member)", files=(File(CALICOCTL_CFG, calicoctl_cfg(lab)),)),
        Task(
            f"image {pins.CALICO_NODE_IMAGE}",
            check=f"docker image inspect {image} >/dev/null 2>&1",
            run=(f"docker load -i {tarball}",),
            artifacts=("calico-node-image",),
        ),
        Task(
            "calico-node service files",
            files=(File(CALICO_ENV, calico_env(node)), File(UNIT, unit_file())),
            run=("systemctl daemon-reload", "systemctl restart calico-node"),
        ),
        Task(
            "calico-node enabled and running",
            check=running,
            run=("systemctl daemon-reload", "systemctl enable calico-node", "systemctl start calico-node"),
        ),
        Task(
            "calicoctl node status",
            check=status,
            run=(
                wait_until(
                    status,
                    120,
                    "calico/node running",
                    diagnose=f"{CALICOCTL} node status; docker logs --tail 10 calico-node",
                ),
            ),
        ),
    ]
