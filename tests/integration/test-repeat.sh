#!/bin/sh
# --repeat N --interval S PID: N dumps of a live process compared as
# --compare compares two files, a task still only if it was in every dump;
# partial dumps named and marked, a dump that fails fails the run, an
# interrupt stops it, and the usage errors.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
T="$top_builddir/tests/integration/target"

# ------------------------------------------------------------ usage
usage_error() {
    want=$1
    shift
    attach "$@"
    expect_rc 64
    expect_err "$want"
}
usage_error "give --repeat N too" --interval 1 1
usage_error "bad --repeat '1': give a number of dumps from 2 to 100" --repeat 1 1
usage_error "bad --repeat '101'" --repeat 101 1
usage_error "bad --repeat 'x'" --repeat x 1
usage_error "bad --interval '0': give seconds, more than 0 and at most 3600" --repeat 2 --interval 0 1
usage_error "bad --interval '-1'" --repeat 2 --interval -1 1
usage_error "bad --interval '3601'" --repeat 2 --interval 3601 1
usage_error "bad --interval 'nan'" --repeat 2 --interval nan 1
usage_error "no PID given" --repeat 2
usage_error "^tasktrace-attach: --repeat compares whole dumps of a live process: --state is not for it" --repeat 2 --state idle 1
usage_error "^tasktrace-attach: --repeat .*: --match is not for it" --repeat 2 --match foo 1
usage_error "^tasktrace-attach: --repeat .*: --group is not for it" --repeat 2 --group 1
usage_error "^tasktrace-attach: --repeat .*: --folded is not for it" --repeat 2 --folded 1
usage_error "^tasktrace-attach: --repeat .*: --core is not for it" --repeat 2 --core x
usage_error "^tasktrace-attach: --compare compares whole dumps: --repeat is for one dump" --repeat 2 --compare a b
usage_error "^tasktrace-attach: --compare compares whole dumps: --min-idle is for one dump" --min-idle 1 --compare a b

# ------------------------------------------------------------ movers
# Two tasks woken every 10 ms, two parked: the parked ones did not move.
start movers "$T" movers
attach --repeat 3 --interval 0.3 "$PID"; expect_rc 3
[ -z "$ERR" ] || fail "stderr on complete dumps: $ERR"
printf '%s\n' "$OUT" >"$TMP/rep.txt"
head -n 1 "$TMP/rep.txt" | grep -qE "^PID $PID, 3 dumps over [0-9.]+[a-z]+: 2 did not move, 2 moved, 0 appeared, 0 finished$" ||
    fail "repeat header: $OUT"
[ "$(sed -n 2p "$TMP/rep.txt")" = "did not move (same poll count, same stacks, in every dump):" ] ||
    fail "repeat, the title of the still tasks: $OUT"
sed -n 3p "$TMP/rep.txt" | grep -qE '^  2 tasks \(ids 3-4: "parked-3", "parked-4"\) idle, 1 poll, idle ' ||
    fail "repeat, the still tasks: $OUT"
