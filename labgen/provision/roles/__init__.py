"""The role catalogue. Each role module exposes `tasks(lab, node, facts) -> list[Task]`
(facts: model.Facts, the distribution and the apt proxy), or
raises RoleUnavailableError saying why it cannot run there. Imports stay lazy and cheap."""

from __future__ import annotations

import importlib

# Every role a lab file may name, in the order they are applied on a node.
ROLE_NAMES = (
    "base",
    "etcd",
    "zookeeper",
    "docker",
    "calico",
    "calico-network",
    "mesos-master",
    "mesos-slave",
    "marathon",
    "marathon-app",
)

# Roles whose task declarations exist; the rest are reported as not yet available.
IMPLEMENTED = ROLE_NAMES


def role_module(name: str):
    """The module implementing role `name` (e.g. labgen.provision.roles.base)."""
    return importlib.import_module(f"labgen.provision.roles.{name.replace('-', '_')}")
