#!/usr/bin/env bash
# Build the vagrant-lxc box labgen/debian-12 from the Debian archive and add it to Vagrant.
#
#   sudo boxes/lxc/build.sh [--force] [--roles]
#
# --roles: the box labgen/debian-12-roles instead, with the Debian packages of the roles etcd,
#          ZooKeeper and Docker installed (not started): a lab or a classroom's seat image that
#          names it provisions those roles without apt (issue 17's "roles available on the box").
#
# Needs root, debootstrap, tar, gzip and vagrant with the vagrant-lxc plugin.
# Writes: ${LABGEN_CACHE:-$HOME/.cache/labgen}/boxes/labgen-debian-12[-roles]-lxc-<recipe>.box
#         ${LABGEN_CACHE:-$HOME/.cache/labgen}/debootstrap/   (downloaded .debs, reused)
#         the Vagrant box labgen/debian-12 or labgen/debian-12-roles (provider lxc)
# Skips: everything when the installed box was built from this same recipe (its hash is stored
# in the box's metadata.json); the build when the .box file for this recipe is already cached.
# Environment: LABGEN_CACHE, LABGEN_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              VAGRANT_HOME, TMPDIR; LABGEN_BOX_WAIT_VAGRANT=SECONDS: vagrant may still be
#              being installed (make demo runs this beside apt): debootstrap first, then wait
#              up to that long for it.
set -euo pipefail

BOX_NAME="labgen/debian-12"
SUITE="bookworm"
MIRROR="${LABGEN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LABGEN_CACHE:-$HOME/.cache/labgen}"
VAGRANT_BOXES="${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes"

# systemd-sysv: init; libnss-myhostname: the node resolves its own name (no sudo warning) even
# though the box has no /etc/hostname; dbus: hostnamectl and friends work as on a VM.
# iproute2 ... tmux: every package of the base role's `tools` task, so a node whose roles are
# only base provisions without apt (its first `apt-get update` is a small lab's costliest step).
PACKAGES="systemd-sysv,libnss-myhostname,dbus,openssh-server,sudo,iproute2,iputils-ping,\
tcpdump,procps,tmux,ca-certificates,netbase,less"

# What the roles install on Debian 12 (labgen/provision/pins.py ETCD_PACKAGES, roles/zookeeper.py
# PACKAGES, roles/docker.py), with the same apt flags (shell.apt_install).
ROLE_PACKAGES="etcd-server etcd-client zookeeperd netcat-openbsd docker.io"

FORCE=0
ROLES=0

log() { printf '[box lxc] %s\n' "$*" >&2; }
die() { printf '[box lxc] error: %s\n' "$*" >&2; exit 1; }

parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --force) FORCE=1 ;;
            --roles) ROLES=1; BOX_NAME="labgen/debian-12-roles" ;;
            -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
            *) die "unknown argument $1 (expected --force or --roles)" ;;
        esac
        shift
    done
}

check_host() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and device nodes need it)"
    local tool
    for tool in debootstrap tar gzip sha256sum; do
        command -v "$tool" >/dev/null || die "$tool not found (apt-get install debootstrap vagrant)"
    done
    [ -n "${LABGEN_BOX_WAIT_VAGRANT:-}" ] || need_vagrant
}

# vagrant gives the box its user's public key and adds the box. `make demo` installs it with
# apt while debootstrap runs (each about half a minute to a minute on a fresh machine).
need_vagrant() {
    local waited=0
    until command -v vagrant >/dev/null \
        && dpkg-query -W -f='${Status}' vagrant 2>/dev/null | grep -q '^install ok installed$'; do
        [ "$waited" -lt "${LABGEN_BOX_WAIT_VAGRANT:-0}" ] || die "vagrant not found (apt-get install vagrant)"
        [ "$waited" -gt 0 ] || log "waiting for vagrant to be installed"
        sleep 1
        waited=$((waited + 1))
    done
}

# The recipe's identity: this script plus the files it copies into the box. A change to any
# of them yields a new hash, hence a new cached .box and a re-add.
recipe_hash() {
    { (cd "$HERE" && cat build.sh lxc-config); echo "roles=$ROLES"; } | sha256sum | cut -c1-12
}

box_slug() {  # labgen/debian-12-roles -> labgen-debian-12-roles
    printf '%s' "${BOX_NAME//\//-}"
}

installed_hash() {
    # Vagrant unpacks a box added from a file to boxes/<name with / as -VAGRANTSLASH->/0/lxc/.
    local meta
    for meta in "$VAGRANT_BOXES"/"${BOX_NAME//\//-VAGRANTSLASH-}"/*/lxc/metadata.json; do
        [ -f "$meta" ] || continue
        sed -n 's/.*"labgen_recipe": *"\([0-9a-f]*\)".*/\1/p' "$meta"
        return 0
    done
}

