"""Seat isolation with nftables: two tables of labgen's own per classroom, replaced whole and
deleted whole, so `down` leaves no rule behind and nothing else's rules are touched.

  table inet labgen-<classroom>    forward hook: nothing is routed into or out of a seat's
                                   bridge from anywhere else (another seat, another lab, the
                                   outside). Traffic inside a seat is bridged, not routed (with
                                   br_netfilter loaded it shows up here with in = out = the
                                   seat's bridge: allowed).
  table bridge labgen-<classroom>  forward hook on bridges: the seats. lxcbr0 ports (lgm...)
                                   exchange no frames with any other port of lxcbr0; their
                                   traffic to the host itself (DHCP, SSH from Vagrant, the apt
                                   proxy) is local delivery, not forwarding, and passes.

The host keeps reaching every node (management, the students' jump), and each seat keeps
its own network whole. Every command is an argument list; names come from labgen itself.
"""

from __future__ import annotations

import subprocess

from labgen.errors import LabgenError


def table_name(classroom: str) -> str:
    return f"labgen-{classroom}"


def ruleset(classroom: str, bridges: list[str], ports: list[str]) -> str:
    """The nft script that (re)creates the classroom's two tables atomically."""
    name = table_name(classroom)
    lines = []
    for family in ("inet", "bridge"):
        # Declare then delete: replaces an old version in the same transaction.
        lines += [f"table {family} {name}", f"delete table {family} {name}"]
    lines += [f"table inet {name} {{", "  chain forward {", "    type filter hook forward priority -5; policy accept;"]
    for br in bridges:
        lines.append(f'    oifname "{br}" iifname != "{br}" drop')
        lines.append(f'    iifname "{br}" oifname != "{br}" drop')
    lines += ["  }", "}"]
    lines += [
        f"table bridge {name} {{",
        "  chain forward {",
        "    type filter hook forward priority -5; policy accept;",
    ]
    if ports:
        elements = ", ".join(f'"{p}"' for p in ports)
        lines.append(f"    iifname {{ {elements} }} drop")
        lines.append(f"    oifname {{ {elements} }} drop")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _nft(args: list[str], script: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["nft", *args], input=script, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise LabgenError("nft is not installed: seats cannot be isolated", hint="apt-get install nftables") from None


def apply(classroom: str, bridges: list[str], ports: list[str]) -> None:
    """Install (or replace) the classroom's isolation tables. Raises LabgenError on failure."""
    res = _nft(["-f", "-"], ruleset(classroom, bridges, ports))
    if res.returncode != 0:
        raise LabgenError(f"nft could not install the isolation rules: {res.stderr.strip()}")


def remove(classroom: str) -> list[str]:
    """Delete the classroom's tables if present. Returns what it removed."""
    removed = []
    for family in ("inet", "bridge"):
        name = table_name(classroom)
        if _nft(["list", "table", family, name]).returncode == 0:
            res = _nft(["delete", "table", family, name])
            if res.returncode != 0:
                raise LabgenError(f"nft could not delete table {family} {name}: {res.stderr.strip()}")
            removed.append(f"nft table {family} {name}")
    return removed


def present(classroom: str) -> list[str]:
    """The classroom's tables that exist now."""
    return [f for f in ("inet", "bridge") if _nft(["list", "table", f, table_name(classroom)]).returncode == 0]
