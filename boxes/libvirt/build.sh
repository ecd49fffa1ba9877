#!/usr/bin/env bash
# Build the vagrant-libvirt box labgen/debian-12 from the Debian archive and add it to Vagrant.
#
#   sudo boxes/libvirt/build.sh [--force]
#
# Needs root, mmdebstrap, extlinux (+ syslinux-common), qemu-utils, sfdisk (fdisk), e2fsprogs,
# losetup (mount), tar and vagrant with the vagrant-libvirt plugin.
# Writes: ${LABGEN_CACHE:-$HOME/.cache/labgen}/boxes/labgen-debian-12-libvirt-<recipe>.box
#         ${LABGEN_CACHE:-$HOME/.cache/labgen}/mmdebstrap/   (downloaded .debs, reused)
#         the Vagrant box labgen/debian-12 (provider libvirt)
# Skips: everything when the installed box was built from this same recipe (its hash is stored
# in the box's metadata.json); the build when the .box file for this recipe is already cached.
# Environment: LABGEN_CACHE, LABGEN_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              VAGRANT_HOME, TMPDIR.
set -euo pipefail

BOX_NAME="labgen/debian-12"
SUITE="bookworm"
MIRROR="${LABGEN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LABGEN_CACHE:-$HOME/.cache/labgen}"
VAGRANT_BOXES="${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes"
DISK_GIB=4                       # the guest's disk; the qcow2 holds only what is written

# A VM, not a container: a kernel (the cloud flavour: virtio drivers, no firmware), an
# initramfs, udev, DHCP on eth0 through ifupdown (Vagrant's Debian guest plugin writes eth1's
# static address into /etc/network/interfaces), and what the base role and Vagrant use (every
# package of base's `tools` task: a base-only VM provisions without apt, which under QEMU TCG
# is minutes).
PACKAGES="linux-image-cloud-amd64,initramfs-tools,systemd-sysv,udev,dbus,kmod,\
openssh-server,sudo,ifupdown,isc-dhcp-client,iproute2,iputils-ping,netbase,\
ca-certificates,procps,rsync,tcpdump,tmux,less"

FORCE=0

log() { printf '[box libvirt] %s\n' "$*" >&2; }
die() { printf '[box libvirt] error: %s\n' "$*" >&2; exit 1; }

parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --force) FORCE=1 ;;
            -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
            *) die "unknown argument $1 (expected --force)" ;;
        esac
        shift
    done
}

check_host() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (loop devices and mounts need it)"
    local tool
    for tool in mmdebstrap extlinux qemu-img sfdisk mkfs.ext4 losetup tar vagrant sha256sum; do
        command -v "$tool" >/dev/null \
            || die "$tool not found (apt-get install mmdebstrap extlinux qemu-utils fdisk vagrant)"
    done
    [ -f /usr/lib/EXTLINUX/mbr.bin ] || die "/usr/lib/EXTLINUX/mbr.bin missing (apt-get install extlinux)"
}

# The recipe's identity: this script. A change yields a new hash, a new .box and a re-add.
recipe_hash() {
    sha256sum <"$HERE/build.sh" | cut -c1-12
}

installed_hash() {
    local meta
    for meta in "$VAGRANT_BOXES"/labgen-VAGRANTSLASH-debian-12/*/libvirt/metadata.json; do
        [ -f "$meta" ] || continue
        sed -n 's/.*"labgen_recipe": *"\([0-9a-f]*\)".*/\1/p' "$meta"
        return 0
    done
}

