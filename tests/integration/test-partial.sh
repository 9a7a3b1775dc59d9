#!/bin/sh
# Never a silent "complete": each way a dump can miss something is named in
# one line on stderr, in the text and JSON output, and by exit status 1.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
T="$top_builddir/tests/integration/target"
CHECK="$top_srcdir/tests/integration/check_json.py"

# partial MODE CAUSE REGEX [ARGS...]: a dump of a fresh `target MODE` exits
# 1 with one stderr line matching REGEX, the same line closes the text view,
# and the JSON names CAUSE and is not complete.  With ALSO="CAUSE2 REGEX2",
# a second problem follows the first: two lines, both in the text's end.
partial() {
    mode=$1 cause=$2 re=$3
    shift 3
    ALSO=${ALSO:-}
    also_cause=${ALSO%% *} also_re=${ALSO#* }
    start "$mode" "$T" "$mode"
    attach "$@" "$PID"; expect_rc 1
    if [ -n "$ALSO" ]; then
        printf '%s\n' "$ERR" | sed -n 1p | grep -qE "$re" || fail "$mode: first line: $ERR"
        printf '%s\n' "$ERR" | sed -n 2p | grep -qE "$also_re" || fail "$mode: second line: $ERR"
        [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 2 ] || fail "$mode: not two lines: $ERR"
        printf '%s\n' "$OUT" >"$TMP/$mode.txt"
        [ "$(tail -n 2 "$TMP/$mode.txt")" = "$(printf '%s\n' "$ERR" | sed 's/^tasktrace-attach: /incomplete: /')" ] ||
            fail "$mode: the text view does not end with the causes: $OUT"
    else
        expect_err "$re"
        printf '%s\n' "$OUT" >"$TMP/$mode.txt"
        [ "$(tail -n 1 "$TMP/$mode.txt")" = "incomplete: ${ERR#tasktrace-attach: }" ] ||
            fail "$mode: the text view does not end with the cause: $OUT"
    fi
    attach --json "$@" "$PID"; expect_rc 1
    [ -n "$ALSO" ] || expect_err "$re"
    printf '%s\n' "$OUT" >"$TMP/$mode.json"
    "$PYTHON" - "$TMP/$mode.json" "$cause" ${ALSO:+"$also_cause"} <<'PY' || fail "$mode: JSON: $OUT"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["complete"] is False, d["complete"]
assert [p["cause"] for p in d["problems"]] == sys.argv[2:], d["problems"]
PY
    "$PYTHON" "$CHECK" "$TMP/$mode.json" "$TMP/$mode.txt" >/dev/null ||
        fail "$mode: JSON and text differ"
}

# The doorbell thread could not start: the tasks are listed, unreported.
partial doorbell-errno doorbell \
    "PID [0-9]+: the runtime could not start its doorbell thread \(3 attempts\): Resource temporarily unavailable \(ulimit -u"
grep -q '^task 1 "foo" .*\[did not report\]' "$TMP/doorbell-errno.txt" ||
    fail "doorbell: the task is not listed as unreported: $(cat "$TMP/doorbell-errno.txt")"

# No ring for the generation.
partial ring-errno ring \
    "PID [0-9]+: the runtime could not map a large enough capture ring for this dump: Cannot allocate memory"

# A record of the generation fails its checksum: a lost stack.
# The task whose capture it was is named too.
ALSO='stacks_lost 1 task has incomplete stacks \(captures lost in the capture ring\): 2 "torn"'
partial torn records_torn \
    "PID [0-9]+: 1 captured stack of this dump was unreadable \(torn or corrupt in the capture ring\)"
ALSO=
grep -q '^╼ foo_poll' "$TMP/torn.txt" || fail "torn: the whole record of task 1 is missing"

# One chunk listed 1024 times (once 4 million tasks and a gigabyte): the
# task once, and the registry called corrupt.
partial dup-chunks registry_corrupt \
    "PID [0-9]+: the task registry is corrupt: 1023 repeated chunk pointers and 0 repeated task ids"
[ "$(grep -c '^task ' "$TMP/dup-chunks.txt")" -eq 1 ] ||
    fail "dup-chunks: the task is not listed once: $(cat "$TMP/dup-chunks.txt")"

# A task a fork left behind: named as such, not "is it blocked or busy?".
partial inherited timeout \
    'timed out after 0.5 s: 1 of 2 tasks did not report: 2 "heir" \(idle\); they were inherited from the parent process at fork and nothing in this process has polled them since' \
    --timeout 0.5
grep -q '^task 2 "heir" .*\[did not report\] \[inherited at fork, not polled since\]' \
    "$TMP/inherited.txt" || fail "inherited: task 2 not marked: $(cat "$TMP/inherited.txt")"

# --task selecting only tasks that reported: complete, although another
# task is stuck and the generation never ends.
start bl "$T" block
attach --timeout 30 --task ok "$PID"; expect_rc 0
[ -z "$ERR" ] || fail "--task ok: stderr: $ERR"
printf '%s\n' "$OUT" | grep -q '^task 1 "ok" idle' || fail "--task ok: $OUT"
printf '%s\n' "$OUT" | grep -q 'incomplete:' && fail "--task ok marked incomplete: $OUT"
# The executor is now stuck for good in the first dump's poll of "stuck":
# a fresh target for the next dump.
start bl2 "$T" block
attach --json --timeout 30 --task ok "$PID"; expect_rc 0
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["complete"] is True and d["problems"] == [] and len(d["tasks"]) == 1, d' ||
    fail "--task ok JSON: $OUT"
# Selecting the stuck one still times out.
attach --timeout 0.3 --task stuck "$PID"; expect_rc 1
expect_err 'timed out after 0.3 s: 1 of 1 tasks did not report: 2 "stuck"'
exit 0
