#!/bin/sh
# A busy, healthy process (tasks entering and leaving their polls all the
# time on three workers), dumped ROUNDS times by each of three tools at
# once: every dump is complete (exit 0).  A task that left its poll while
# its thread was being read reports like any other; that is not a missing
# stack.  Then the target is killed in the middle of a dump: the tool says
# the process exited, never that a task left its poll.
# TASKTRACE_TEST_ROUNDS (67 by default: 201 dumps).
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
ROUNDS=${TASKTRACE_TEST_ROUNDS:-67}
BUSY="$top_builddir/tests/integration/busy_target"
start busy "$BUSY" 24

tools=
for i in 1 2 3; do
    (
        for r in $(seq "$ROUNDS"); do
            rc=0
            "$ATTACH" --no-source --timeout 10 "$PID" >"$TMP/b$i.$r.out" 2>"$TMP/b$i.$r.err" || rc=$?
            echo "$rc" >"$TMP/b$i.$r.rc"
        done
    ) &
    tools="$tools $!"
done
for p in $tools; do wait "$p"; done

bad=0
for i in 1 2 3; do
    for r in $(seq "$ROUNDS"); do
        if [ "$(cat "$TMP/b$i.$r.rc")" != 0 ] ||
            [ "$(grep -c '^task [0-9]* "busy-' "$TMP/b$i.$r.out")" -ne 24 ]; then
            bad=$((bad + 1))
            echo "dump $i.$r: exit $(cat "$TMP/b$i.$r.rc"): $(cat "$TMP/b$i.$r.err")" >&2
        fi
    done
done
[ "$bad" -eq 0 ] || fail "$bad of $((3 * ROUNDS)) dumps of a busy process were not complete"
kill -0 "$PID" || fail "target died"

# Killed while the tool holds one of its threads (the live stacks of the
# tasks inside a poll are read after the generation): the dump says the
# process exited.
kills=0
for k in 1 2 3 4 5; do
    start victim "$BUSY" 24
    TASKTRACE_ATTACH_HOLD_THREAD_MS=200 "$ATTACH" --no-source "$PID" >"$TMP/k$k.out" 2>"$TMP/k$k.err" &
    tool=$!
    held=
    for _ in $(seq 500); do
        for t in /proc/"$PID"/task/*; do
            if grep -q '^State:.*t (tracing stop)' "$t/status" 2>/dev/null &&
                [ "$(cat "$t/comm" 2>/dev/null)" != tasktrace ]; then
                held=1
                break 2
            fi
        done
        sleep 0.01
    done
    kill -9 "$PID"
    rc=0
    wait "$tool" || rc=$?
    [ -n "$held" ] || continue
    kills=$((kills + 1))
    err=$(cat "$TMP/k$k.err")
    printf '%s\n' "$err" | grep -q 'left its poll' && fail "killed target: a task 'left its poll': $err"
    printf '%s\n' "$err" | grep -q "PID $PID exited during the dump" ||
        fail "killed target: the tool does not say the process exited (exit $rc): $err"
    [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || fail "killed target: exit $rc: $err"
done
[ "$kills" -gt 0 ] || fail "the tool never held a thread of the target"
exit 0
