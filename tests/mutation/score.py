"""Per-module mutation score from mutmut's results (mutants/**/*.meta), for tests/README.md.

    .venv/bin/python tests/mutation/score.py [--survivors]

killed: the unit tests failed on the mutant (exit 1) or timed out; survived: they passed (0);
not run: no result yet (or no unit test covers the function: mutmut exit 33 / None).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "mutants"
EQUIVALENT = Path(__file__).resolve().parent / "equivalent.txt"


def equivalent() -> set[str]:
    if not EQUIVALENT.exists():
        return set()
    return {line.split()[0] for line in EQUIVALENT.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def survivor_names(module: str) -> list[str]:
    """The surviving (or untested) mutants of `module` (labgen.render), to re-run after new tests:
    `mutmut run $(python tests/mutation/score.py --names labgen.render)`."""
    meta = ROOT / (module.replace(".", "/") + ".py.meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(k for k, c in codes.items() if c in (0, None, 33, 34) and k not in equivalent())


def main() -> None:
    if sys.argv[1:2] == ["--names"]:
        print("\n".join(survivor_names(sys.argv[2])))
        return
    show = "--survivors" in sys.argv
    if "--markdown" in sys.argv:
        print("| module | mutants | killed | survived | judged equivalent | no unit test reaches it "
              "| killed of non-equivalent |")
        print("|---|---:|---:|---:|---:|---:|---:|")
    eq = equivalent()
    if "--markdown" not in sys.argv:
        print(f"{'module':<28} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv.':>6} {'no test':>7} {'score':>6}")
    for meta in sorted(ROOT.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = str(meta.relative_to(ROOT))[:-5]
        killed = [k for k, c in codes.items() if c not in (0, None, 33, 34)]
        survived = [k for k, c in codes.items() if c == 0 and k not in eq]
        equiv = [k for k, c in codes.items() if c == 0 and k in eq]
        untested = [k for k, c in codes.items() if c in (None, 33, 34)]
        scored = len(killed) + len(survived) + len(untested)
        score = f"{100 * len(killed) / scored:.0f}%" if scored else "-"
        if "--markdown" in sys.argv:
            print(f"| {module} | {len(codes)} | {len(killed)} | {len(survived)} | {len(equiv)} | "
                  f"{len(untested)} | {score} |")
            continue
        print(f"{module:<28} {len(codes):>7} {len(killed):>6} {len(survived):>8} {len(equiv):>6} "
              f"{len(untested):>7} {score:>6}")
        if show:
            for k in sorted(survived + untested):
                print("   ", k, "(no test)" if k in untested else "")


if __name__ == "__main__":
    main()