WORK=""
cleanup() {
    [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
    # debootstrap mounts /proc and /sys in the target; a failed run can leave them mounted,
    # and rm -rf through a mounted /sys is the last thing anyone wants.
    local m
    for m in $(findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r); do
        umount -l "$m" || true
    done
    rm -rf --one-file-system "$WORK"
}

bootstrap() {
    local rootfs="$1"
    mkdir -p "$CACHE/debootstrap"
    log "debootstrap $SUITE from $MIRROR (cache $CACHE/debootstrap)"
    debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debootstrap" \
        "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
}

install_role_packages() {
    local rootfs="$1"
    log "installing the roles' packages into the box: $ROLE_PACKAGES"
    # installed, not started (there is no init in the chroot); the container's first boot starts them
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
    printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$rootfs/etc/apt/sources.list"
    mount -t proc proc "$rootfs/proc"  # Java's postinst (ca-certificates-java) needs it
    # shellcheck disable=SC2086  # a list of package names
    { chroot "$rootfs" apt-get update \
        && DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y --no-install-recommends $ROLE_PACKAGES; } \
        >"$WORK/roles.log" 2>&1 || { umount -l "$rootfs/proc"; tail -n 20 "$WORK/roles.log" >&2; die "installing the roles' packages failed (log above)"; }
    umount -l "$rootfs/proc"
    rm -f "$rootfs/usr/sbin/policy-rc.d"
}

configure_apt() {
    local rootfs="$1"
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
    # Roles run apt-get update before installing; stale lists would only mislead them.
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/*
    mkdir -p "$rootfs/var/lib/apt/lists/partial"
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
    # Every node must get its own host keys: drop the build's keys and make them at first boot.
    # ECDSA and Ed25519 only: an RSA host key costs ~0.4 s of CPU to make, on every node's
    # first boot (dozens at once in a classroom), and every client here (OpenSSH, Vagrant's
    # net-ssh, paramiko, asyncssh) takes one of the other two.
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

configure_network() {
    local rootfs="$1"
    # eth0 is vagrant-lxc's management NIC on lxcbr0 (DHCP from the host's dnsmasq); eth1, the
    # lab NIC, is configured by LXC itself (net.1.ipv4.address) and left alone here. The DHCP
    # client id is the MAC (labgen fixes it per container name), not the machine-id's DUID:
    # the lease labgen claims before a boot, or a destroyed node's, is then the node's own.
    cat >"$rootfs/etc/systemd/network/10-eth0.network" <<'EOF'
[Match]
Name=eth0

[Network]
DHCP=ipv4

[DHCPv4]
ClientIdentifier=mac
EOF
    chroot "$rootfs" systemctl enable systemd-networkd.service >/dev/null 2>&1
    # The dnsmasq that serves DHCP on lxcbr0 (10.0.3.1) is also a DNS forwarder.
    rm -f "$rootfs/etc/resolv.conf"
    printf 'nameserver 10.0.3.1\n' >"$rootfs/etc/resolv.conf"
}

configure_identity() {
    local rootfs="$1"
    # Neutral: without /etc/hostname systemd keeps the name LXC gives (lxc.uts.name).
    rm -f "$rootfs/etc/hostname"
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
    # An empty machine-id makes systemd generate a fresh one per container.
    : >"$rootfs/etc/machine-id"
    rm -f "$rootfs/var/lib/dbus/machine-id"
    printf 'LANG=C.UTF-8\n' >"$rootfs/etc/default/locale"
    # Units that only make sense on real hardware fail noisily in a container.
    chroot "$rootfs" systemctl mask systemd-remount-fs.service getty-static.service \
        serial-getty@.service systemd-journald-audit.socket >/dev/null 2>&1 || true
    rm -rf "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old "$rootfs"/tmp/*
}

package_box() {
    local out="$1" hash="$2"
    log "packing rootfs"
    printf '{"provider": "lxc", "version": "1.0.0", "labgen_recipe": "%s"}\n' "$hash" \
        >"$WORK/metadata.json"
    cp "$HERE/lxc-config" "$WORK/lxc-config"
    # ./rootfs (not rootfs): vagrant-lxc's template strips two components. --xattrs keeps the
    # file capability on ping; --numeric-owner keeps the container's uids. gzip -1: a third
    # of the default level's time for a box 9 % larger (4.5 s against 13 s here).
    tar --numeric-owner --xattrs --xattrs-include='*' -cf - -C "$WORK" ./rootfs \
        | gzip -1 >"$WORK/rootfs.tar.gz"
    # The outer tar is not compressed again: rootfs.tar.gz already is.
    tar -cf "$out.part" -C "$WORK" metadata.json lxc-config rootfs.tar.gz
    mv "$out.part" "$out"
}

add_box() {
    local file="$1"
    log "vagrant box add $BOX_NAME ($file)"
    vagrant box add --force --name "$BOX_NAME" --provider lxc "$file" >"$CACHE/box-add.log" 2>&1 \
        || { tail -n 20 "$CACHE/box-add.log" >&2; die "vagrant box add failed (log above)"; }
}

main() {
    parse_args "$@"
    check_host
    local hash box
    hash="$(recipe_hash)"
    box="$CACHE/boxes/$(box_slug)-lxc-$hash.box"
    mkdir -p "$CACHE/boxes"
    if [ "$FORCE" -eq 0 ] && [ "$(installed_hash)" = "$hash" ]; then
        log "$BOX_NAME (recipe $hash) is already installed"
        return 0
    fi
    if [ "$FORCE" -eq 1 ] || [ ! -f "$box" ]; then
        WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/labgen-box.XXXXXX")"
        trap cleanup EXIT
        bootstrap "$WORK/rootfs"
        [ "$ROLES" -eq 0 ] || install_role_packages "$WORK/rootfs"
        need_vagrant
        configure_apt "$WORK/rootfs"
        configure_vagrant_user "$WORK/rootfs"
        configure_ssh "$WORK/rootfs"
        configure_network "$WORK/rootfs"
        configure_identity "$WORK/rootfs"
        package_box "$box" "$hash"
        # Older recipes' boxes are dead weight (about 100 MB each).
        find "$CACHE/boxes" -maxdepth 1 -name "$(box_slug)-lxc-*.box" ! -name "${box##*/}" -delete
        log "built $box ($(du -h "$box" | cut -f1))"
    fi
    need_vagrant
    add_box "$box"
    log "$BOX_NAME (recipe $hash) installed"
}

main "$@"
