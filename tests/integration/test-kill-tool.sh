#!/bin/sh
# SIGKILL of the tool while it holds the doorbell thread stopped: the target
# keeps running, and a second dump succeeds.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
start target "$top_builddir/tests/integration/target" idle
tid=$(for t in /proc/"$PID"/task/*; do
    [ "$(cat "$t/comm")" = tasktrace ] && basename "$t"; done)
[ -n "$tid" ] || fail "no doorbell thread"

TASKTRACE_ATTACH_HOLD_STOPPED_MS=30000 "$ATTACH" "$PID" >/dev/null 2>&1 &
tool=$!
PIDS="$PIDS $tool"
stopped=
for _ in $(seq 200); do
    if grep -q '^State:.*t (tracing stop)' "/proc/$PID/task/$tid/status"; then
        stopped=1
        break
    fi
    sleep 0.02
done
[ -n "$stopped" ] || fail "the tool never stopped the doorbell thread"
# Only the doorbell thread is stopped.
for t in /proc/"$PID"/task/*; do
    [ "$(basename "$t")" = "$tid" ] && continue
    grep -q '^State:.*t (tracing stop)' "$t/status" && fail "thread $(basename "$t") stopped too"
done
kill -9 "$tool"
wait "$tool" 2>/dev/null || true
for _ in $(seq 100); do
    grep -q '^State:.*t (tracing stop)' "/proc/$PID/task/$tid/status" || break
    sleep 0.02
done
grep -q '^State:.*t (tracing stop)' "/proc/$PID/task/$tid/status" && fail "doorbell thread left stopped"
grep -q '^TracerPid:[[:space:]]*0$' "/proc/$PID/task/$tid/status" || fail "doorbell thread left traced"
kill -0 "$PID" || fail "target died"

attach "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -q '^╼ foo_poll' || fail "second dump: $OUT"
printf '%s\n' "$OUT" | grep -q 'leaf_poll' || fail "second dump lacks the leaf: $OUT"
exit 0
