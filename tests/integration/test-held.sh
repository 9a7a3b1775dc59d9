#!/bin/sh
# A tool stopped (SIGSTOP) while it holds a thread of the target stopped:
# its watchdog ends it, and the thread (the doorbell thread; a worker under
# --threads) runs again within the bound (0.5 s, checked at 2 s), where it
# used to stay stopped as long as the tool.  And a doorbell thread that does
# not start the dump is said to be doing what it does: writing a dump asked
# for from inside into a pipe nobody reads, held stopped by another tracer.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
T="$top_builddir/tests/integration/target"

# held_then_stopped ENV_HOOK TID_PICKER ARGS...: runs the tool with the hold
# hook at 5 s, waits for a thread in a traced stop, SIGSTOPs the tool, and
# checks the thread is running again within 2 s and the tool was killed.
# The watchdog ends a hold after 0.5 s whether or not the tool is stopped,
# so the thread must be seen within that: a thread's state is read with
# the shell's own read, no process started per thread, however loaded the
# machine.
thread_state() {
    line=""
    read -r line <"$1/stat" 2>/dev/null
    line=${line##*) }
    state=${line%% *}
}
stopped_thread() {
    held=
    for t in /proc/"$PID"/task/*; do
        thread_state "$t"
        [ "$state" = t ] && held=${t##*/} && return
    done
}
held_then_stopped() {
    what=$1
    shift
    env "$@" >"$TMP/held.out" 2>"$TMP/held.err" &
    tool=$!
    PIDS="$PIDS $tool"
    held=
    for _ in $(seq 2000); do
        stopped_thread
        [ -n "$held" ] && break
        sleep 0.01
    done
    [ -n "$held" ] || fail "$what: the tool never stopped a thread"
    kill -STOP "$tool"
    t0=$(date +%s%N)
    running=
    for _ in $(seq 200); do
        thread_state "/proc/$PID/task/$held"
        if [ "$state" != t ]; then
            running=1
            break
        fi
        [ $(($(date +%s%N) - t0)) -gt 2000000000 ] && break
        sleep 0.01
    done
    [ -n "$running" ] || fail "$what: thread $held still stopped 2 s after the tool was"
    rc=0
    kill -CONT "$tool" 2>/dev/null
    wait "$tool" || rc=$?
    [ "$rc" -eq 137 ] || fail "$what: the tool was not killed (exit $rc): $(cat "$TMP/held.err")"
    grep -q "held thread $held of PID $PID stopped for more than 500 ms" "$TMP/held.err" ||
        fail "$what: the watchdog did not say why: $(cat "$TMP/held.err")"
    grep -q '^TracerPid:[[:space:]]*0$' "/proc/$PID/task/$held/status" ||
        fail "$what: thread $held left traced"
    kill -0 "$PID" || fail "$what: target died"
}

