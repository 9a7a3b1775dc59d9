#!/bin/sh
# --symbolize carries what a live dump says of each task through: where it
# was spawned (looked up again, so found from a raw dump's module and
# offset too), how many captures each stack stands for, and the frames a
# tail call removed, marked as such (put back from a raw dump's chains).
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace

# same LIVE.json SYMBOLIZED.json: every task has the same spawned_at
# (function, file, line), stack_counts and stacks (function, tail_call).
same() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
live, back = (json.load(open(p)) for p in sys.argv[1:3])
def view(t):
    sp = t["spawned_at"]
    return (t["id"], sp and (sp["function"], sp["file"], sp["line"]), t["stack_counts"],
            [[(f["function"], f.get("tail_call", False)) for f in s] for s in t["stacks"]])
a = sorted(view(t) for t in live["tasks"])
b = sorted(view(t) for t in back["tasks"])
assert a == b, (a[:2], b[:2])
assert any(t["spawned_at"] for t in live["tasks"]), "no spawned_at to carry"
print(sum(1 for t in live["tasks"] for s in t["stacks"] for f in s if f.get("tail_call")),
      max(c for t in live["tasks"] for c in t["stack_counts"]))
EOF
}

# blank FROM TO: the dump with every frame's and spawned_at's names gone
# (a raw dump: module, build_id, offset, pc), tail_call frames kept whole.
blank() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def strip(f):
    if not f.get("tail_call"):
        for k in ("function", "file", "line", "column"):
            f[k] = None
for t in d["tasks"]:
    for s in t["stacks"]:
        for f in s:
            strip(f)
    if t["spawned_at"]:
        strip(t["spawned_at"])
json.dump(d, open(sys.argv[2], "w"))
EOF
}

# Tail calls: the restored frames stay marked and named.  A sanitizer's
# checks put calls into every function, so then there is none to restore.
BIN="$top_builddir/tests/integration/.libs/tailcall_target"
[ -x "$BIN" ] || BIN="$top_builddir/tests/integration/tailcall_target"
need_program "$BIN"
sanitized=$(nm -u "$BIN" 2>/dev/null | grep -cE '__(asan|ubsan|tsan|msan)_') || true
start tailcall "$top_builddir/tests/integration/tailcall_target"
attach --json --no-group "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/tc.json"
attach --json --symbolize "$TMP/tc.json"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/tc-back.json"
counts=$(same "$TMP/tc.json" "$TMP/tc-back.json") || fail "tail calls not carried through --symbolize"
if [ "$sanitized" -eq 0 ]; then
    [ "${counts% *}" -gt 0 ] || fail "the tail call target's dump has no tail_call frame: $counts"
else
    echo "SKIP: the tail call target is built with a sanitizer: no tail_call frame to carry" >&2
fi
blank "$TMP/tc.json" "$TMP/tc-raw.json"
attach --json --symbolize "$TMP/tc-raw.json"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/tc-raw-back.json"
same "$TMP/tc.json" "$TMP/tc-raw-back.json" >/dev/null || fail "a raw dump's tail calls or spawn places not found again"

# A raw dump the process wrote itself (a signal's): each stack's chain of
# polled futures is in it, and --symbolize puts back the frames tail calls
# removed, as the live tool does.
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/tc-self.json" start tcself "$top_builddir/tests/integration/tailcall_target"
kill -USR2 "$PID" || fail "kill -USR2"
for _ in $(seq 100); do tail -c 20 "$TMP/tc-self.json" 2>/dev/null | grep -q '"raw":true}' && break; sleep 0.1; done
attach --json --no-group "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/tc-live.json"
attach --json --symbolize "$TMP/tc-self.json"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/tc-self-back.json"
same "$TMP/tc-live.json" "$TMP/tc-self-back.json" >/dev/null ||
    fail "a raw dump's tail calls are not put back as the live dump's: $(cat "$TMP/tc-self-back.json")"

# Fan-out: 16 like leaves a task, one stack counted 16 times.
start fanout "$top_builddir/examples/fanout" --tasks 20
for _ in 1 2 3; do
    attach --json --no-group "$PID"
    [ "$RC" -eq 0 ] && break
done
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/fan.json"
attach --json --symbolize "$TMP/fan.json"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/fan-back.json"
counts=$(same "$TMP/fan.json" "$TMP/fan-back.json") || fail "stack_counts or spawn places not carried through"
[ "${counts#* }" -eq 16 ] || fail "fan-out stacks are not counted 16: $counts"
blank "$TMP/fan.json" "$TMP/fan-raw.json"
attach --json --symbolize "$TMP/fan-raw.json"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/fan-raw-back.json"
same "$TMP/fan.json" "$TMP/fan-raw-back.json" >/dev/null || fail "a raw dump's spawn places not found again"
# The text view says so too.
attach --symbolize "$TMP/fan-raw.json" --no-group --no-source; expect_rc 0
printf '%s\n' "$OUT" | grep -q '^  spawned at main$' || fail "no 'spawned at' in the text: $OUT"
printf '%s\n' "$OUT" | grep -q '×16' || fail "no ×16 in the text: $OUT"

exit 0
