#!/bin/bash
# The five bugs of issue 11, each put back on this checkout in turn: the unit tests must fail on
# every one. A gate: exits 0 when all five are caught, 1 when one survived (the tests passed
# with it), 2 when one could not be put back (its code moved: update this script) or the tests
# could not run. The changed file is restored on any exit, Ctrl-C included.
#   tests/mutation/known_bugs.sh [CHECKOUT]      (make known-bugs)
# KNOWN_BUGS_TESTS replaces the test command (tests/unit/test_known_bugs_gate.py uses it).
set -u
cd "${1:-$(dirname "$0")/../..}" || exit 2
# (not test_known_bugs_gate.py: it copies these very files, and would "catch" every bug)
tests=${KNOWN_BUGS_TESTS:-.venv/bin/python -m pytest -q -x -p no:cacheprovider tests/unit --ignore=tests/unit/test_known_bugs_gate.py}
bak=$(mktemp)
current=
restore() { if [ -n "$current" ]; then cp "$bak" "$current"; current=; fi; }
trap 'restore; rm -f "$bak"' EXIT
trap 'echo "interrupted: restored"; exit 130' INT TERM HUP
survived=0

run() {  # file python-replace-old python-replace-new
  local f=$1 rc out
  cp "$f" "$bak" || exit 2
  current=$f
  if ! python3 - "$f" "$2" "$3" <<'PY'
import sys
p, old, new = sys.argv[1:]
s = open(p).read()
if s.count(old) != 1:
    sys.exit(f"{p}: the code to change is not there once ({s.count(old)} times): {old!r}")
open(p, "w").write(s.replace(old, new))
PY
  then
    echo "== $f: cannot put the bug back; update tests/mutation/known_bugs.sh"; exit 2
  fi
  out=$($tests 2>&1); rc=$?
  restore
  echo "== $f: $2 -> $3"
  case $rc in
    1) echo "   caught: $(echo "$out" | grep -E "^(FAILED|ERROR) " | head -1)" ;;
    0) echo "   SURVIVED: the unit tests passed with this bug"; survived=$((survived + 1)) ;;
    *) echo "$out" | tail -5; echo "   the tests did not run (exit $rc)"; exit 2 ;;
  esac
}

run labgen/labfile.py "pool.overlaps(network)" "network.subnet_of(pool)"
run labgen/provision/engine.py "                    abort.set()
" ""
run labgen/scenario/template.py "return shlex.quote(str(value))" "return shlex.quote(str(value)) if ' ' in str(value) else str(value)"
run labgen/artifacts.py "if remote.file_sha256(node, dest) == want:" "if remote.file_sha256(node, dest) is not None:"
run labgen/artifacts.py "    if got != want:
        raise LabgenError(f\"{node}: artifact" "    if False:
        raise LabgenError(f\"{node}: artifact"

if [ "$survived" -gt 0 ]; then echo "known bugs: $survived of 5 survived"; exit 1; fi
echo "known bugs: all 5 caught"
