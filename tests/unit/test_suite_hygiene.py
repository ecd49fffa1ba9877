"""Rules the integration tests keep so they can share a host with a user's labs and with
each other (issue 11): read their source, since they cannot all run everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
HOST_TESTS = sorted(p for d in ("integration", "browser") for p in (TESTS / d).glob("*.py"))
# Namespaces of its own (ip netns), never the host's bridge: 192.168.56.x there is private.
OWN_NAMESPACES = {"test_macbug_commands.py"}


@pytest.mark.parametrize("path", HOST_TESTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_host_tests_keep_off_the_demo_lab_and_tmp(path):
    text = path.read_text()
    if path.name not in OWN_NAMESPACES:
        # Lines that name the demo's network to stay off it (or rewrite it away) are fine.
        uses = [
            ln
            for ln in text.splitlines()
            if re.search(r"192\.168\.56\.(?!0/)", ln) and "demo" not in ln and '.replace("192.168.56."' not in ln
        ]
        assert uses == [], "use a test subnet of your own, not the demo's 192.168.56.0/24"
        assert not [ln for ln in text.splitlines() if "labgen-mesos-calico-" in ln and "demo" not in ln]
    assert not re.search(r"listdir\(\s*['\"]/tmp['\"]", text), "no scans of all of /tmp"
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"time\.sleep\(\s*([0-9.]+)\s*\)", line)
        polling = any(re.match(r"\s*(while|for) ", ln) for ln in lines[max(0, i - 8) : i])
        if m and not polling:  # a pause inside a bounded wait loop is fine; a bare one is not
            assert float(m.group(1)) <= 0.1, f"a fixed sleep: wait for a condition, with a bound: {line.strip()}"


# ---- one subnet table (tests/README.md, "Subnets"): every module against it

README = TESTS / "README.md"
ADDRESS = re.compile(r"192\.168\.(\d{1,3})\b")


def subnet_table() -> list[tuple[str, list, bool]]:
    """[(module pattern, [networks], boots)] in table order."""
    import ipaddress

    text = README.read_text()
    body = text[text.index("<!-- subnets:begin -->") : text.index("<!-- subnets:end -->")]
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("module", "---") or set(cells[0]) <= {"-"}:
            continue
        nets = [ipaddress.ip_network(m.group(0)) for m in re.finditer(r"192\.168\.\d+\.\d+/\d+", cells[1])]
        rows.append((cells[0], nets, cells[2] == "yes"))
    return rows


def row_for(rel: str, rows):
    import fnmatch

    return next((r for r in rows if r[0] == rel or fnmatch.fnmatch(rel, r[0])), None)


def addresses_used(path: Path) -> set:
    """The /24s a module names (its source, and the lab files under data/labs/ it reads unless
    it passes --pool, which then decides the seats' subnets). Lines that name the demo's
    network to stay off it, or rewrite it away, do not count."""
    import ipaddress

    texts = [path.read_text()]
    if "--pool" not in texts[0]:
        texts += [
            (TESTS / "data" / "labs" / name).read_text()
            for name in set(re.findall(r'"([\w-]+\.yml)"', texts[0]))
            if (TESTS / "data" / "labs" / name).is_file()
        ]
    used = set()
    for text in texts:
        for line in text.splitlines():
            if "demo" in line or re.search(r'\.replace\(\s*"192\.168\.56\.', line):
                continue
            for m in ADDRESS.finditer(line):
                used.add(ipaddress.ip_network(f"192.168.{m.group(1)}.0/24"))
    return used


@pytest.mark.parametrize("path", HOST_TESTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_module_keeps_to_its_subnets_in_the_table(path):
    rel = f"{path.parent.name}/{path.name}"
    used = addresses_used(path)
    if not used:
        return
    row = row_for(rel, subnet_table())
    assert row is not None, f"{rel} uses {sorted(map(str, used))}: give it a row in tests/README.md's subnet table"
    outside = [str(n) for n in used if not any(n.overlaps(own) for own in row[1])]
    assert outside == [], f"{rel} uses {outside}, outside its row {[str(n) for n in row[1]]} (tests/README.md)"


def test_modules_that_boot_labs_have_subnets_no_other_has():
    booting = [(name, nets) for name, nets, boots in subnet_table() if boots]
    assert len(booting) >= 15  # the table was read (19 rows when written)
    clashes = [
        (a, b)
        for i, (a, na) in enumerate(booting)
        for b, nb in booting[i + 1 :]
        if any(x.overlaps(y) for x in na for y in nb)
    ]
    assert clashes == []
    demo = __import__("ipaddress").ip_network("192.168.56.0/24")
    assert not [name for name, nets in booting if any(n.overlaps(demo) for n in nets)]
