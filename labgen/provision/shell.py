"""Shell snippets and task shapes every role uses: bounded apt with retries and lock waits,
"wait until" loops, and the "enabled and running" service tasks. Roles import this module,
never each other (tests/unit/test_imports.py)."""

from __future__ import annotations

import shlex

from labgen.model import Task


def packages_installed_check(packages) -> str:
    # dpkg-query prints one status per package; any line that is not "install ok installed" fails.
    names = " ".join(shlex.quote(p) for p in packages)
    return (
        f"test \"$(dpkg-query -W -f='${{Status}}\\n' {names} 2>/dev/null "
        f"| grep -c '^install ok installed$')\" -eq {len(packages)}"
    )


def version_check(package: str, version: str) -> str:
    """Passes when `package` is installed at upstream `version` (any packaging suffix)."""
    return (
        f"dpkg-query -W -f='${{Version}}' {shlex.quote(package)} 2>/dev/null "
        f"| grep -q {shlex.quote('^' + version.replace('.', '[.]'))}"
    )


# Processes that hold dpkg's lock: another apt or dpkg, and unattended-upgrades (comm names,
# cut at 15 characters). Not apt.systemd.daily itself: on Ubuntu 16.04 it sleeps up to 30 min
# before it does anything, without the lock. One pgrep per name: procps-ng refuses a pattern
# longer than 15 characters ("will result in zero matches").
APT_BUSY = ("apt-get", "apt", "aptitude", "dpkg", "unattended-upgr")
LOCK_WAIT = 300  # seconds to wait for another apt to finish, per try
TRIES = 3


def dpkg_lock_wait(seconds: int = LOCK_WAIT) -> str:
    """Wait (at most `seconds`) while another apt, dpkg or unattended-upgrades runs.

    apt's own DPkg::Lock::Timeout needs apt >= 1.9.11; Ubuntu 16.04 has apt 1.2, where an
    apt-get that finds the lock taken fails at once. On a VM's first boot apt-daily and
    unattended-upgrades take it for minutes. Without pgrep the loop ends at once and the
    retries in apt_get() are what is left."""
    return (
        f"end=$(($(date +%s) + {int(seconds)})); "
        f"while {{ {' || '.join(f'pgrep -x {name}' for name in APT_BUSY)}; }} >/dev/null 2>&1 "
        f'&& [ "$(date +%s)" -lt "$end" ]; '
        "do sleep 3; done"
    )


def apt_get(args: str, seconds: int = 900) -> str:
    """One apt-get, bounded (a wedged download fails the task instead of hanging it) and tried
    TRIES times, each after waiting for the dpkg lock: an install loses the race for the lock
    to apt-daily as easily as an update does, and apt 1.2 does not wait for it."""
    return (
        f"for try in {' '.join(str(i) for i in range(1, TRIES + 1))}; do "
        f"{dpkg_lock_wait()}; "
        f"DEBIAN_FRONTEND=noninteractive timeout {int(seconds)} apt-get -q {args} && break; "
        f'if [ "$try" = {TRIES} ]; then exit 1; fi; '
        f'echo "apt-get failed (try $try of {TRIES}); trying again in 5 s" >&2; sleep 5; done'
    )


def apt_update() -> str:
    """`apt-get update`, bounded and retried (see apt_get): once seen here, an update through
    the proxy stalled for good with its connection half-closed; a second try goes through."""
    return apt_get("update", 180)


def apt_install(packages) -> str:
    names = " ".join(shlex.quote(p) for p in packages)
    return f"{apt_update()} && {apt_get(f'install -y --no-install-recommends {names}')}"


def wait_until(check: str, seconds: int, what: str, diagnose: str | None = None, stable: int = 1) -> str:
    """A shell loop re-running `check` until it passes `stable` times in a row (2 s apart),
    for at most `seconds`: a cluster only becomes healthy once every member is up, while the
    nodes are provisioned in parallel, and a member that just joined may still drop out.

    On time-out it prints `what` to stderr, then `diagnose`'s output, and exits 1."""
    return wait_steady(check, seconds, what, steady=2.0 * (int(stable) - 1), every=2.0, diagnose=diagnose)


def settles(check: str, seconds: int = 30, stable: int = 1) -> str:
    """A check for a cluster's health that tolerates a passing blip: passes as soon as `check`
    does `stable` times in a row (at once on a healthy cluster with stable=1), fails only if it
    does not within `seconds`. Under load a member may briefly fall back to an election right
    after it joined; a one-shot check then fails a cluster that is fine a second later."""
    return wait_until(check, seconds, "not settled", stable=stable)


def wait_steady(
    check: str, seconds: int, what: str, steady: float, every: float = 0.5, diagnose: str | None = None
) -> str:
    """The one waiting loop of the roles: asks `check` every `every` s until it has passed at
    every ask for at least `steady` s (its first and last passing asks that far apart, none
    failing between; steady=0: the first pass), for at most `seconds`. A failed ask starts the
    count again. On time-out it prints `what` to stderr, then `diagnose`'s output, and exits 1.

    Counted by time, not by rounds: `stable` answers 2 s apart (wait_until) is steady=2*(stable-1)
    with every=2; ZooKeeper's check asks every 0.5 s for 2 s, so a blip between two rounds is
    seen, and a cluster that formed just after a round does not wait 2 s for the next one."""
    tail = f"; {{ {diagnose}; }} >&2" if diagnose else ""
    return (
        f"end=$(($(date +%s) + {int(seconds)})); since=; "
        "while :; do now=$(date +%s%3N); "
        f"if ({check}) >/dev/null 2>&1; then since=${{since:-$now}}; "
        f"[ $((now - since)) -ge {round(steady * 1000)} ] && break; else since=; fi; "
        f'if [ "$(date +%s)" -ge "$end" ]; then '
        f"echo {shlex.quote(f'{what}: not reached after {int(seconds)} s')} >&2{tail}; exit 1; fi; "
        f"sleep {every:g}; done"
    )


def enabled_and_running(service: str, name: str | None = None) -> Task:
    """The service starts at boot and runs now."""
    s = shlex.quote(service)
    return Task(
        name or f"{service} running",
        check=f"systemctl is-enabled --quiet {s} && systemctl is-active --quiet {s}",
        run=(f"systemctl enable {s}", f"systemctl start {s}"),
    )


def disabled_and_stopped(service: str) -> Task:
    """The service neither starts at boot nor runs (a package enabled it; this node does not
    want it)."""
    s = shlex.quote(service)
    return Task(
        f"{service} disabled here",
        check=f"! systemctl is-enabled --quiet {s} && ! systemctl is-active --quiet {s}",
        run=(f"systemctl disable {s}", f"systemctl stop {s}"),
    )
