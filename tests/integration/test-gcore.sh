#!/bin/sh
# --gcore (gdb's gcore) writes a core of a live process and leaves it
# running; that core of examples/stuck, read with --core, shows the tasks
# and, under each stuck task, the stack its thread had in the core; a
# --gcore that cannot write gives one line and exits 2.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
if ! command -v gdb >/dev/null 2>&1 || ! command -v gcore >/dev/null 2>&1; then
    echo "SKIP: gdb (gcore) is not installed: --gcore needs it" >&2
    exit 77
fi
# gdb writes every mapping of an AddressSanitizer process, its terabytes of
# shadow memory included: not in a test's time.
if grep -q __asan_init "$top_builddir/examples/stuck" 2>/dev/null; then
    echo "SKIP: examples/stuck is built with AddressSanitizer: gcore would write its terabytes of shadow memory" >&2
    exit 77
fi
start stuck "$top_builddir/examples/stuck"
attach --gcore "$TMP/stuck.core" --json "$PID"
expect_rc 1
[ -s "$TMP/stuck.core" ] || fail "--gcore wrote no core: $ERR"
printf '%s\n' "$ERR" | grep -q "wrote a core of PID $PID to $TMP/stuck.core" || fail "--gcore: $ERR"
kill -0 "$PID" || fail "the process did not survive --gcore"
attach --core "$TMP/stuck.core" --json
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/stuck.json"
"$PYTHON" - "$TMP/stuck.json" <<'EOF' || fail "stuck core JSON: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["crash"] is None, doc["crash"]
tasks = {t["name"]: t for t in doc["tasks"]}
assert {"reader", "spinner", "locker", "parked-1", "parked-2"} <= set(tasks), tasks.keys()
def fns(t):
    return [f["function"] or "" for f in t["thread_stack"]]
assert "read_frame_poll" in fns(tasks["reader"]), fns(tasks["reader"])
assert fns(tasks["spinner"])[-1] == "checksum_spin", fns(tasks["spinner"])
assert any("pthread_mutex_lock" in f for f in fns(tasks["locker"])), fns(tasks["locker"])
assert tasks["parked-1"]["state"] != "polling"
EOF
attach --core "$TMP/stuck.core"
expect_rc 0
printf '%s\n' "$OUT" | head -n 1 | grep -q '^core ' || fail "a gcore core names no crash: $OUT"
# A --gcore that cannot write: one line, exit 2, after the dump.
attach --gcore "$TMP/no/such/dir/x.core" "$PID"
expect_rc 2
printf '%s\n' "$ERR" | grep -q "cannot write a core of PID $PID to $TMP/no/such/dir/x.core: gcore failed" ||
    fail "--gcore to a missing directory: $ERR"
exit 0
