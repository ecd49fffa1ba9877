#!/usr/bin/env bash
# Time a FRESH `make demo` (issue 15: ≤ 2 minutes, no kernel package): a new Debian 12 system
# container (privileged LXC, nesting allowed, booting systemd) gets a clone of this repo and runs
# `make demo` as root, as a user would on a fresh laptop; then a table of its phases and a check
# that no kernel, initramfs, QEMU, libvirt or Chromium package got installed.
#
#   sudo flock /tmp/labgen-measure.lock bench/fresh_demo.sh [--repo DIR] [--rebuild-rootfs] [--keep]
#
# --repo DIR        the checkout to clone (default: this one; its HEAD commit, not uncommitted edits)
# --rebuild-rootfs  make the Debian 12 rootfs tarball anew (else the cached one is reused)
# --keep            leave the container, bridge and NAT rules up after the run (to look inside);
#                   run the script again without it, or with --clean-only, to remove them
# --clean-only      remove what an earlier run left, and stop
# --prepare         only make the rootfs tarball (outside the measurement lock), and stop
#
# The fresh machine: mmdebstrap --variant=important (Debian's base system) plus systemd-sysv,
# python3, make, git and ca-certificates (what `git clone ... && make demo` needs first), from
# the Debian archive the host's apt uses. Not timed: building it (about a minute, cached in
# ${LABGEN_CACHE:-~/.cache/labgen}/bench/) and booting it. Timed: `make demo`, from the
# registries themselves (apt: the Debian archive; pip: PyPI), with empty caches.
# The container sits on a bridge of its own (fdbr0, 192.168.200.1/24, NAT to the host's route
# out), so that its own lxcbr0 (10.0.3.0/24) does not collide with the host's. It gets the
# host's extra CA certificates (this machine's way out re-signs TLS) and the DNS server the
# host uses, and nothing of the host's package caches.
# Writes: /var/tmp/fd-fresh-demo/ (the container, logs; removed at the end but the last run's
# log, kept in /var/tmp/fd-fresh-demo.log).
# shellcheck disable=SC2016,SC2317  # dpkg-query formats; cleanup runs from a trap
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NAME=fd-fresh-demo
ROOT=/var/tmp/fd-fresh-demo
LXCPATH="$ROOT/lxc"
BRIDGE=fdbr0
NET=192.168.200
NFT_TABLE=fd_fresh_demo
CACHE="${LABGEN_CACHE:-$HOME/.cache/labgen}/bench"
ROOTFS_TAR="$CACHE/fresh-debian-12.tar"
MIRROR="${LABGEN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
LOG=/var/tmp/fd-fresh-demo.log
REBUILD=0
KEEP=0
CLEAN_ONLY=0
PREPARE=0

log() { printf '[fresh-demo] %s\n' "$*" >&2; }
die() { printf '[fresh-demo] error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --repo) REPO="$(cd "$2" && pwd)"; shift ;;
        --rebuild-rootfs) REBUILD=1 ;;
        --keep) KEEP=1 ;;
        --clean-only) CLEAN_ONLY=1 ;;
        --prepare) PREPARE=1 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
done

[ "$(id -u)" -eq 0 ] || die "run as root (LXC, bridges and NAT need it)"
for tool in lxc-start lxc-attach mmdebstrap nft ip git tar; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install lxc mmdebstrap nftables iproute2 git)"
done

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$KEEP" = 1 ] && [ "$CLEAN_ONLY" = 0 ]; then
        log "--keep: left up: lxc-attach -P $LXCPATH -n $NAME; remove with $0 --clean-only"
        exit "$rc"
    fi
    if [ -d "$LXCPATH/$NAME" ]; then
        lxc-stop -P "$LXCPATH" -n "$NAME" -k >/dev/null 2>&1 || true
        # Nothing of the container may stay mounted under the tree that rm walks.
        local m
        for m in $(findmnt -rn -o TARGET | grep -F "$ROOT/" | sort -r); do umount -l "$m" || true; done
        rm -rf --one-file-system "$ROOT"
    fi
    nft delete table ip "$NFT_TABLE" 2>/dev/null || true
    ip link del "$BRIDGE" 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$CLEAN_ONLY" = 1 ]; then
    KEEP=0
    exit 0
