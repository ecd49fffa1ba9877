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
        uses = [ln for ln in text.splitlines() if re.search(r"192\.168\.56\.(?!0/)", ln) and "demo" not in ln
                and ".replace(\"192.168.56.\"" not in ln]
        assert uses == [], "use a test subnet of your own, not the demo's 192.168.56.0/24"
        assert not [ln for ln in text.splitlines() if "labgen-mesos-calico-" in ln and "demo" not in ln]
    assert not re.search(r"listdir\(\s*['\"]/tmp['\"]", text), "no scans of all of /tmp"
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"time\.sleep\(\s*([0-9.]+)\s*\)", line)
        polling = any(re.match(r"\s*(while|for) ", ln) for ln in lines[max(0, i - 8):i])
        if m and not polling:          # a pause inside a bounded wait loop is fine; a bare one is not
            assert float(m.group(1)) <= 0.1, f"a fixed sleep: wait for a condition, with a bound: {line.strip()}"
