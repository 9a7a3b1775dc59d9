#!/bin/sh
# The deadlock example: both tasks shown, each waiting on its channel receive.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
start deadlock "$top_builddir/examples/deadlock"
attach --no-source "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -q '^task [0-9]* "alice" idle' || fail "no alice: $OUT"
printf '%s\n' "$OUT" | grep -q '^task [0-9]* "bob" idle' || fail "no bob: $OUT"
attach --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
tasks = json.load(sys.stdin)["tasks"]
assert sorted(t["name"] for t in tasks) == ["alice", "bob"], tasks
for t in tasks:
    assert len(t["stacks"]) == 1, t
    fns = [f["function"] for f in t["stacks"][0]]
    assert fns[0] == t["name"] + "_poll", fns
    assert "recv" in fns[-1], fns
' || fail "deadlock stacks"
exit 0