WORK="" LOOP="" MNT=""
cleanup() {
    if [ -n "$MNT" ] && mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT" || true; fi
    if [ -n "$LOOP" ]; then losetup -d "$LOOP" 2>/dev/null || true; fi
    [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
    local m
    for m in $(findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r); do
        umount -l "$m" || true
    done
    rm -rf --one-file-system "$WORK"
}

bootstrap() {
    local rootfs="$1"
    mkdir -p "$CACHE/mmdebstrap"
    log "mmdebstrap $SUITE from $MIRROR (cache $CACHE/mmdebstrap)"
    # sync-in/sync-out keep the downloaded .debs between builds (mmdebstrap(1), "EXAMPLES").
    # Docs, man pages and translations are left out: the box stays small.
    mmdebstrap --variant=minbase --include="$PACKAGES" \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --skip=essential/unlink \
        --setup-hook="mkdir -p \"\$1/var/cache/apt/archives/\"" \
        --setup-hook="sync-in '$CACHE/mmdebstrap' /var/cache/apt/archives/" \
        --customize-hook="sync-out /var/cache/apt/archives '$CACHE/mmdebstrap'" \
        "$SUITE" "$rootfs" "$MIRROR" >"$WORK/mmdebstrap.log" 2>&1 \
        || { tail -n 20 "$WORK/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
    rm -f "$CACHE/mmdebstrap/lock"
    rm -rf "$CACHE/mmdebstrap/partial"
}

configure_system() {
    local rootfs="$1"
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
    rm -rf "$rootfs"/var/lib/apt/lists/*
    mkdir -p "$rootfs/var/lib/apt/lists/partial"
    printf 'LABEL=root / ext4 errors=remount-ro 0 1\n' >"$rootfs/etc/fstab"
    printf 'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n' \
        >"$rootfs/etc/network/interfaces"
    printf 'debian\n' >"$rootfs/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
        >"$rootfs/etc/hosts"
    # Each VM gets its own machine-id (hence its own DHCP DUID) at first boot.
    : >"$rootfs/etc/machine-id"
    rm -f "$rootfs/var/lib/dbus/machine-id"
    printf 'LANG=C.UTF-8\n' >"$rootfs/etc/default/locale"
    # Under QEMU TCG the daily apt jobs would eat the CPU and hold the dpkg lock provisioning needs.
    chroot "$rootfs" systemctl mask apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true
    rm -rf "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old "$rootfs"/tmp/*
}

configure_vagrant_user() {
    local rootfs="$1" pubkey
    pubkey="$(dpkg -L vagrant 2>/dev/null | grep 'keys/vagrant.pub$' | head -n1 || true)"
    [ -n "$pubkey" ] && [ -f "$pubkey" ] \
        || die "Vagrant's insecure public key not found (dpkg -L vagrant | grep keys/vagrant.pub)"
    chroot "$rootfs" useradd --create-home --shell /bin/bash --user-group vagrant
    echo 'vagrant:vagrant' | chroot "$rootfs" chpasswd
    install -d -m 0700 "$rootfs/home/vagrant/.ssh"
    install -m 0600 "$pubkey" "$rootfs/home/vagrant/.ssh/authorized_keys"
    chroot "$rootfs" chown -R vagrant:vagrant /home/vagrant/.ssh
    printf 'vagrant ALL=(ALL) NOPASSWD:ALL\nDefaults:vagrant !requiretty\n' \
        >"$rootfs/etc/sudoers.d/vagrant"
    chmod 0440 "$rootfs/etc/sudoers.d/vagrant"
}

configure_ssh() {
    local rootfs="$1"
    # Every VM must get its own host keys: drop the build's keys and make them at first boot.
    # ECDSA and Ed25519 only: an RSA host key costs ~0.4 s of CPU natively and seconds under
    # QEMU's TCG, on every first boot; every client here takes one of the other two.
    rm -f "$rootfs"/etc/ssh/ssh_host_*
    mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
    cat >"$rootfs/etc/systemd/system/ssh.service.d/labgen-hostkeys.conf" <<'EOF'
[Service]
# The empty line resets Debian's list so that the keys exist before `sshd -t` checks them.
ExecStartPre=
ExecStartPre=/bin/sh -c 'for t in ecdsa ed25519; do k=/etc/ssh/ssh_host_$${t}_key; [ -s $$k ] || ssh-keygen -q -t $$t -N "" -f $$k; done'
ExecStartPre=/usr/sbin/sshd -t
EOF
    printf 'UseDNS no\nHostKey /etc/ssh/ssh_host_ecdsa_key\nHostKey /etc/ssh/ssh_host_ed25519_key\n' \
        >"$rootfs/etc/ssh/sshd_config.d/labgen.conf"
}

# A raw disk with one partition from sector 2048, ext4 without the features extlinux 6.04
# cannot read, extlinux in /boot/extlinux and its MBR. `losetup -P` makes no partition devices
# on some hosts, so the partition is attached by offset.
make_disk() {
    local rootfs="$1" raw="$2" kernel initrd
    truncate -s "${DISK_GIB}G" "$raw"
    printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$raw" >/dev/null
    LOOP="$(losetup -f --show -o $((2048 * 512)) --sizelimit $((DISK_GIB * 1024 * 1024 * 1024 - 2048 * 512)) "$raw")"
    mkfs.ext4 -q -L root -O ^64bit,^metadata_csum,^orphan_file "$LOOP"
    MNT="$WORK/mnt"
    mkdir -p "$MNT"
    mount "$LOOP" "$MNT"
    tar --numeric-owner --xattrs --xattrs-include='*' -C "$rootfs" -cf - . \
        | tar --numeric-owner --xattrs --xattrs-include='*' -C "$MNT" -xf -
    kernel="$(cd "$MNT/boot" && ls vmlinuz-* | sort -V | tail -n1)"
    initrd="$(cd "$MNT/boot" && ls initrd.img-* | sort -V | tail -n1)"
    [ -n "$kernel" ] && [ -n "$initrd" ] || die "no kernel or initrd in the image's /boot"
    mkdir -p "$MNT/boot/extlinux"
    cat >"$MNT/boot/extlinux/extlinux.conf" <<EOF
DEFAULT debian
PROMPT 0
TIMEOUT 0
LABEL debian
  KERNEL /boot/$kernel
  INITRD /boot/$initrd
  APPEND root=LABEL=root ro console=ttyS0,115200n8 net.ifnames=0 quiet
EOF
    extlinux --install "$MNT/boot/extlinux" >/dev/null 2>&1 || die "extlinux --install failed"
    umount "$MNT"
    losetup -d "$LOOP"
    LOOP=""
    dd if=/usr/lib/EXTLINUX/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
}

package_box() {
    local raw="$1" out="$2" hash="$3"
    log "converting to a compressed qcow2"
    qemu-img convert -c -O qcow2 "$raw" "$WORK/box.img"
    printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d, "labgen_recipe": "%s"}\n' \
        "$DISK_GIB" "$hash" >"$WORK/metadata.json"
    cat >"$WORK/Vagrantfile" <<'EOF'
# labgen/debian-12 for vagrant-libvirt (built by labgen's boxes/libvirt/build.sh).
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
  end
end
EOF
    # box.img is compressed already: the outer tar is not.
    tar -cf "$out.part" -C "$WORK" metadata.json Vagrantfile box.img
    mv "$out.part" "$out"
}

add_box() {
    local file="$1"
    log "vagrant box add $BOX_NAME ($file)"
    vagrant box add --force --name "$BOX_NAME" --provider libvirt "$file" >"$CACHE/box-add-libvirt.log" 2>&1 \
        || { tail -n 20 "$CACHE/box-add-libvirt.log" >&2; die "vagrant box add failed (log above)"; }
}

main() {
    parse_args "$@"
    check_host
    local hash box
    hash="$(recipe_hash)"
    box="$CACHE/boxes/labgen-debian-12-libvirt-$hash.box"
    mkdir -p "$CACHE/boxes"
    if [ "$FORCE" -eq 0 ] && [ "$(installed_hash)" = "$hash" ]; then
        log "$BOX_NAME (recipe $hash) is already installed"
        return 0
    fi
    if [ "$FORCE" -eq 1 ] || [ ! -f "$box" ]; then
        WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/labgen-box.XXXXXX")"
        trap cleanup EXIT
        bootstrap "$WORK/rootfs"
        configure_system "$WORK/rootfs"
        configure_vagrant_user "$WORK/rootfs"
        configure_ssh "$WORK/rootfs"
        log "making the disk"
        make_disk "$WORK/rootfs" "$WORK/disk.raw"
        package_box "$WORK/disk.raw" "$box" "$hash"
        find "$CACHE/boxes" -maxdepth 1 -name 'labgen-debian-12-libvirt-*.box' ! -name "${box##*/}" -delete
        log "built $box ($(du -h "$box" | cut -f1))"
    fi
    add_box "$box"
    log "$BOX_NAME (recipe $hash) installed"
}

main "$@"