[ "$(sed -n 4,5p "$TMP/rep.txt")" = 'moved (polled in between):
  2 tasks (ids 1-2: "ticker-1", "ticker-2")' ] || fail "repeat, the moved tasks: $OUT"
[ "$(wc -l <"$TMP/rep.txt")" -eq 5 ] || fail "repeat: more lines than the comparison: $OUT"

# The JSON form agrees, and the dumps were spaced start to start.
attach --json --repeat 3 --interval 0.3 "$PID"; expect_rc 3
[ -z "$ERR" ] || fail "stderr on complete dumps (--json): $ERR"
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["version"] == 1 and d["pid"] == int(sys.argv[1]), d
assert d["dumps"] == 3 and d["partial"] == [], d
assert d["still"] == [3, 4] and d["moved"] == [1, 2], d
assert d["appeared"] == [] and d["finished"] == [], d
assert 590 <= d["interval_ms"] < 5000, d' "$PID" || fail "repeat --json: $OUT"

# Two dumps: the header of --compare.
attach --repeat 2 --interval 0.2 "$PID"; expect_rc 3
printf '%s\n' "$OUT" | head -n 1 | grep -qE "^PID $PID, dumps [0-9.]+[a-z]+ apart: 2 did not move, 2 moved, 0 appeared, 0 finished$" ||
    fail "repeat 2: $OUT"
[ "$(printf '%s\n' "$OUT" | sed -n 2p)" = "did not move (same poll count, same stacks):" ] ||
    fail "repeat 2, the title: $OUT"

# --task chooses the tasks dumped, so compared: a ticker alone moved, 0.
attach --repeat 2 --interval 0.2 --task ticker-1 "$PID"; expect_rc 0
[ -z "$ERR" ] || fail "stderr, --task ticker-1: $ERR"
printf '%s\n' "$OUT" | head -n 1 | grep -q ': 0 did not move, 1 moved, 0 appeared, 0 finished$' ||
    fail "repeat --task ticker-1: $OUT"

# Partial dumps (a --task that matched nothing) are named on stderr and
# marked in the output; a task still in every dump still wins, 3 ...
attach --repeat 2 --interval 0.2 --task 3 --task nosuch "$PID"; expect_rc 3
printf '%s\n' "$ERR" | grep -q "^tasktrace-attach: dump 1 of 2 of PID $PID is partial (task_unmatched): a task it missed may show as moved$" ||
    fail "partial dump 1 not named: $ERR"
printf '%s\n' "$ERR" | grep -q "^tasktrace-attach: dump 2 of 2 of PID $PID is partial (task_unmatched)" ||
    fail "partial dump 2 not named: $ERR"
printf '%s\n' "$OUT" | tail -n 2 | grep -qx "incomplete: dump 1 of 2 is partial (task_unmatched)" ||
    fail "partial dump 1 not marked: $OUT"
printf '%s\n' "$OUT" | grep -q '^  task 3 "parked-3" idle' || fail "partial, the still task: $OUT"
# ... else partial is 1, not 0: a task the dumps missed may look moved.
attach --json --repeat 2 --interval 0.2 --task 1 --task nosuch "$PID"; expect_rc 1
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["partial"] == [1, 2] and d["still"] == [] and d["moved"] == [1], d' ||
    fail "partial --json: $OUT"

# child_of PID: the pid of a child of PID, from /proc/*/stat (field 4 is
# the parent), or nothing.
child_of() {
    for st in /proc/[0-9]*/stat; do
        set -- "$1" $(sed 's/^\([0-9]*\) (.*) [A-Za-z] \([0-9]*\) .*/\1 \2/' "$st" 2>/dev/null)
        [ "${3:-}" = "$1" ] && { echo "$2"; return 0; }
    done
    return 0
}

# ------------------------------------------------------------ interrupt
# SIGINT in the interval: stops at once, says so, 130 (and with --json,
# an error document).
"$ATTACH" --json --repeat 3 --interval 30 "$PID" >"$TMP/int.out" 2>"$TMP/int.err" &
tool=$!
wait_sleeping "$tool" "its interval"
kill -INT "$tool"
RC=0
wait "$tool" || RC=$?
OUT=$(cat "$TMP/int.out")
ERR=$(cat "$TMP/int.err")
expect_rc 130
expect_err "^tasktrace-attach: interrupted after 1 of 3 dumps of PID $PID; nothing is compared$"
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["error"]["code"] == "INTERRUPTED" and d["pid"] == int(sys.argv[1]), d' "$PID" ||
    fail "interrupt document: $OUT"

# ------------------------------------------------------------ the PID exits
# The target is killed (and reaped) between the first dump and the second:
# the run fails with the second dump's cause, 2, and its error document.
start gone "$T" movers
GONE=$PID
"$ATTACH" --json --repeat 3 --interval 3 "$GONE" >"$TMP/gone.out" 2>"$TMP/gone.err" &
tool=$!
wait_sleeping "$tool" "its interval"
kill -9 "$GONE"
wait "$GONE" 2>/dev/null
RC=0
wait "$tool" || RC=$?
OUT=$(cat "$TMP/gone.out")
ERR=$(cat "$TMP/gone.err")
expect_rc 2
printf '%s\n' "$ERR" | grep -q "^tasktrace-attach: dump 2 of 3 of PID $GONE failed; nothing is compared$" ||
    fail "the failed dump is not named: $ERR"
[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 2 ] || fail "stderr is not the cause and the failure: $ERR"
cause=$(printf '%s\n' "$ERR" | head -n 1 | sed 's/^tasktrace-attach: //')
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["error"]["code"] == "ESRCH", d
assert d["error"]["message"] == sys.argv[1], (d, sys.argv[1])' "$cause" ||
    fail "the failed dump's document: $OUT (stderr: $ERR)"

# ------------------------------------------------------------ the tool is killed
# A dump's child dies with its parent: killed with SIGKILL while the child
# waits on a stuck task (for up to --timeout 10 s), the child is gone (or
# a zombie) within a second, and the target runs on.
start stuck "$T" block
"$ATTACH" --repeat 2 --timeout 10 "$PID" >/dev/null 2>&1 &
tool=$!
PIDS="$PIDS $tool"
child=""
for _ in $(seq 400); do
    child=$(child_of "$tool")
    [ -n "$child" ] && break
    sleep 0.05
done
[ -n "$child" ] || fail "--repeat started no child for its first dump"
PIDS="$PIDS $child"
kill -9 "$tool"
wait "$tool" 2>/dev/null
gone=""
for i in $(seq 100); do
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$child/status" 2>/dev/null)
    case $state in "" | Z | X) gone=$i; break ;; esac
    sleep 0.01
done
[ -n "$gone" ] || fail "the child $child of the killed --repeat still runs after 1 s (state $state)"
echo "the child was gone after about $((gone * 10)) ms"
kill -0 "$PID" || fail "the target died with the tool"

exit 0
