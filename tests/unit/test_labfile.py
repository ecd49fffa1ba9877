"""Lab files: the built-in lab, every validation rule with the exact text users see, hostile input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from labgen import yamlsrc
from labgen.errors import InputError
from labgen.labfile import builtin_labs, find_lab, load_lab, parse_lab
from labgen.model import Lab
from tests.unit.golden import assert_golden

DATA = Path(__file__).resolve().parent.parent / "data" / "labs"

# A minimal valid lab; the cases below change one thing each (line numbers refer to this shape).
BASE = """\
name: demo
network: {cidr: 192.168.56.0/24}
boxes: {lxc: labgen/debian-12}
nodes:
  - {name: n1, ip: 192.168.56.11, roles: [base]}
"""


def problems(text: str) -> list[str]:
    """The problems parse_lab reports for `text` (named lab.yml), or [] when it is valid."""
    try:
        parse_lab(yamlsrc.load_text(textwrap.dedent(text), "lab.yml"), "lab.yml")
    except InputError as exc:
        return exc.problems
    return []


def lab_of(text: str) -> Lab:
    return parse_lab(yamlsrc.load_text(textwrap.dedent(text), "lab.yml"), "lab.yml")


# ---------------------------------------------------------------- the built-in lab


def test_builtin_lab_loads_as_the_walkthrough_describes():
    lab = load_lab(find_lab("mesos-calico"))
    assert lab.name == "mesos-calico"
    assert str(lab.network) == "192.168.56.0/24" and str(lab.host_ip) == "192.168.56.1"
    assert [(n.name, str(n.ip)) for n in lab.nodes] == [
        ("ubuntu-1", "192.168.56.101"),
        ("ubuntu-2", "192.168.56.102"),
        ("ubuntu-3", "192.168.56.103"),
    ]
    assert lab.node("ubuntu-1").memory == 2048 and lab.node("ubuntu-2").memory == 1024
    assert "mesos-master" in lab.node("ubuntu-1").roles
    assert all("mesos-slave" in lab.node(n).roles for n in ("ubuntu-2", "ubuntu-3"))
    assert all({"etcd", "zookeeper", "docker", "calico"} <= set(n.roles) for n in lab.nodes)
    assert set(lab.boxes) == {"virtualbox", "libvirt", "lxc"}
    assert lab.params == {"docker_version": "18.03.1", "calico_pool": "172.32.0.0/16"}
    assert lab.synced_folder is False
    assert "labgen scenario run mac-bug" in lab.message
    assert lab.source == find_lab("mesos-calico")


def test_builtin_labs_are_listed_and_named_after_their_file():
    listed = builtin_labs()
    assert ("mesos-calico", load_lab(find_lab("mesos-calico")).description) in listed
    for name, _ in listed:
        assert load_lab(find_lab(name)).name == name


def test_find_lab_prefers_an_existing_file(tmp_path):
    path = tmp_path / "mesos-calico"  # a file named like the built-in wins
    path.write_text(BASE)
    assert find_lab(str(path)) == path


def test_find_lab_unknown_name_lists_builtins_with_did_you_mean():
    with pytest.raises(InputError) as err:
        find_lab("mesos-calcio")
    assert err.value.problems == [
        "lab 'mesos-calcio' is neither a file nor a built-in lab (did you mean 'mesos-calico'?); "
        "expected a path to a lab file or one of the built-in labs: mesos-calico"
    ]
    assert "labgen list" in err.value.hint


def test_find_lab_never_joins_user_text_to_a_path():
    with pytest.raises(InputError):
        find_lab("../labs/mesos-calico")


def test_load_lab_names_the_file_and_a_missing_file(tmp_path):
    with pytest.raises(InputError) as err:
        load_lab(tmp_path / "nope.yml")
    assert err.value.problems == [f"{tmp_path / 'nope.yml'}: no such file"]


def test_defaults_and_params_are_filled_in():
    lab = lab_of(BASE)
    assert lab.description == "" and lab.message == "" and lab.synced_folder is False
    assert lab.params == {"docker_version": "18.03.1", "calico_pool": "172.32.0.0/16"}
    assert (lab.nodes[0].memory, lab.nodes[0].cpus) == (1024, 1)
    lab = lab_of(
        BASE.replace("nodes:", "defaults: {memory: 512, cpus: 2}\nnodes:")
        + "  - {name: n2, ip: 192.168.56.12, roles: [], cpus: 4}\n"
    )
    assert [(n.memory, n.cpus) for n in lab.nodes] == [(512, 2), (512, 4)]


# ---------------------------------------------------------------- one rule, one exact message

CASES = {
    "yaml-syntax": (
        BASE + "  - {name: n2\n",
        ["lab.yml line 7: YAML syntax error: expected ',' or '}', but got '<stream end>'"],
    ),
    "empty-file": ("", ["lab.yml: lab: the file is empty; expected a mapping with keys name, network, boxes, nodes"]),
    "top-level-list": (
        "- name: demo\n",
        ["lab.yml line 1: lab: the file holds a list; expected a mapping with keys name, network, boxes, nodes"],
    ),
    "missing-keys": (
        "name: demo\n",
        [
            "lab.yml line 1: lab: missing key 'network'; expected the lab's host-only network; the host holds its first address, e.g. {cidr: 192.168.56.0/24}",
            "lab.yml line 1: lab: missing key 'boxes'; expected the box each provider boots: a name 'owner/name', e.g. {virtualbox: ubuntu/xenial64, lxc: labgen/debian-12}",
            "lab.yml line 1: lab: missing key 'nodes'; expected the machines, each with a unique name and address",
        ],
    ),
    "unknown-top-key": (
        BASE + "mesage: hi\n",
        [
            "lab.yml line 6: lab: unknown key 'mesage' (did you mean 'message'?); expected one of "
            "name, description, network, boxes, defaults, params, synced_folder, nodes, message, mirrors, instance"
        ],
    ),
    "unknown-node-key": (
        BASE + "  - {name: n2, ip: 192.168.56.12, roles: [base], memroy: 512}\n",
        [
            "lab.yml line 6: node n2: unknown key 'memroy' (did you mean 'memory'?); expected "
            "one of name, ip, memory, cpus, roles"
        ],
    ),
    "unknown-network-key": (
        BASE.replace("{cidr: 192.168.56.0/24}", "{cidr: 192.168.56.0/24, cdir: x}"),
        ["lab.yml line 2: network: unknown key 'cdir' (did you mean 'cidr'?); expected one of cidr"],
    ),
    "unknown-default-key": (
        BASE + "defaults: {ram: 512}\n",
        ["lab.yml line 6: defaults: unknown key 'ram'; expected one of memory, cpus"],
    ),
    "unknown-param": (
        BASE + "params: {docker_verison: '18.06.0'}\n",
        [
            "lab.yml line 6: params: unknown key 'docker_verison' (did you mean "
            "'docker_version'?); expected one of docker_version, calico_pool"
        ],
    ),
    "unknown-provider-box": (
        BASE.replace("{lxc: labgen/debian-12}", "{lxc: labgen/debian-12, vmware: a/b}"),
        ["lab.yml line 3: boxes: unknown key 'vmware'; expected one of virtualbox, libvirt, lxc"],
    ),
    "missing-node-keys": (
        BASE + "  - {name: n2}\n",
        [
            "lab.yml line 6: node n2: missing key 'ip'; expected an address from 192.168.56.2 to 192.168.56.254",
            "lab.yml line 6: node n2: missing key 'roles'; expected the roles labgen provisions on the node, in this order, e.g. [base, docker]",
        ],
    ),
    "lab-name-uppercase": (
        BASE.replace("name: demo", "name: Demo"),
        [
            "lab.yml line 1: lab: name 'Demo' contains the uppercase letter 'D'; expected an RFC 1123 label: lowercase letters, digits and hyphens, at most 63 characters, not starting or ending with a hyphen, e.g. mesos-calico"
        ],
    ),
    "lab-name-too-long": (
        BASE.replace("name: demo", "name: " + "a" * 64),
        [
            "lab.yml line 1: lab: name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is 64 characters long; expected an RFC 1123 label: lowercase letters, digits and hyphens, at most 63 characters, not starting or ending with a hyphen, e.g. mesos-calico"
        ],
    ),
    "node-name-underscore-and-hyphen": (
        BASE + "  - {name: n_2, ip: 192.168.56.12, roles: [base]}\n  - {name: -n3, ip: 192.168.56.13, roles: [base]}\n",
        [
            "lab.yml line 6: node #2: name 'n_2' contains the character '_'; expected an RFC 1123 label: lowercase letters, digits and hyphens, at most 63 characters, not starting or ending with a hyphen, e.g. ubuntu-1",
            "lab.yml line 7: node #3: name '-n3' starts or ends with a hyphen; expected an RFC 1123 label: lowercase letters, digits and hyphens, at most 63 characters, not starting or ending with a hyphen, e.g. ubuntu-1",
        ],
    ),
    "name-not-a-string": (
        BASE.replace("name: demo", "name: false"),
        [
            "lab.yml line 1: lab: name is false (a boolean); expected an RFC 1123 label: lowercase letters, digits and hyphens, at most 63 characters, not starting or ending with a hyphen, e.g. mesos-calico"
        ],
    ),
    "duplicate-node-name": (
        BASE + "  - {name: n1, ip: 192.168.56.12, roles: [base]}\n",
        ["lab.yml line 6: node n1: the name is already used by the node at line 5; expected a unique name per node"],
    ),
    "duplicate-ip": (
        BASE + "  - {name: n2, ip: 192.168.56.11, roles: [base]}\n",
        [
            "lab.yml line 6: node n2: ip 192.168.56.11 is already used by node n1 (line 5); "
            "expected a unique address per node"
        ],
    ),
    "ip-not-ipv4": (
        BASE.replace("192.168.56.11", "192.168.56.300"),
        [
            "lab.yml line 5: node n1: ip '192.168.56.300' is not a valid IPv4 address; expected an address from 192.168.56.2 to 192.168.56.254"
        ],
    ),
    "ip-ipv6": (
        BASE.replace("192.168.56.11", "'fe80::1'"),
        [
            "lab.yml line 5: node n1: ip 'fe80::1' is not a valid IPv4 address; expected an address from 192.168.56.2 to 192.168.56.254"
        ],
    ),
    "ip-integer": (
        BASE.replace("192.168.56.11", "3232249867"),
        [
            "lab.yml line 5: node n1: ip is 3232249867 (a number); expected an address from 192.168.56.2 to 192.168.56.254"
        ],
    ),
    "ip-outside": (
        BASE.replace("192.168.56.11", "192.168.57.4"),
        [
            "lab.yml line 5: node n1: ip 192.168.57.4 is outside network 192.168.56.0/24; "
            "expected an address from 192.168.56.2 to 192.168.56.254"
        ],
    ),
    "ip-network-address": (
        BASE.replace("192.168.56.11", "192.168.56.0"),
        [
            "lab.yml line 5: node n1: ip 192.168.56.0 is the network address of 192.168.56.0/24; "
            "expected an address from 192.168.56.2 to 192.168.56.254"
        ],
    ),
    "ip-broadcast": (
        BASE.replace("192.168.56.11", "192.168.56.255"),
        [
            "lab.yml line 5: node n1: ip 192.168.56.255 is the broadcast address of "
            "192.168.56.0/24; expected an address from 192.168.56.2 to 192.168.56.254"
        ],
    ),
    "ip-host": (
        BASE.replace("192.168.56.11", "192.168.56.1"),
        [
            "lab.yml line 5: node n1: ip 192.168.56.1 is the host's own address on "
            "192.168.56.0/24; expected an address from 192.168.56.2 to 192.168.56.254"
        ],
    ),
    "cidr-host-bits": (
        BASE.replace("192.168.56.0/24", "192.168.56.1/24"),
        [
            "lab.yml line 2: network: cidr 192.168.56.1/24 has host bits set; expected the "
            "network address, i.e. 192.168.56.0/24"
        ],
    ),
    "cidr-garbage": (
        BASE.replace("192.168.56.0/24", "192.168.56.0/33"),
        [
            "lab.yml line 2: network: cidr '192.168.56.0/33' is not a valid IPv4 network; expected an IPv4 network in CIDR notation, e.g. 192.168.56.0/24"
        ],
    ),
    "cidr-no-prefix": (
        BASE.replace("192.168.56.0/24", "192.168.56.0"),
        [
            "lab.yml line 2: network: cidr '192.168.56.0' is not a valid IPv4 network; expected an IPv4 network in CIDR notation, e.g. 192.168.56.0/24"
        ],
    ),
    "cidr-prefix-too-short": (
        BASE.replace("192.168.56.0/24", "10.0.0.0/8").replace("192.168.56.11", "10.0.0.11"),
        ["lab.yml line 2: network: cidr 10.0.0.0/8 has prefix /8; expected a prefix from /16 to /29"],
    ),
    "cidr-prefix-too-long": (
        BASE.replace("192.168.56.0/24", "192.168.56.0/30"),
        ["lab.yml line 2: network: cidr 192.168.56.0/30 has prefix /30; expected a prefix from /16 to /29"],
    ),
    "cidr-public": (
        BASE.replace("192.168.56.0/24", "8.8.8.0/24"),
        [
            "lab.yml line 2: network: cidr 8.8.8.0/24 is not a private network range; expected a "
            "private IPv4 network (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) such as "
            "192.168.56.0/24"
        ],
    ),
    "network-not-a-mapping": (
        BASE.replace("{cidr: 192.168.56.0/24}", "192.168.56.0/24"),
        [
            "lab.yml line 2: network: network is '192.168.56.0/24' (a string); expected the lab's host-only network; the host holds its first address, e.g. {cidr: 192.168.56.0/24}"
        ],
    ),
    "memory-bool": (
        BASE.replace("roles: [base]", "roles: [base], memory: true"),
        ["lab.yml line 5: node n1: memory is true (a boolean); expected an integer from 64 to 65536 (memory in MiB)"],
    ),
    "memory-string": (
        BASE.replace("roles: [base]", "roles: [base], memory: 2G"),
        ["lab.yml line 5: node n1: memory is '2G' (a string); expected an integer from 64 to 65536 (memory in MiB)"],
    ),
    "memory-too-small": (
        BASE.replace("roles: [base]", "roles: [base], memory: 0"),
        ["lab.yml line 5: node n1: memory 0 is too small; expected an integer from 64 to 65536 (memory in MiB)"],
    ),
    "cpus-too-many": (
        BASE.replace("roles: [base]", "roles: [base], cpus: 65"),
        ["lab.yml line 5: node n1: cpus 65 is too large; expected an integer from 1 to 64 (number of CPUs)"],
    ),
    "defaults-negative": (
        BASE + "defaults: {memory: -1024, cpus: 1.5}\n",
        [
            "lab.yml line 6: defaults: memory -1024 is too small; expected an integer from 64 to 65536 (memory in MiB)",
            "lab.yml line 6: defaults: cpus is 1.5 (a number); expected an integer from 1 to 64 (number of CPUs)",
        ],
    ),
    "unknown-role": (
        BASE.replace("roles: [base]", "roles: [base, mesos-slav, kubernetes]"),
        [
            "lab.yml line 5: node n1: unknown role 'mesos-slav' (did you mean 'mesos-slave'?); "
            "expected one of base, etcd, zookeeper, docker, calico, calico-network, mesos-master, "
            "mesos-slave, marathon, marathon-app",
            "lab.yml line 5: node n1: unknown role 'kubernetes'; expected one of base, etcd, "
            "zookeeper, docker, calico, calico-network, mesos-master, mesos-slave, marathon, "
            "marathon-app",
        ],
    ),
    "duplicate-role": (
        BASE + "  - name: n2\n    ip: 192.168.56.12\n    roles:\n      - base\n      - docker\n      - base\n",
        ["lab.yml line 11: node n2: role 'base' is listed twice; expected each role once"],
    ),
    "roles-not-a-list": (
        BASE.replace("roles: [base]", "roles: base"),
        [
            "lab.yml line 5: node n1: roles is 'base' (a string); expected the roles labgen provisions on the node, in this order, e.g. [base, docker]"
        ],
    ),
    "box-not-owner-name": (
        BASE.replace("{lxc: labgen/debian-12}", "{lxc: debian-12, libvirt: 'a/b c'}"),
        [
            "lab.yml line 3: boxes: lxc box 'debian-12' is not a valid box name; expected a box name 'owner/name' of at most 128 characters, e.g. ubuntu/xenial64",
            "lab.yml line 3: boxes: libvirt box 'a/b c' is not a valid box name; expected a box name 'owner/name' of at most 128 characters, e.g. ubuntu/xenial64",
        ],
    ),
    "boxes-empty": (
        BASE.replace("{lxc: labgen/debian-12}", "{}"),
        ["lab.yml line 3: boxes: boxes is an empty mapping; expected at least one of virtualbox, libvirt, lxc"],
    ),
    "description-not-text": (
        BASE + "description: [a, b]\n",
        [
            "lab.yml line 6: lab: description is a list; expected plain text of at most 2000 characters (newlines allowed, no other control characters)"
        ],
    ),
    "description-control-char": (
        BASE + 'description: "red \\e[31m alert"\n',
        [
            "lab.yml line 6: lab: description contains the control character U+001B at character "
            "5; expected plain text of at most 2000 characters (newlines allowed, no other control "
            "characters)"
        ],
    ),
    "message-too-long": (
        BASE + "message: " + "x" * 2001 + "\n",
        [
            "lab.yml line 6: lab: message is 2001 characters long; expected plain text of at most 2000 characters (newlines allowed, no other control characters)"
        ],
    ),
    "synced-folder-not-bool": (
        BASE + "synced_folder: 'yes'\n",
        ["lab.yml line 6: lab: synced_folder is 'yes' (a string); expected true or false"],
    ),
    "docker-version-float": (
        BASE + "params: {docker_version: 18.03}\n",
        [
            "lab.yml line 6: params: docker_version is 18.03 (a number); expected a quoted version string: the Docker version the docker role installs, e.g. 18.03.1"
        ],
    ),
    "docker-version-bad": (
        BASE + "params: {docker_version: '18.03.1-ce'}\n",
        [
            "lab.yml line 6: params: docker_version '18.03.1-ce' is not a valid version number; expected a quoted version string: the Docker version the docker role installs, e.g. 18.03.1"
        ],
    ),
    "calico-pool-overlaps": (
        BASE + "params: {calico_pool: 192.168.0.0/16}\n",
        [
            "lab.yml line 6: params: calico_pool 192.168.0.0/16 overlaps the lab network "
            "192.168.56.0/24: workload routes would shadow the host-only network; expected a pool "
            "outside 192.168.56.0/24, e.g. 172.32.0.0/16"
        ],
    ),
    "calico-pool-inside-the-network": (  # a narrower pool inside the network overlaps too
        BASE + "params: {calico_pool: 192.168.56.64/26}\n",
        [
            "lab.yml line 6: params: calico_pool 192.168.56.64/26 overlaps the lab network "
            "192.168.56.0/24: workload routes would shadow the host-only network; expected a pool "
            "outside 192.168.56.0/24, e.g. 172.32.0.0/16"
        ],
    ),
    "calico-pool-is-the-network": (
        BASE + "params: {calico_pool: 192.168.56.0/24}\n",
        [
            "lab.yml line 6: params: calico_pool 192.168.56.0/24 overlaps the lab network "
            "192.168.56.0/24: workload routes would shadow the host-only network; expected a pool "
            "outside 192.168.56.0/24, e.g. 172.32.0.0/16"
        ],
    ),
    "calico-pool-invalid": (
        BASE + "params: {calico_pool: 172.32.0.0/33}\n",
        [
            "lab.yml line 6: params: calico_pool '172.32.0.0/33' is not a valid IPv4 network; expected an IPv4 network in CIDR notation, e.g. 172.32.0.0/16"
        ],
    ),
    "calico-pool-too-small": (
        BASE + "params: {calico_pool: 172.32.0.0/28}\n",
        [
            "lab.yml line 6: params: calico_pool 172.32.0.0/28 is smaller than a /26; expected a "
            "pool of /26 or larger: Calico hands out addresses in /26 blocks"
        ],
    ),
    "calico-pool-link-local": (
        BASE + "params: {calico_pool: 169.254.0.0/16}\n",
        [
            "lab.yml line 6: params: calico_pool 169.254.0.0/16 is a special-purpose range; "
            "expected an ordinary unicast range such as 172.32.0.0/16"
        ],
    ),
    "no-nodes": (
        BASE.split("nodes:")[0] + "nodes: []\n",
        [
            "lab.yml line 4: nodes: nodes is an empty list; expected at least one node: the machines, each with a unique name and address"
        ],
    ),
    "node-not-a-mapping": (
        BASE + "  - n2\n",
        [
            "lab.yml line 6: node #2: the node is 'n2' (a string); expected a machine: its name, address and roles, e.g. {name: ubuntu-1, ip: 192.168.56.101, roles: [base, docker]}"
        ],
    ),
}


# Found by mutation testing (tests/README.md): each rule's branches and bounds.
NET, BOX = "network: {cidr: 192.168.56.0/24}", "boxes: {lxc: labgen/debian-12}"
CASES.update(
    {
        "boxes-not-a-mapping": (
            BASE.replace(BOX, "boxes: [labgen/debian-12]"),
            [
                "lab.yml line 3: boxes: boxes is a list; expected the box each provider boots: a name 'owner/name', e.g. {virtualbox: ubuntu/xenial64, lxc: labgen/debian-12}"
            ],
        ),
        "box-name-invalid": (
            BASE.replace(BOX, "boxes: {lxc: 'a b/c'}"),
            [
                "lab.yml line 3: boxes: lxc box 'a b/c' is not a valid box name; expected a box name 'owner/name' of at most 128 characters, e.g. ubuntu/xenial64"
            ],
        ),
        "box-name-not-a-string": (
            BASE.replace(BOX, "boxes: {lxc: 12}"),
            [
                "lab.yml line 3: boxes: lxc box is 12 (a number); expected a box name 'owner/name' of at most 128 characters, e.g. ubuntu/xenial64"
            ],
        ),
        "box-name-129-characters": (
            BASE.replace(BOX, "boxes: {lxc: " + "a" * 64 + "/" + "b" * 64 + "}"),
            [
                "lab.yml line 3: boxes: lxc box is 129 characters long; expected a box name 'owner/name' of at most 128 characters, e.g. ubuntu/xenial64"
            ],
        ),
        "box-name-128-characters-is-fine": (BASE.replace(BOX, "boxes: {lxc: " + "a" * 64 + "/" + "b" * 63 + "}"), []),
        "defaults-not-a-mapping": (
            BASE + "defaults: 5\n",
            [
                "lab.yml line 6: defaults: defaults is 5 (a number); expected memory and CPUs of every node that does not give its own, e.g. {memory: 1024, cpus: 1}"
            ],
        ),
        "defaults-memory-63": (
            BASE + "defaults: {memory: 63}\n",
            ["lab.yml line 6: defaults: memory 63 is too small; expected an integer from 64 to 65536 (memory in MiB)"],
        ),
        "defaults-memory-65537": (
            BASE + "defaults: {memory: 65537}\n",
            [
                "lab.yml line 6: defaults: memory 65537 is too large; expected an integer from 64 to 65536 (memory in MiB)"
            ],
        ),
        "defaults-cpus-0": (
            BASE + "defaults: {cpus: 0}\n",
            ["lab.yml line 6: defaults: cpus 0 is too small; expected an integer from 1 to 64 (number of CPUs)"],
        ),
        "defaults-cpus-65": (
            BASE + "defaults: {cpus: 65}\n",
            ["lab.yml line 6: defaults: cpus 65 is too large; expected an integer from 1 to 64 (number of CPUs)"],
        ),
        "defaults-at-the-bounds-are-fine": (BASE + "defaults: {memory: 64, cpus: 64}\n", []),
        "defaults-upper-bounds-are-fine": (BASE + "defaults: {memory: 65536, cpus: 1}\n", []),
        "defaults-memory-string": (
            BASE + "defaults: {memory: '1024'}\n",
            [
                "lab.yml line 6: defaults: memory is '1024' (a string); expected an integer from 64 to 65536 (memory in MiB)"
            ],
        ),
        "defaults-unknown-key": (
            BASE + "defaults: {memroy: 1024}\n",
            ["lab.yml line 6: defaults: unknown key 'memroy' (did you mean 'memory'?); expected one of memory, cpus"],
        ),
        "network-without-cidr": (
            BASE.replace(NET, "network: {}"),
            [
                "lab.yml line 2: network: missing key 'cidr'; expected a private IPv4 network from /16 to /29 (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16), without host bits, e.g. 192.168.56.0/24"
            ],
        ),
        "network-cidr-number": (
            BASE.replace(NET, "network: {cidr: 5}"),
            [
                "lab.yml line 2: network: cidr is 5 (a number); expected an IPv4 network in CIDR notation, e.g. 192.168.56.0/24"
            ],
        ),
        "network-prefix-15": (
            BASE.replace(NET, "network: {cidr: 10.0.0.0/15}"),
            ["lab.yml line 2: network: cidr 10.0.0.0/15 has prefix /15; expected a prefix from /16 to /29"],
        ),
        "network-garbage": (
            BASE.replace(NET, "network: {cidr: '192.168.56/24x'}"),
            [
                "lab.yml line 2: network: cidr '192.168.56/24x' is not a valid IPv4 network; expected an IPv4 network in CIDR notation, e.g. 192.168.56.0/24"
            ],
        ),
        "network-loopback": (
            BASE.replace(NET, "network: {cidr: 127.0.0.0/24}"),
            [
                "lab.yml line 2: network: cidr 127.0.0.0/24 is not a private network range; expected a private IPv4 network (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) such as 192.168.56.0/24"
            ],
        ),
        "network-link-local": (
            BASE.replace(NET, "network: {cidr: 169.254.1.0/24}"),
            [
                "lab.yml line 2: network: cidr 169.254.1.0/24 is not a private network range; expected a private IPv4 network (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) such as 192.168.56.0/24"
            ],
        ),
        "params-not-a-mapping": (
            BASE + "params: [1]\n",
            [
                "lab.yml line 6: params: params is a list; expected lab parameters, each a string, e.g. {docker_version: 18.03.1}"
            ],
        ),
        "params-unknown-key": (
            BASE + "params: {calico: 1}\n",
            [
                "lab.yml line 6: params: unknown key 'calico' (did you mean 'calico_pool'?); expected one of docker_version, calico_pool"
            ],
        ),
        "pool-loopback": (
            BASE + "params: {calico_pool: 127.0.0.0/16}\n",
            [
                "lab.yml line 6: params: calico_pool 127.0.0.0/16 is a special-purpose range; expected an ordinary unicast range such as 172.32.0.0/16"
            ],
        ),
        "pool-multicast": (
            BASE + "params: {calico_pool: 224.0.0.0/16}\n",
            [
                "lab.yml line 6: params: calico_pool 224.0.0.0/16 is a special-purpose range; expected an ordinary unicast range such as 172.32.0.0/16"
            ],
        ),
        "pool-zero-network": (
            BASE + "params: {calico_pool: 0.0.0.0/16}\n",
            [
                "lab.yml line 6: params: calico_pool 0.0.0.0/16 is a special-purpose range; expected an ordinary unicast range such as 172.32.0.0/16"
            ],
        ),
        "pool-reserved": (
            BASE + "params: {calico_pool: 240.0.0.0/16}\n",
            [
                "lab.yml line 6: params: calico_pool 240.0.0.0/16 is a special-purpose range; expected an ordinary unicast range such as 172.32.0.0/16"
            ],
        ),
        "pool-not-a-string": (
            BASE + "params: {calico_pool: 5}\n",
            [
                "lab.yml line 6: params: calico_pool is 5 (a number); expected an IPv4 network in CIDR notation, e.g. 172.32.0.0/16"
            ],
        ),
        "pool-27": (
            BASE + "params: {calico_pool: 172.32.0.0/27}\n",
            [
                "lab.yml line 6: params: calico_pool 172.32.0.0/27 is smaller than a /26; expected a pool of /26 or larger: Calico hands out addresses in /26 blocks"
            ],
        ),
        "pool-26-is-fine": (BASE + "params: {calico_pool: 172.32.0.0/26}\n", []),
        # issue 14: this was a NameError traceback (`_kind`), not a message
        "mirrors-a-list": (
            BASE + "mirrors: [a, b]\n",
            [
                "lab.yml line 6: mirrors: mirrors is a list; expected where to download artifacts from instead: an artifact name mapped to a URL, or a base URL ending in / mapped to another, e.g. {calicoctl: http://mirror.example/calicoctl, https://download.docker.com/: http://mirror.example/docker/}"
            ],
        ),
    }
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_reports_the_exact_message(case):
    text, expected = CASES[case]
    assert problems(text) == expected


def test_every_problem_is_reported_at_once_in_line_order():
    text = """\
    name: Bad_Name
    network: {cidr: 192.168.56.0/24}
    boxes: {lxc: labgen/debian-12, vmware: x/y}
    params: {calico_pool: 192.168.0.0/16}
    nodes:
      - name: n1
        ip: 192.168.57.4
        memory: 16
        roles: [base, dockr]
      - {name: n1, ip: 192.168.56.12, roles: [base]}
    """
    found = problems(text)
    assert [p.split(":")[0] for p in found] == [
        "lab.yml line 1",
        "lab.yml line 3",
        "lab.yml line 4",
        "lab.yml line 7",
        "lab.yml line 8",
        "lab.yml line 9",
        "lab.yml line 10",
    ]
    assert "ip 192.168.57.4 is outside network 192.168.56.0/24" in found[3]
    assert "unknown role 'dockr' (did you mean 'docker'?)" in found[5]
    assert "the name is already used by the node at line 6" in found[6]


def test_each_problem_is_one_line():
    for text, _ in CASES.values():
        for problem in problems(text):
            assert "\n" not in problem


# ---------------------------------------------------------------- hostile lab files
#
# tests/data/labs/hostile/*.yml each put injection payloads (quotes, #{...}, backticks, $(...),
# newlines, `; rm -rf`, Unicode look-alikes and direction overrides) into string fields.
# Identifier fields must reject them, with the exact text pinned in the .errors file beside
# (escaped: no raw control character reaches the terminal). Free-text fields (description,
# message) are accepted; test_render.py proves they never reach the Vagrantfile.
# Regenerate the .errors files with LABGEN_REGEN_GOLDEN=1.

HOSTILE = sorted((DATA / "hostile").glob("*.yml"))


def test_there_are_hostile_files():
    assert len(HOSTILE) >= 8


@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.stem)
def test_hostile_lab_file(path, monkeypatch):
    monkeypatch.chdir(path.parent)  # messages then name the file as the user typed it
    expected_file = path.with_suffix(".errors")
    try:
        load_lab(Path(path.name))
        found = ["OK"]
    except InputError as exc:
        found = exc.problems
    for line in found:
        assert line.isprintable(), f"unescaped character in {line!r}"
    assert_golden("\n".join(found) + "\n", expected_file)
    if path.stem.startswith("accepted-"):
        assert found == ["OK"]
    else:
        assert found != ["OK"]


def test_values_at_the_bounds_are_taken():
    lab = lab_of(BASE + "defaults: {memory: 64, cpus: 64}\nparams: {calico_pool: 172.32.0.0/26}\n")
    assert (lab.nodes[0].memory, lab.nodes[0].cpus) == (64, 64)
    assert lab.params["calico_pool"] == "172.32.0.0/26"
    lab = lab_of(
        BASE.replace("boxes: {lxc: labgen/debian-12}", "boxes: {lxc: " + "a" * 64 + "/" + "b" * 63 + "}")
        + "defaults: {memory: 65536}\n"
    )
    assert lab.boxes == {"lxc": "a" * 64 + "/" + "b" * 63} and lab.nodes[0].memory == 65536


def test_label_rules_at_their_edges():
    from labgen.labfile import _label_problem

    assert _label_problem("a" * 63) is None
    assert _label_problem("a" * 64) == "is 64 characters long"
    assert _label_problem("A" * 63) == "contains the uppercase letter 'A'"  # 63 is not too long
    assert _label_problem("a\x7fb") == "contains the character '\\x7f'"  # DEL is ASCII
    assert _label_problem("a\x80b") == "contains the non-ASCII character U+0080"
    assert _label_problem("") == "is empty"
    assert _label_problem("-ab") == "starts or ends with a hyphen"
    text = BASE + "description: %s\n"
    assert problems(text % ("x" * 2000)) == []
    assert [p.split(";")[0] for p in problems(text % ("x" * 2001))] == [
        "lab.yml line 6: lab: description is 2001 characters long"
    ]
    assert problems(text % ('"a\\nb"')) == []  # a newline is text, a tab a mistake
    assert [p.split(";")[0] for p in problems(text % ('"a\\tb"'))] == [
        "lab.yml line 6: lab: description contains the control character U+0009 at character 2"
    ]


def test_invalid_lab_hints_at_the_builtin_and_unknown_name_at_labgen_list():
    with pytest.raises(InputError) as err:
        parse_lab(yamlsrc.load_text("name: x\n", "lab.yml"), "lab.yml")
    assert err.value.hint == "see labgen/labs/mesos-calico.yml for a complete, valid lab file"
    with pytest.raises(InputError) as err:
        find_lab("nothing-like-it")
    assert err.value.hint == "`labgen list` shows the built-in labs with their descriptions"
    assert err.value.problems[0].endswith(
        "expected a path to a lab file or one of the built-in labs: " + ", ".join(name for name, _ in builtin_labs())
    )


def test_a_key_that_is_not_a_string_is_unknown_without_a_guess():
    (problem,) = problems(BASE + "1: x\n")
    assert problem.startswith("lab.yml line 6: lab: unknown key 1; expected one of name, description, ")
    assert "did you mean" not in problem


def test_the_lab_keeps_synced_folder():
    assert lab_of(BASE + "synced_folder: true\n").synced_folder is True


def _many_nodes(n: int) -> str:
    head = BASE.split("nodes:")[0]
    return (
        head
        + "nodes:\n"
        + "".join(f"  - {{name: n{i}, ip: 192.168.56.{10 + i}, roles: [base]}}\n" for i in range(1, n + 1))
    )


def test_the_node_list_its_bound_and_its_duplicates():
    head = BASE.split("nodes:")[0]
    assert problems(head + "nodes: {a: 1}\n") == [
        "lab.yml line 4: nodes: nodes is a mapping; expected the machines, each with a unique name and address"
    ]
    assert problems(_many_nodes(101)) == [
        "lab.yml line 4: nodes: nodes has 101 items; expected at most 100: the machines, each with a unique name "
        "and address"
    ]
    assert problems(_many_nodes(100)) == [] and len(lab_of(_many_nodes(100)).nodes) == 100
    assert problems(BASE + "  - {name: n2, ip: 192.168.56.11, roles: [base]}\n") == [
        "lab.yml line 6: node n2: ip 192.168.56.11 is already used by node n1 (line 5); "
        "expected a unique address per node"
    ]
    assert problems(BASE + "  - {name: n1, ip: 192.168.56.12, roles: [base]}\n") == [
        "lab.yml line 6: node n1: the name is already used by the node at line 5; expected a unique name per node"
    ]


def test_where_each_problem_stands_in_block_style_and_a_broken_node_skipped():
    # Each key on its own line: the messages point at the key, not at its mapping; a node
    # that is not a mapping is reported once and the nodes after it are still checked.
    text = """\
    name: demo
    network:
      cidr: 10.1.0.0/24
    params:
      docker_version: 18.06.0
      calico_pool: 10.1.0.0/16
    boxes: {lxc: labgen/debian-12}
    nodes:
      - just-a-name
      - roles: [base]
        name: n1
        ip: 10.1.0.11
      - roles: [base]
        name: n1
        ip: 10.1.0.11
    """
    assert [p.split("; expected")[0] for p in problems(text)] == [
        "lab.yml line 6: params: calico_pool 10.1.0.0/16 overlaps the lab network 10.1.0.0/24: workload routes "
        "would shadow the host-only network",
        "lab.yml line 9: node #1: the node is 'just-a-name' (a string)",
        "lab.yml line 14: node n1: the name is already used by the node at line 11",
        "lab.yml line 15: node n1: ip 10.1.0.11 is already used by node n1 (line 12)",
    ]
    # the key's own line, not its mapping's (an unknown key first)
    assert problems("network:\n  cdir: x\n  cidr: 10.0.0.0/30\n")[-1] == (
        "lab.yml line 3: network: cidr 10.0.0.0/30 has prefix /30; expected a prefix from /16 to /29"
    )
    assert problems("network:\n  cidr: 10.0.0.0/30\n")[-1] == (
        "lab.yml line 2: network: cidr 10.0.0.0/30 has prefix /30; expected a prefix from /16 to /29"
    )


def test_the_network_prefix_bounds_and_the_address_range_of_the_smallest():
    lab = BASE.replace("192.168.56.0/24", "192.168.0.0/24").replace("192.168.56.11", "192.168.0.2")
    assert problems(lab.replace("/24", "/16")) == [] and problems(lab.replace("/24", "/29")) == []
    assert problems(BASE.replace("192.168.56.0/24", "192.168.0.0/15")) == [
        "lab.yml line 2: network: cidr 192.168.0.0/15 has prefix /15; expected a prefix from /16 to /29"
    ]
    # a /30 is refused, but the address range it would have (one address) still guides the node
    assert problems(BASE.replace("/24", "/30").replace("ip: 192.168.56.11", "ip: bad"))[1] == (
        "lab.yml line 5: node n1: ip 'bad' is not a valid IPv4 address; "
        "expected an address from 192.168.56.2 to 192.168.56.2"
    )
    # an address the schema lets through but ipaddress refuses, on a network that was refused
    assert problems(BASE.replace("192.168.56", "8.8.8").replace("8.8.8.11", "8.8.8.300"))[1] == (
        "lab.yml line 5: node n1: ip '8.8.8.300' is not a valid IPv4 address; "
        "expected an IPv4 address on the lab network"
    )


def test_the_default_calico_pool_can_never_overlap_a_lab_network():
    # labfile checks overlaps only for a pool the file gives: the default stays outside the
    # private ranges, the only ones a lab network may use.
    import ipaddress

    from labgen.labfile import PARAM_DEFAULTS

    pool = ipaddress.IPv4Network(PARAM_DEFAULTS["calico_pool"])
    assert not pool.is_private
    assert not any(pool.overlaps(ipaddress.IPv4Network(n)) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def test_a_mirror_of_the_wrong_type_is_one_message_not_two():
    # the schema's message only: the rule about names and URLs reads well-formed entries
    assert problems(BASE + "mirrors: {calicocl: 5, https://x.example/: 7}\n") == [
        "lab.yml line 6: mirrors: calicocl is 5 (a number); expected an http, https or file URL",
        "lab.yml line 6: mirrors: https://x.example/ is 7 (a number); expected an http, https or file URL",
    ]
    from labgen.mirrors import RULE_HELP

    assert problems(BASE + "mirrors: {calicocl: http://m.example/c}\n") == [
        "lab.yml line 6: mirrors: 'calicocl' is neither a declared artifact nor a base URL (did you mean "
        f"'calicoctl'?); expected {RULE_HELP}"
    ]


def test_the_lab_keeps_its_description_and_instance():
    lab = lab_of(BASE + "description: A lab\ninstance: s01\n")
    assert (lab.description, lab.instance) == ("A lab", "s01")
    assert (lab_of(BASE).description, lab_of(BASE).instance) == ("", "")


def test_unknown_lab_names_every_builtin_or_none(tmp_path, monkeypatch):
    for name in ("one", "two"):
        (tmp_path / f"{name}.yml").write_text(BASE.replace("demo", name), encoding="utf-8")
    monkeypatch.setattr("labgen.labfile.builtin_labs_dir", lambda: tmp_path)
    with pytest.raises(InputError) as err:
        find_lab("three")
    assert err.value.problems == [
        "lab 'three' is neither a file nor a built-in lab; expected a path to a lab file or one of the built-in "
        "labs: one, two"
    ]
    monkeypatch.setattr("labgen.labfile.builtin_labs_dir", lambda: tmp_path / "none-here")
    with pytest.raises(InputError) as err:
        find_lab("three")
    assert err.value.problems[0].endswith("expected a path to a lab file or one of the built-in labs: none")
