#!/bin/sh
# Every error a user meets: one line naming the cause, the documented code.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
T="$top_builddir/tests/integration/target"

# Usage errors: 64, each one line, and the lines whole as
# expected/errors-usage.expected has them.
: >"$TMP/usage.log"
usage() {
    want=$1
    shift
    attach "$@"; expect_rc 64; expect_err "$want"
    printf '%s\n' "$ERR" >>"$TMP/usage.log"
}
usage 'no PID given'
usage "unknown option '--bogus'" --bogus 1
usage "bad PID '12x'" 12x
usage "bad PID '-5'" -- -5
usage 'too many arguments' 1 2
usage "bad --timeout 'abc'" --timeout abc 1
usage "bad --timeout '0'" --timeout 0 1
usage "bad --color 'maybe'" --color=maybe 1
usage "needs a value" --timeout
expect_output errors-usage "$TMP/usage.log"
# --help, whole: its options and exit codes as the man page lists them.
attach --help; expect_rc 0
printf '%s\n' "$OUT" | grep -q '^  64  *usage error' || fail "--help lacks exit codes"
[ -z "$ERR" ] || fail "--help wrote to stderr: $ERR"
printf '%s\n' "$OUT" >"$TMP/help.txt"
expect_output help "$TMP/help.txt"
attach --version; expect_rc 0
printf '%s\n' "$OUT" | grep -qE '^tasktrace-attach [0-9]' || fail "--version: $OUT"

# No such process.
sh -c 'exit 0' & gone=$!; wait $gone
attach "$gone"; expect_rc 2; expect_err "no process with PID $gone"
# The errors about the target, whole, as expected/errors-target.expected
# has them (its PID normalised).
: >"$TMP/target.log"
log_target() { printf '%s\n' "$ERR" | normalize "$1=PID" >>"$TMP/target.log"; }
log_target "$gone"

# Not a tasktrace process.
sleep 300 & PIDS="$PIDS $!"
wait_exec $! sleep
attach $!; expect_rc 2; expect_err "is not a tasktrace process: no 'tasktrace_control' symbol"
log_target $!

# A runtime with no task: an empty, complete dump.
start notask "$T" notask
attach "$PID"; expect_rc 0
[ "$(printf '%s\n' "$OUT" | grep -cE '^0 tasks; dumped in ')" -eq 1 ] &&
    [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ] || fail "notask printed: $OUT"

# Corrupt runtime data: a clear error, no crash.
start cc "$T" corrupt-control
attach "$PID"; expect_rc 2; expect_err 'control block .* unusable: protocol version 99'
log_target "$PID"
start cr "$T" corrupt-registry
attach "$PID"; expect_rc 2; expect_err 'registry header .* is corrupt'
log_target "$PID"

# Not permitted: another user without CAP_SYS_PTRACE.
start perm "$T" idle
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    RC=0
    setpriv --reuid=65534 --regid=65534 --clear-groups "$ATTACH" "$PID" \
        >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
    ERR=$(cat "$TMP/attach.err")
    expect_rc 2
    expect_err "PID $PID: not permitted: it belongs to uid 0 and you are uid 65534"
else
    echo "SKIP: the dump by another user (EPERM): it needs root and setpriv" >&2
fi

# Already traced by another process: the tool names it.
tid=$(for t in /proc/"$PID"/task/*; do
    [ "$(cat "$t/comm")" = tasktrace ] && basename "$t"; done)
[ -n "$tid" ] || fail "no doorbell thread in $PID"
"$PYTHON" - "$tid" "$TMP/seized" <<'PY' &
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0:   # PTRACE_SEIZE
    sys.exit("seize failed: %d" % ctypes.get_errno())
open(sys.argv[2], "w").close()
time.sleep(60)
PY
tracer=$!
PIDS="$PIDS $tracer"
for _ in $(seq 100); do [ -e "$TMP/seized" ] && break; sleep 0.05; done
[ -e "$TMP/seized" ] || fail "could not seize the doorbell thread for the test"
attach "$PID"; expect_rc 2
expect_err "not permitted: it is already traced by PID $tracer \(python3\)"
kill "$tracer"; wait "$tracer" 2>/dev/null
attach "$PID"; expect_rc 0

# Exits mid-dump.
start ex "$T" exit
attach "$PID"; expect_rc 2; expect_err "PID $PID exited during the dump"
log_target "$PID"

# Timeout: the executor blocks inside a dump poll.
start bl "$T" block
attach --timeout 0.5 "$PID"; expect_rc 1
expect_err 'timed out after 0.5 s: 1 of 2 tasks did not report: 2 "stuck" (\(polling\)|stuck [0-9.]+[mu]?s .*\(thread [0-9]+)'
printf '%s\n' "$OUT" | grep -q '^task 1 "ok" idle' || fail "partial dump lacks the reporting task: $OUT"
printf '%s\n' "$OUT" | grep -q '^task 2 "stuck" polling .*on thread [0-9]*.*\[did not report\]' \
    || fail "partial dump does not mark the stuck task: $OUT"

# A stopped process: the doorbell cannot run; the tool says so, and the
# process is dumpable again once continued.
start stopped "$T" idle
# Stopped once its doorbell thread runs (a loaded machine may start it
# after the target printed its pid).
for _ in $(seq 200); do
    grep -qx tasktrace /proc/"$PID"/task/*/comm 2>/dev/null && break
    sleep 0.05
done
grep -qx tasktrace /proc/"$PID"/task/*/comm 2>/dev/null || harness_error "the target started no doorbell thread"
kill -STOP "$PID"
attach --timeout 0.3 "$PID"; expect_rc 1
expect_err "did not start the dump within 0.3 s: .*the process is stopped: resume it with kill -CONT"
printf '%s\n' "$OUT" | grep -q '^task 1 "foo" idle .*\[did not report\]' || fail "stopped: $OUT"
kill -CONT "$PID"
attach "$PID"; expect_rc 0

# A task that waits without a waker is marked.
start nw "$T" nowaker
attach "$PID"; expect_rc 0
printf '%s\n' "$OUT" | grep -q '^task 1 "lazy".*lost wake-up suspect' || fail "no suspect mark: $OUT"
printf '%s\n' "$OUT" | grep '^task 2 "fine"' | grep -qv suspect || fail "fine task marked: $OUT"

# --task that matches nothing.
start tk "$T" idle
attach --task nosuch "$PID"; expect_rc 2; expect_err "has no task with id or name 'nosuch'"
log_target "$PID"
expect_output errors-target "$TMP/target.log"
attach --task foo --task nosuch "$PID"; expect_rc 1
expect_err "no task with id or name 'nosuch'"
attach --task 1 "$PID"; expect_rc 0
printf '%s\n' "$OUT" | grep -q '^task 1 "foo"' || fail "--task 1: $OUT"
exit 0
