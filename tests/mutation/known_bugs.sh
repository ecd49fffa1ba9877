#!/bin/bash
# Reintroduce each bug of issue 11 on this checkout, run the unit tests, restore.
cd "${1:-$(dirname "$0")/../..}"; bak=$(mktemp)
run() {  # file python-replace-old python-replace-new
  f=$1; cp "$f" "$bak"
  python3 - "$f" "$2" "$3" <<'PY'
import sys; p, old, new = sys.argv[1:]; s = open(p).read(); assert s.count(old) == 1, (p, old); open(p, "w").write(s.replace(old, new))
PY
  out=$(.venv/bin/python -m pytest -q -x -p no:randomly tests/unit 2>&1 | tail -3)
  cp "$bak" "$f"
  echo "== $f: $2 -> $3"; echo "$out" | grep -E "passed|failed|FAILED" | head -3
}
run labgen/labfile.py "pool.overlaps(network)" "network.subnet_of(pool)"
run labgen/provision/engine.py "                    abort.set()
" ""
run labgen/scenario/template.py "return shlex.quote(str(value))" "return shlex.quote(str(value)) if ' ' in str(value) else str(value)"
run labgen/artifacts.py "if remote.file_sha256(node, dest) == want:" "if remote.file_sha256(node, dest) is not None:"
run labgen/artifacts.py "    if got != want:
        raise LabgenError(f\"{node}: artifact" "    if False:
        raise LabgenError(f\"{node}: artifact"
rm -f "$bak"; git status --short labgen