fi
if [ -d "$LXCPATH/$NAME" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
    die "a previous run is still up ($LXCPATH/$NAME or $BRIDGE): $0 --clean-only"
fi

# --- the fresh rootfs (cached: the same Debian base every run) ---------------------------------
if [ "$REBUILD" = 1 ] || [ ! -s "$ROOTFS_TAR" ]; then
    mkdir -p "$CACHE"
    log "mmdebstrap a fresh Debian 12 from $MIRROR (not timed)"
    # mmdebstrap's own clean-up empties apt's lists and cache: the run starts with no index.
    mmdebstrap --variant=important --include=systemd-sysv,python3,make,git,ca-certificates \
        --format=tar bookworm "$ROOTFS_TAR.tmp" \
        "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main" >"$CACHE/mmdebstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
    mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
fi
[ "$PREPARE" = 0 ] || exit 0

mkdir -p "$LXCPATH/$NAME/rootfs"
RFS="$LXCPATH/$NAME/rootfs"
tar --xattrs --numeric-owner -xf "$ROOTFS_TAR" -C "$RFS"

# This machine's way to the registries: its DNS server, and the CA that re-signs TLS on the
# way out (a fresh machine of this kind has both; pip reads the system store only when told).
grep '^nameserver' /etc/resolv.conf >"$RFS/etc/resolv.conf"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$RFS/usr/local/share/ca-certificates/"
    chroot "$RFS" update-ca-certificates >/dev/null 2>&1
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$RFS/etc/pip.conf"
fi
# The same apt settings as the host's (a snapshot archive: its Release files are old).
cp /etc/apt/apt.conf.d/99artifact-registry "$RFS/etc/apt/apt.conf.d/" 2>/dev/null || true
printf '%s\n' "$NAME" >"$RFS/etc/hostname"
git clone -q --no-hardlinks "$REPO" "$RFS/root/labgen"
log "repo: $(git -C "$RFS/root/labgen" log --oneline -1)"

# --- network: a bridge of its own, NAT out ------------------------------------------------------
ip link add "$BRIDGE" type bridge
ip addr add "$NET.1/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
nft -f - <<EOF
table ip $NFT_TABLE {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr $NET.0/24 ip daddr != $NET.0/24 masquerade
    }
    chain forward {
        type filter hook forward priority filter; policy accept;
        iifname "$BRIDGE" accept
        oifname "$BRIDGE" accept
    }
}
EOF
sysctl -qw net.ipv4.ip_forward=1

cat >"$LXCPATH/$NAME/config" <<EOF
lxc.uts.name = $NAME
lxc.arch = linux64
lxc.rootfs.path = dir:$RFS
lxc.include = /usr/share/lxc/config/debian.common.conf
lxc.include = /usr/share/lxc/config/nesting.conf
# Hosts without AppArmor cannot load a profile; nested LXC needs what a laptop's root has.
lxc.apparmor.profile = unconfined
lxc.cgroup.devices.allow = a
# cgroup v1 here, with cpu and cpuacct apart: the container's systemd would mount them as one
# "cpu,cpuacct" and the nested lxc-start then fails ("Failed to open 7/cpuacct: Not a
# directory"); LXC mounts each hierarchy itself, writable for the nested containers.
lxc.mount.auto =
lxc.mount.auto = proc:rw sys:rw cgroup:rw:force
lxc.cap.drop =
lxc.net.0.type = veth
lxc.net.0.link = $BRIDGE
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.ipv4.address = $NET.2/24
lxc.net.0.ipv4.gateway = $NET.1
EOF

