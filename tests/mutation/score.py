"""Per-module mutation score from mutmut's results (mutants/**/*.meta), for tests/README.md.

    .venv/bin/python tests/mutation/score.py [--survivors] [--markdown] [--root DIR]
    .venv/bin/python tests/mutation/score.py --names labgen.render

mutmut 3.8.1 records the test run's exit code per mutant. Only a real kill counts as killed:
pytest failed on the mutant (1, or 3: an internal error) or ran out of time (36 and the SIGXCPU
codes; README: timeouts count as killed, shown in their own column). Everything else is
reported by name and counts against the score: survived (0), no tests (5, 33: no unit test
reaches it), not checked (no result yet), skipped (34), interrupted (2), suspicious (35 and
any unknown code), crashed (a signal: -11, -9 ...), caught by type check (37).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "mutants"
EQUIVALENT = Path(__file__).resolve().parent / "equivalent.txt"

KILLED = {1, 3}
TIMEOUT = {36, 24, -24, 152, 255}
NAMED = {
    0: "survived",
    5: "no tests",
    33: "no tests",
    None: "not checked",
    34: "skipped",
    2: "interrupted",
    35: "suspicious",
    37: "caught by type check",
}


def status(code) -> str:
    if code in KILLED:
        return "killed"
    if code in TIMEOUT:
        return "timeout"
    if code in NAMED:
        return NAMED[code]
    return "crashed" if isinstance(code, int) and code < 0 else "suspicious"


def equivalent() -> set[str]:
    if not EQUIVALENT.exists():
        return set()
    return {
        line.split()[0] for line in EQUIVALENT.read_text().splitlines() if line.strip() and not line.startswith("#")
    }


def survivor_names(module: str, root: Path = ROOT) -> list[str]:
    """The mutants of `module` (labgen.render) that were not killed (nor judged equivalent), to
    re-run after new tests: `mutmut run $(python tests/mutation/score.py --names labgen.render)`."""
    meta = root / (module.replace(".", "/") + ".py.meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(k for k, c in codes.items() if status(c) not in ("killed", "timeout") and k not in equivalent())


def module_row(codes: dict, eq: set[str]) -> dict:
    """Counts for one module: mutants, killed (timeouts included), timeouts, equivalent, and
    every other status by name; score = killed / (mutants - equivalent)."""
    statuses = {k: status(c) for k, c in codes.items()}
    equiv = {k for k, s in statuses.items() if s == "survived" and k in eq}
    others = Counter(s for k, s in statuses.items() if s not in ("killed", "timeout") and k not in equiv)
    killed = sum(1 for s in statuses.values() if s in ("killed", "timeout"))
    timeouts = sum(1 for s in statuses.values() if s == "timeout")
    scored = len(codes) - len(equiv)
    return {
        "mutants": len(codes),
        "killed": killed,
        "timeouts": timeouts,
        "equivalent": len(equiv),
        "others": others,
        "score": f"{100 * killed / scored:.0f}%" if scored else "-",
        "not_killed": sorted(k for k, s in statuses.items() if s not in ("killed", "timeout") and k not in equiv),
        "statuses": statuses,
    }


def _others_text(others: Counter) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(others.items())) or "-"


def main(argv: list[str]) -> None:
    root = ROOT
    if "--root" in argv:
        root = Path(argv[argv.index("--root") + 1])
    if "--names" in argv:
        print("\n".join(survivor_names(argv[argv.index("--names") + 1], root)))
        return
    markdown, show = "--markdown" in argv, "--survivors" in argv
    if markdown:
        print(
            "| module | mutants | killed (of them timeouts) | judged equivalent | not killed "
            "| killed of non-equivalent |"
        )
        print("|---|---:|---:|---:|---|---:|")
    else:
        print(f"{'module':<28} {'mutants':>7} {'killed':>6} {'timeout':>7} {'equiv.':>6} {'score':>6}  not killed")
    eq = equivalent()
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = str(meta.relative_to(root))[:-5]
        row = module_row(codes, eq)
        if markdown:
            print(
                f"| {module} | {row['mutants']} | {row['killed']} ({row['timeouts']}) | {row['equivalent']} | "
                f"{_others_text(row['others'])} | {row['score']} |"
            )
            continue
        print(
            f"{module:<28} {row['mutants']:>7} {row['killed']:>6} {row['timeouts']:>7} {row['equivalent']:>6} "
            f"{row['score']:>6}  {_others_text(row['others'])}"
        )
        if show:
            for k in row["not_killed"]:
                print("   ", k, f"({row['statuses'][k]})")


if __name__ == "__main__":
    main(sys.argv[1:])
