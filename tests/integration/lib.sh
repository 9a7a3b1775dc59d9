# Shared by the integration tests: start a real target, attach the real tool.
# Exit codes follow the automake harness: 0 pass, 1 fail, 77 skip, 99 error.
set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
ATTACH="$top_builddir/tasktrace-attach/tasktrace-attach"
TMP=""
PIDS=""
WATCHDOG=""

# The harness itself broke (no temporary directory, a program missing, a
# target that never started): not a failing test, so exit 99 with the
# reason.  Called in a subshell (a pipeline), it also leaves a mark that
# makes the test's own shell exit 99: see fail and cleanup.
harness_error() {
    echo "ERROR: $*" >&2
    [ -n "$TMP" ] && [ -d "$TMP" ] && : >"$TMP/harness-error"
    exit 99
}

cleanup() {
    rc=$?
    [ -n "$WATCHDOG" ] && kill -TERM "$WATCHDOG" 2>/dev/null
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    if [ -n "$TMP" ]; then
        [ -e "$TMP/harness-error" ] && rc=99
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
TMP=$(mktemp -d) || harness_error "cannot create a temporary directory (mktemp -d)"
# A hung test fails after TEST_TIMEOUT seconds instead of stalling the run.
test_shell=$$
(
    nap=""
    trap '[ -n "$nap" ] && kill "$nap" 2>/dev/null; exit 0' TERM
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

# An assertion of the test failed: exit 1.  After a harness error in a
# subshell, what failed is the harness: exit 99.
fail() {
    if [ -e "$TMP/harness-error" ]; then
        echo "ERROR: the harness broke before: $*" >&2
        exit 99
    fi
    echo "FAIL: $*" >&2
    exit 1
}

# need_program PROG: the test runs PROG (a path, or a name in PATH); its
# absence is a broken build or machine, not a failure of what the test
# checks.
need_program() {
    case $1 in
    */*) [ -x "$1" ] || harness_error "$1 is missing: build it first (make check builds it)" ;;
    *) command -v "$1" >/dev/null 2>&1 || harness_error "$1 is needed by this test and not installed" ;;
    esac
}

# start NAME CMD...: runs CMD in the background, waits for its "pid N" line,
# sets $PID (and $NAME_out holds its stdout file).
# A target that does not start is a harness error (99), not a failure.
start() {
    name=$1
    shift
    need_program "$1"
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    started=$!
    PIDS="$PIDS $started"
    PID=""
    for _ in $(seq 200); do
        PID=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/$name.out" 2>/dev/null)
        [ -n "$PID" ] && break
        if ! kill -0 "$started" 2>/dev/null; then
            st=0
            wait "$started" || st=$?
            harness_error "target $name ($1) exited with status $st before it started: $(cat "$TMP/$name.err")"
        fi
        sleep 0.05
    done
    [ -n "$PID" ] || harness_error "target $name ($1) did not start within 10 s: $(cat "$TMP/$name.err")"
    PIDS="$PIDS $PID"
}

# wait_exec PID COMM: waits until the background child PID runs the
# program COMM, at most 10 s: a child started with & is a copy of this
# shell until its exec, and the tool names a process by its comm.
wait_exec() {
    for _ in $(seq 200); do
        c=""
        read -r c <"/proc/$1/comm" 2>/dev/null
        [ "$c" = "$2" ] && return 0
        sleep 0.05
    done
    harness_error "process $1 did not run $2 within 10 s (comm: ${c:-?})"
}

# wait_sleeping TOOL WHAT: waits until the tool's process TOOL sleeps in
# nanosleep (WHAT: where it does, for the failure), at most 20 s.  The
# tool sleeps only in its waits (for the tasks' reports, between the dumps
# of --repeat), so a signal sent after this reaches the wait, however slow
# the machine.
wait_sleeping() {
    for _ in $(seq 400); do
        w=""
        read -r w <"/proc/$1/wchan" 2>/dev/null
        case $w in *nanosleep*) return 0 ;; esac
        kill -0 "$1" 2>/dev/null || fail "the tool ended before $2"
        sleep 0.05
    done
    fail "the tool never slept in $2 (wchan: ${w:-?})"
}

# attach ARGS...: runs the tool; $OUT, $ERR and $RC hold what it did.
attach() {
    need_program "$ATTACH"
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

# Tests run "$PYTHON"; without python3 that is a harness error (99), in
# the test's shell or in a pipeline.
PYTHON=${PYTHON:-python3}
python_missing() {
    harness_error "python3 is needed by this test and not installed (or set PYTHON)"
}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python_missing

# normalize [VALUE=WORD...]: copies stdin to stdout with what changes from
# one run to the next replaced by a fixed word, so that an output can be
# compared whole with an expected file: each VALUE given (a PID, a thread
# id: whole numbers only) by its WORD; the build and source directories
# both by TOP (the same expected file serves a build in the source tree and
# one beside it); timestamps (2026-11-27T09:54:50.123Z) by TIME; durations
# as the tool prints them ("850ms", "1.52s", "3m12s", "2h05m") by DUR;
# addresses of eight hex digits or more (a process's, never a module's
# offset) by 0xADDR.
normalize() {
    subst=""
    for pair in "$@"; do
        v=${pair%%=*}
        w=${pair#*=}
        [ -n "$v" ] || harness_error "normalize: an empty value in '$pair'"
        subst="$subst -e s/\\(^\\|[^0-9]\\)$v\\([^0-9]\\|\$\\)/\\1$w\\2/g"
        subst="$subst -e s/\\(^\\|[^0-9]\\)$v\\([^0-9]\\|\$\\)/\\1$w\\2/g"
    done
    # The longer directory first: the build tree may be inside the source.
    if [ "${#top_builddir}" -ge "${#top_srcdir}" ]; then
        dirs="-e s|$top_builddir|TOP|g -e s|$top_srcdir|TOP|g"
    else
        dirs="-e s|$top_srcdir|TOP|g -e s|$top_builddir|TOP|g"
    fi
    # Each duration pattern twice: a match takes the character after it,
    # which the next one, right after, needs before it.
    long='s/(^|[^0-9A-Za-z_.+])[0-9]+(m[0-9]{2}s|h[0-9]{2}m|d[0-9]{2}h)([^0-9A-Za-z_]|$)/\1DUR\3/g'
    short='s/(^|[^0-9A-Za-z_.+])[0-9]+(\.[0-9]+)?(ns|us|ms|s)([^0-9A-Za-z_]|$)/\1DUR\4/g'
    # shellcheck disable=SC2086 # each word is one sed argument
    sed $subst $dirs -E \
        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z/TIME/g' \
        -e "$long" -e "$long" -e "$short" -e "$short" \
        -e 's/0x[0-9a-f]{8,}/0xADDR/g'
}

# expect_output NAME FILE [VALUE=WORD...]: FILE, normalised (normalize,
# with the VALUE=WORD pairs), is tests/integration/expected/NAME.expected
# line for line; else the test fails, printing the difference.  Set
# TT_UPDATE_EXPECTED=1 to write the expected file instead, after a change
# of output that is meant (then read the diff before committing it).
expect_output() {
    name=$1
    file=$2
    shift 2
    want="$top_srcdir/tests/integration/expected/$name.expected"
    normalize "$@" <"$file" >"$TMP/$name.got" || harness_error "cannot normalise $file"
    if [ "${TT_UPDATE_EXPECTED:-}" = 1 ]; then
        cp "$TMP/$name.got" "$want" || harness_error "cannot write $want"
        return 0
    fi
    [ -r "$want" ] || harness_error "$want is missing"
    if ! diff -u "$want" "$TMP/$name.got" >"$TMP/$name.diff"; then
        cat "$TMP/$name.diff" >&2
        fail "the output differs from tests/integration/expected/$name.expected (diff above: - expected, + got)"
    fi
}
