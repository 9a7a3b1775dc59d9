#!/bin/sh
# examples/fanout: 1000 tasks joining 16 leaves each.  Where each task was
# spawned; every leaf of every task counted, once the runtime has seen what
# a dump of it takes.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
SRC="$top_srcdir/examples/fanout.c"
# The line that spawns the tasks: what "spawned at" must name.
LINE=$(grep -n 'trt_exec_spawn(' "$SRC" | cut -d: -f1)
[ -n "$LINE" ] || harness_error "no trt_exec_spawn call in $SRC"

start fanout "$top_builddir/examples/fanout" --tasks 1000

# The first dump: the ring was sized before the runtime knew each task
# clones 16 wakers.  Complete, or else partial and naming the tasks whose
# stacks are incomplete, in its text and in its JSON.
attach --no-group --no-source "$PID"
if [ "$RC" -eq 1 ]; then
    printf '%s\n' "$ERR" | grep -q 'incomplete stacks (captures lost in the capture ring): [0-9]* "fan-' ||
        fail "a dump that lost captures does not name the tasks: $ERR"
    printf '%s\n' "$OUT" | grep -q '^task [0-9]* "fan-[0-9]*" idle.*\[stacks lost: [0-9]* of 16 captures read\]' ||
        fail "no task marked [stacks lost]: $(printf '%s\n' "$OUT" | head -5)"
else
    expect_rc 0
fi

# In steady state nothing is lost: 16,000 leaves, 16 like stacks per task
# shown once with their count; every task spawned at the spawning line.
for round in 1 2; do
    attach --no-group --no-source "$PID"
    expect_rc 0
    [ -z "$ERR" ] || fail "round $round: stderr on a complete dump: $ERR"
    printf '%s\n' "$OUT" | grep -q 'stacks lost' && fail "round $round: stacks lost: $OUT"
    n=$(printf '%s\n' "$OUT" | grep -c '^  spawned at main$')
    [ "$n" -eq 1000 ] || fail "--no-source: $n of 1000 tasks spawned at main"
    n=$(printf '%s\n' "$OUT" | grep -c '^  └╼ trt_pending_poll ×16$')
    [ "$n" -eq 1000 ] || fail "round $round: $n of 1000 tasks show trt_pending_poll ×16: $(printf '%s\n' "$OUT" | sed -n 1,6p)"
done
attach --no-group "$PID"
expect_rc 0
n=$(printf '%s\n' "$OUT" | grep -c "^  spawned at .*examples/fanout\\.c:$LINE (main)\$")
[ "$n" -eq 1000 ] || fail "$n of 1000 tasks spawned at fanout.c:$LINE: $(printf '%s\n' "$OUT" | sed -n 1,3p)"

attach --no-group --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
line = int(sys.argv[1])
d = json.load(sys.stdin)
assert d["complete"] is True and d["records_lost"] == 0, (d["complete"], d["records_lost"])
assert len(d["tasks"]) == 1000, len(d["tasks"])
leaves = 0
for t in d["tasks"]:
    assert len(t["stack_counts"]) == len(t["stacks"]), t
    assert t["stacks_lost"] is False, t["name"]
    leaves += sum(t["stack_counts"])
    assert t["stack_counts"] == [16], (t["name"], t["stack_counts"])
    assert [f["function"] for f in t["stacks"][0]] == ["trt_join_poll", "trt_pending_poll"], t["stacks"][0]
    s = t["spawned_at"]
    assert s is not None, t["name"]
    assert s["function"] == "main" and s["file"].endswith("examples/fanout.c"), s
    assert s["line"] == line, (s["line"], line)
assert leaves == 16000, leaves
' "$LINE" || fail "JSON of a complete dump"

kill -0 "$PID" || fail "target died"
exit 0