log "booting the fresh container"
lxc-start -P "$LXCPATH" -n "$NAME" --logfile "$ROOT/lxc-start.log"
inside() { lxc-attach -P "$LXCPATH" -n "$NAME" --clear-env \
    --set-var PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --set-var HOME=/root --set-var LANG=C.UTF-8 -- "$@"; }
for _ in $(seq 60); do
    state="$(inside systemctl is-system-running 2>/dev/null || true)"
    case "$state" in running|degraded) break ;; esac
    sleep 1
done
log "container: systemd $state"

# --- the timed run ------------------------------------------------------------------------------
log "make demo (log: $LOG)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
npkg_before="$(inside dpkg-query -W -f='${Status}\n' | grep -c 'install ok installed')"
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
set +e
inside bash -c 'cd /root/labgen && make demo' 2>&1 | while IFS= read -r line; do
    t=$(($(ms) - t0))
    printf '%5d.%d %s\n' $((t / 1000)) $((t % 1000 / 100)) "$line"
done >"$LOG"
rc=${PIPESTATUS[0]}
set -e
t=$(($(ms) - t0))
total="$((t / 1000)).$((t % 1000 / 100))"

# Phases, from the lines make and the recipes print as each starts and ends (the venv and the
# box may run at once: each row has its own start and end).
first() { grep -m1 -E "$1" "$LOG" | awk '{print $1}'; }
p_venv=$(first ' python3 -m venv ')
e_venv=$(first ' touch .*installed-demo')
p_box=$(first ' box build lxc|boxes/lxc/build.sh')
e_box=$(first '\[box lxc\] .*installed')
p_run=$(first ' scenario run mac-bug')
e_apt=$(printf '%s\n' "$p_venv" "$p_box" | grep . | sort -n | head -n1)
# make demo installs what the venv and the box's debootstrap need first, the rest beside them
p_apt2=$(grep -E '^ *[0-9.]+ installing: ' "$LOG" | sed -n 2p | awk '{print $1}')
e_apt2=$(grep -E '^ *[0-9.]+ (Setting up|Processing triggers for) ' "$LOG" | tail -n1 | awk '{print $1}')
printf '\nmake demo on a fresh Debian 12 (exit %s), %s\n' "$rc" "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf '| phase | from | to | takes |\n|---|---|---|---|\n'
row() {
    [ -n "$2" ] || return 0
    awk -v n="$1" -v a="$2" -v b="${3:-$total}" 'BEGIN{printf "| %s | %.0f s | %.0f s | %.0f s |\n", n, a, b, b - a}'
}
row "apt packages$([ -z "$p_apt2" ] || echo ', first')" 0 "$e_apt"
[ -z "$p_apt2" ] || row "apt packages, the rest" "$p_apt2" "$e_apt2"
row "venv + pip" "$p_venv" "$e_venv"
row "box build" "$p_box" "$e_box"
row "scenario run" "$p_run" "$total"
awk -v t="$total" 'BEGIN{printf "| total | 0 s | %.0f s | %.0f s |\n", t, t}'
printf 'host load average: %s before, %s after\n' "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
npkg_after="$(inside dpkg-query -W -f='${Status}\n' | grep -c 'install ok installed')"
printf 'packages: %s before, %s after (+%s)\n' "$npkg_before" "$npkg_after" $((npkg_after - npkg_before))
bad="$(inside dpkg-query -W -f='${Package} ${Status}\n' \
    | awk '$NF=="installed"{print $1}' \
    | grep -E '^(linux-image|initramfs-tools|qemu|libvirt|chromium)' || true)"
if [ -n "$bad" ]; then
    printf 'UNWANTED packages installed: %s\n' "$(echo "$bad" | tr '\n' ' ')"
    [ "$rc" != 0 ] || rc=1
else
    printf 'no linux-image*, initramfs-tools, qemu*, libvirt*, chromium* installed\n'
fi
[ "$rc" = 0 ] || { log "make demo failed: last lines of $LOG:"; tail -n 25 "$LOG" >&2; }
exit "$rc"