# The doorbell thread, held by the ring.
start idle "$T" idle
db=$(for t in /proc/"$PID"/task/*; do [ "$(cat "$t/comm")" = tasktrace ] && basename "$t"; done)
held_then_stopped "doorbell" TASKTRACE_ATTACH_HOLD_STOPPED_MS=5000 "$ATTACH" "$PID"
[ "$held" = "$db" ] || fail "doorbell: the thread held was $held, not the doorbell $db"
attach "$PID"
expect_rc 0

# A worker, held for its live stack by --threads.
start stuck "$top_builddir/examples/stuck"
held_then_stopped "--threads" TASKTRACE_ATTACH_HOLD_THREAD_MS=5000 "$ATTACH" --passive --threads "$PID"
attach --passive "$PID"
expect_rc 0

# --threads with a short --timeout: the thread stacks get that long (here
# each stop lasts 150 ms, so at most three of the threads fit in 0.3 s),
# and the threads it did not read are named.  Counted, not timed: a slow
# machine reads fewer, never more.
nthreads=$(ls /proc/"$PID"/task | wc -l)
export TASKTRACE_ATTACH_HOLD_THREAD_MS=150
attach --passive --threads -t 0.3 "$PID"
unset TASKTRACE_ATTACH_HOLD_THREAD_MS
expect_rc 1
printf '%s\n' "$ERR" | grep -qE '[0-9]+ threads were not read: the time for thread stacks \(0\.3 s, --timeout\) ran out: [0-9]+ "(worker-[0-9]|tasktrace|stuck)"' ||
    fail "--threads -t 0.3 does not name the threads not read: $ERR"
notread=$(printf '%s\n' "$ERR" | sed -n 's/.* \([0-9]*\) threads were not read.*/\1/p' | head -n 1)
[ "${notread:-0}" -ge $((nthreads - 3)) ] ||
    fail "--threads -t 0.3 read more than 3 of $nthreads threads held 150 ms each: $ERR"

# The doorbell serving a signal's dump into a pipe that nobody reads: the
# dump says so rather than blame the machine.
mkfifo "$TMP/pipe" || harness_error "mkfifo"
exec 4<>"$TMP/pipe"
TASKTRACE_SIGNAL=SIGUSR2 "$T" idle >"$TMP/w.out" 2>"$TMP/pipe" &
PIDS="$PIDS $!"
PID=
for _ in $(seq 200); do
    PID=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/w.out" 2>/dev/null)
    [ -n "$PID" ] && break
    sleep 0.05
done
[ -n "$PID" ] || harness_error "the writing target did not start"
db=$(for t in /proc/"$PID"/task/*; do [ "$(cat "$t/comm")" = tasktrace ] && basename "$t"; done)
blocked=
for _ in $(seq 500); do
    kill -USR2 "$PID"
    case $(cat "/proc/$PID/task/$db/wchan") in poll_schedule* | pipe_write*) blocked=1; break ;; esac
    sleep 0.01
done
[ -n "$blocked" ] || harness_error "the doorbell never blocked on the full pipe"
attach -t 0.3 "$PID"
expect_rc 1
expect_err "doorbell thread $db did not run: it is blocked writing .*serving a dump asked for from inside the process"
printf '%s\n' "$ERR" | grep -q overloaded && fail "a blocked doorbell blamed on the machine: $ERR"

# The same doorbell, then held stopped by another tracer once the tool has
# rung: the dump names the tracer.
"$PYTHON" - "$PID" "$db" "$TMP/seized" "$TMP/ready" <<'PY' &
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
status = "/proc/%s/task/%s/status" % (sys.argv[1], sys.argv[2])
def tracer():
    for line in open(status):
        if line.startswith("TracerPid:"):
            return int(line.split()[1])
deadline = time.time() + 10
open(sys.argv[4], "w").close()
while tracer() == 0 and time.time() < deadline:   # the tool rings...
    time.sleep(0.001)
while tracer() != 0 and time.time() < deadline:   # ...and lets go
    time.sleep(0.001)
tid = int(sys.argv[2])
if libc.ptrace(0x4206, tid, None, None) != 0 or libc.ptrace(0x4207, tid, None, None) != 0:
    sys.exit("seize failed: %d" % ctypes.get_errno())
open(sys.argv[3], "w").close()
time.sleep(30)
PY
tracer=$!
PIDS="$PIDS $tracer"
for _ in $(seq 200); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
[ -e "$TMP/ready" ] || harness_error "the tracer did not start"
TASKTRACE_ATTACH_HOLD_STOPPED_MS=100 "$ATTACH" -t 1.5 "$PID" >"$TMP/t.out" 2>"$TMP/t.err" &
tool=$!
rc=0
wait "$tool" || rc=$?
[ -e "$TMP/seized" ] || harness_error "the tracer did not seize the doorbell"
[ "$rc" -eq 1 ] || fail "held doorbell: exit $rc: $(cat "$TMP/t.err")"
grep -q "doorbell thread $db did not run: it is held stopped by the tracer PID $tracer (python3); detach it" "$TMP/t.err" ||
    fail "held doorbell: the tracer is not named: $(cat "$TMP/t.err")"
kill "$tracer"
exec 4<&-
exit 0
