"""The seat image's own logic: what sealing removes, what the image key depends on, the clone's
config repair, and the boot-failure reason read from a console log."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from labgen.classroom import image
from labgen.labfile import find_lab, load_lab
from labgen.model import Facts
from labgen.providers import lxc

CLONES = Path(__file__).resolve().parent.parent / "data" / "labs" / "clones.yml"


def test_sealing_removes_every_identity_a_clone_must_not_inherit():
    lab = load_lab(CLONES)
    script = image.seal_script(lab, lab.nodes[0], Facts(distro="debian-12"))
    for line in (
        "systemctl stop etcd >/dev/null 2>&1 || true",
        "rm -rf /var/lib/etcd/labgen",
        "systemctl stop zookeeper >/dev/null 2>&1 || true",
        "rm -rf /var/lib/zookeeper/version-2",
        "systemctl stop docker >/dev/null 2>&1 || true",
        "rm -rf /etc/docker/key.json",
        "rm -rf /var/lib/docker",
        ": > /etc/machine-id",
        "rm -f /etc/ssh/ssh_host_*",
    ):
        assert line in script, line


def test_roles_that_do_not_run_leave_nothing_to_seal():
    lab = load_lab(find_lab("mesos-calico"))
    script = image.seal_script(lab, lab.nodes[0], Facts(distro="debian-12"))
    assert "mesos" not in script and "calico" not in script


def test_the_image_key_follows_the_lab_text_and_the_roles(monkeypatch):
    monkeypatch.setattr(image, "_box_identity", lambda box, provider: "box-1")
    text = CLONES.read_text()
    key = image.image_key(text, (), "labgen/debian-12", "lxc")
    assert image.image_key(text, (), "labgen/debian-12", "lxc") == key
    assert image.image_key(text + "# edited\n", (), "labgen/debian-12", "lxc") != key
    assert image.image_key(text, ("base",), "labgen/debian-12", "lxc") != key
    monkeypatch.setattr(image, "_box_identity", lambda box, provider: "box-2")
    assert image.image_key(text, (), "labgen/debian-12", "lxc") != key
    monkeypatch.setattr(image, "_box_identity", lambda box, provider: "box-1")
    # the same lab in another cache: other machine names (they are host-wide)
    monkeypatch.setenv("LABGEN_CACHE", "/var/tmp/another-labgen-cache")
    other = image.image_key(text, (), "labgen/debian-12", "lxc")
    assert other != key and image.image_for(text, (), "labgen/debian-12", "lxc").instance != f"img{key[:8]}"


def test_a_clones_config_loses_the_copied_vagrant_lines_only():
    source = (
        "lxc.net.0.type = veth\nlxc.uts.name = labgen-img-n1\n# VAGRANT-BEGIN\n"
        "lxc.net.1.type=veth\nlxc.net.1.ipv4.address=192.168.112.101/24\n# VAGRANT-END\n"
    )
    # lxc-copy writes the config back without comments and with its own spacing
    clone = (
        "lxc.net.0.type = veth\nlxc.net.1.type = veth\nlxc.net.1.ipv4.address = 192.168.112.101/24\n"
        "lxc.rootfs.path = overlay:/var/lib/lxc/labgen-img-n1/rootfs:/var/lib/lxc/c/overlay/delta\n"
        "lxc.uts.name = labgen-c-n1\n"
    )
    assert lxc.without_vagrant_block(clone, source) == (
        "lxc.net.0.type = veth\n"
        "lxc.rootfs.path = overlay:/var/lib/lxc/labgen-img-n1/rootfs:/var/lib/lxc/c/overlay/delta\n"
        "lxc.uts.name = labgen-c-n1\n"
    )


def test_the_boot_failure_reason_is_systemds_own_words(tmp_path, monkeypatch):
    monkeypatch.setattr(lxc, "LXC_PATH", tmp_path)
    (tmp_path / "c1").mkdir()
    (tmp_path / "c1" / "console.log").write_text(
        "systemd 252.19-1~deb12u1 running in system mode\n"
        "\x1b[0;1;31mFailed to create control group inotify object: Too many open files\x1b[0m\n"
        "\x1b[0;1;31mFailed to allocate manager object: Too many open files\x1b[0m\n"
        "[!!!!!!] Failed to allocate manager object.\nExiting PID 1...\n"
    )
    reason = lxc.console_reason("c1")
    assert reason.startswith("Failed to create control group inotify object: Too many open files")
    assert "\x1b" not in reason and reason.count(" | ") == 2
    assert "no console log" in lxc.console_reason("c2")


def test_sealed_units_stay_enabled_but_masked_and_a_clone_unmasks_them_in_one_call():
    lab = load_lab(CLONES)
    script = image.seal_script(lab, lab.nodes[0], Facts(distro="debian-12"))
    assert "disable" not in script
    for unit in ("etcd", "zookeeper", "docker.socket", "docker"):
        assert f"systemctl mask {unit} " in script, unit
    # one call (one reload of systemd), no `systemctl enable` (a reload per init script)
    script = image.unseal_script(lab, lab.nodes[0], Facts(distro="debian-12"))
    units = "etcd zookeeper docker.socket docker"
    assert script == f"if systemctl is-enabled {units} 2>/dev/null | grep -qx masked; then systemctl unmask {units}; fi"
    base = load_lab(find_lab("mesos-calico"))
    # a node whose roles sealed nothing (no role that keeps an identity runs there) needs no call
    assert image.unseal_script(base, replace(base.nodes[0], roles=("base",)), Facts(distro="debian-12")) is None
