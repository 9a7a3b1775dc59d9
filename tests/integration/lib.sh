# Shared by the integration tests: start a real target, attach the real tool.
# Exit codes follow the automake harness: 0 pass, 1 fail, 77 skip, 99 error.
set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
ATTACH="$top_builddir/tasktrace-attach/tasktrace-attach"
TMP=$(mktemp -d)
PIDS=""
cleanup() {
    kill -TERM "$WATCHDOG" 2>/dev/null || true
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
# A hung test fails after TEST_TIMEOUT seconds instead of stalling the run.
test_shell=$$
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "${TEST_TIMEOUT:-180}" &
    nap=$!
    wait "$nap" || exit 0
    echo "FAIL: timed out after ${TEST_TIMEOUT:-180} s" >&2
    # The shell acts on TERM only once its foreground child returns: end
    # the children first (fields 1 and 4 of /proc/PID/stat: pid, ppid).
    for st in /proc/[0-9]*/stat; do
        set -- $(sed 's/^\([0-9]*\) (.*) [A-Za-z] \([0-9]*\) .*/\1 \2/' "$st" 2>/dev/null)
        [ "${2:-}" = "$test_shell" ] && [ "$1" != "$(sh -c 'echo $PPID')" ] && kill -TERM "$1" 2>/dev/null
    done
    kill -TERM "$test_shell"
) &
WATCHDOG=$!
trap 'exit 1' TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# start NAME CMD...: runs CMD in the background, waits for its "pid N" line,
# sets $PID (and $NAME_out holds its stdout file).
start() {
    name=$1
    shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS="$PIDS $!"
    for _ in $(seq 200); do
        PID=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/$name.out")
        [ -n "$PID" ] && break
        sleep 0.05
    done
    [ -n "$PID" ] || fail "$name did not start: $(cat "$TMP/$name.err")"
    PIDS="$PIDS $PID"
}

# attach ARGS...: runs the tool; $OUT, $ERR and $RC hold what it did.
attach() {
    RC=0
    "$ATTACH" "$@" >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
    OUT=$(cat "$TMP/attach.out")
    ERR=$(cat "$TMP/attach.err")
}

expect_rc() {
    [ "$RC" -eq "$1" ] || fail "expected exit $1, got $RC; stderr: $ERR; stdout: $OUT"
}

expect_err() {
    printf '%s\n' "$ERR" | grep -qE "$1" || fail "stderr does not match /$1/: $ERR"
    [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "stderr is not one line: $ERR"
}

# Skip, saying why, when this machine forbids ptrace of our own children.
require_ptrace() {
    scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
    if [ "$scope" = 3 ]; then
        echo "SKIP: kernel.yama.ptrace_scope=3 forbids ptrace on this machine" >&2
        exit 77
    fi
    if [ "$scope" != 0 ] && [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: kernel.yama.ptrace_scope=$scope and not root: cannot trace a sibling" >&2
        exit 77
    fi
}

PYTHON=${PYTHON:-python3}
