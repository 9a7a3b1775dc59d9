#!/bin/sh
# A tool's dump is served while the program dumps itself back to back: the
# runtime starts no generation for a dump from inside while a tool has not
# read its own, so the tool's records are never replaced under it.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
RT="$top_builddir/tests/integration/rt_target"
need_program "$RT"

start loop "$RT" dumploop
# The loop runs before the tool comes.
for _ in $(seq 200); do grep -q '^dumps ' "$TMP/loop.out" && break; sleep 0.05; done
grep -q '^dumps ' "$TMP/loop.out" || harness_error "the dump loop did not start: $(cat "$TMP/loop.err")"

i=0
while [ "$i" -lt 20 ]; do
    attach --json "$PID"
    expect_rc 0
    i=$((i + 1))
done
# The target's tasks sleep: five dumps that all came find them where they
# were (exit 3, "did not move"); a dump given up would exit 2.
attach --repeat 5 --interval 0.2 "$PID"
expect_rc 3
printf '%s\n' "$OUT" | grep -q "5 dumps over" || fail "--repeat 5 did not take 5 dumps: $OUT"
kill -0 "$PID" || fail "the target died: $(cat "$TMP/loop.err")"
# The program's own dumps went on meanwhile (the last count printed).
before=$(sed -n 's/^dumps //p' "$TMP/loop.out" | tail -n 1)
for _ in $(seq 100); do
    now=$(sed -n 's/^dumps //p' "$TMP/loop.out" | tail -n 1)
    [ "$now" -gt "$before" ] && break
    sleep 0.05
done
[ "$now" -gt "$before" ] || fail "the program's own dumps stopped after the tool's"
grep -q . "$TMP/loop.err" && fail "the target wrote to stderr: $(cat "$TMP/loop.err")"
exit 0
