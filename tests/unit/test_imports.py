"""The import graph of the labgen package has no cycle, and roles import helpers, not roles.

Built with `ast` from the sources (module-level and function-level imports alike), so a lazy
import inside a function that loops back is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "labgen"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The labgen modules `name` imports anywhere in its source. `from P import x` counts as
    importing P.x when that is a module, else P. Parent packages imported implicitly on the way
    to a submodule are not counted (Python has them half-initialised by then)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    out.add(sub)
                elif base in known:
                    out.add(base)
    out.discard(name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (iterative-enough DFS; the graph is small)."""
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if colour.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if colour.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = 2
        return None

    for start in sorted(edges):
        if colour.get(start) is None:
            found = visit(start)
            if found:
                return found
    return None


def test_the_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_lazy_imports():
    edges = graph()
    # scenario run imports the engine inside the command function
    assert "labgen.provision.engine" in edges["labgen.cli.scenario"]
    assert "labgen.provision.pins" in edges["labgen.artifacts"]


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_roles_import_helpers_never_roles():
    edges = graph()
    roles = [m for m in edges if m.startswith("labgen.provision.roles.")]
    assert len(roles) >= 10
    bad = {r: sorted(m for m in edges[r] if m.startswith("labgen.provision.roles")) for r in roles}
    assert not {r: m for r, m in bad.items() if m}, f"roles importing roles: {bad}"


def test_nothing_below_the_cli_imports_it():
    edges = graph()
    bad = {
        m: sorted(d for d in deps if d.startswith("labgen.cli"))
        for m, deps in edges.items()
        if not m.startswith("labgen.cli") and m != "labgen.__main__"
    }
    assert not {m: d for m, d in bad.items() if d}, bad


def test_no_import_error_is_swallowed():
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                assert not names & {"ImportError", "ModuleNotFoundError"}, f"{name}:{node.lineno}"


def test_importing_the_core_prints_nothing_on_a_host_without_vagrant(tmp_path):
    """python-vagrant prints a warning when imported where no `vagrant` is on PATH: the core
    imports it only when a Vagrant environment is used (labgen/vagrant.py), so a command that
    refuses bad input says only its own error."""
    import subprocess
    import sys

    code = (
        "import labgen.lifecycle, labgen.classroom.ops, labgen.classroom.image, labgen.doctor, labgen.web.served_seats"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": str(tmp_path), "PYTHONPATH": str(PACKAGE.parent)},
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""
