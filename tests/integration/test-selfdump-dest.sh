#!/bin/sh
# Where a signal's dump goes: never through a symbolic link in any
# component of the path, devices and FIFOs written as what they are, no
# file left behind by a dump that failed, and a setting that cannot work
# refused at start with one line, the signal then still caught.
. "$top_srcdir/tests/integration/lib.sh"
TASKDUMP="$top_builddir/examples/taskdump"
MANY="$top_builddir/examples/many_tasks"
need_program "$TASKDUMP"
need_program "$MANY"

# wait_grep PATTERN FILE: waits (10 s at most) for a line matching PATTERN.
wait_grep() {
    for _ in $(seq 200); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

# 1. /dev/stderr is the process's standard error, not a file beside it.
siblings() { ls -d /dev/stderr.* /dev/full.* 2>/dev/null; }
before=$(siblings)
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP=/dev/stderr start err "$TASKDUMP"
kill -USR2 "$PID" || fail "kill -USR2"
wait_grep '"raw":true' "$TMP/err.err" || fail "/dev/stderr got no dump: $(head -c 300 "$TMP/err.err")"

# 2. /dev/full: the write fails, is said in one line, and makes no sibling.
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP=/dev/full start full "$TASKDUMP"
for _ in 1 2 3; do kill -USR2 "$PID" || fail "kill -USR2 (full)"; done
wait_grep 'cannot write a dump to /dev/full: No space left on device' "$TMP/full.err" ||
    fail "/dev/full's error not said: $(cat "$TMP/full.err")"
[ "$(siblings)" = "$before" ] || fail "files beside /dev/stderr or /dev/full were created: $(siblings)"
kill -0 "$PID" || fail "the target died writing to /dev/full"

# 3. A FIFO someone reads is written to; one nobody reads is refused.
mkfifo "$TMP/fifo" || harness_error "mkfifo"
cat "$TMP/fifo" >"$TMP/fifo.out" &
PIDS="$PIDS $!"
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/fifo" start fifo "$TASKDUMP"
kill -USR2 "$PID" || fail "kill -USR2 (fifo)"
wait_grep '"raw":true' "$TMP/fifo.out" || fail "the FIFO got no dump: $(cat "$TMP/fifo.err")"
mkfifo "$TMP/lonely" || harness_error "mkfifo"
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/lonely" start lonely "$TASKDUMP"
kill -USR2 "$PID" || fail "kill -USR2 (lonely)"
wait_grep "cannot write a dump to $TMP/lonely: a FIFO nobody reads" "$TMP/lonely.err" ||
    fail "a FIFO nobody reads not said: $(cat "$TMP/lonely.err")"
[ "$(ls "$TMP" | grep -c '^lonely\.[0-9]')" -eq 0 ] || fail "files beside the FIFO: $(ls "$TMP")"

# 4. A 4,096-byte path is refused at start; the signal still cannot kill.
long="$TMP/$(printf '%04090d' 0 | tr 0 a)"
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$long" start long "$TASKDUMP"
wait_grep 'TASKTRACE_DUMP=.*: the path is too long' "$TMP/long.err" ||
    fail "a too long path not refused at start: $(cat "$TMP/long.err")"
[ "$(wc -l <"$TMP/long.err")" -eq 1 ] || fail "not one line: $(cat "$TMP/long.err")"
kill -USR2 "$PID" || fail "kill -USR2 (long)"
wait_grep 'none written' "$TMP/long.err" || fail "the signal's refusal not said: $(cat "$TMP/long.err")"
kill -0 "$PID" || fail "SIGUSR2 killed the target after a refused TASKTRACE_DUMP"

# A pattern that cannot be expanded is refused at start too.
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/dump-%q.json" start pat "$TASKDUMP"
wait_grep 'only %p, %t and %% may follow a %' "$TMP/pat.err" || fail "a bad pattern not refused: $(cat "$TMP/pat.err")"

# 5. A link planted as a directory of the path, in a world-writable sticky
# directory, by another user when this test runs as root: never followed,
# whether it is there at start or planted later.
chmod 755 "$TMP" || harness_error "chmod"
mkdir -m 1777 "$TMP/sticky" && mkdir "$TMP/victim" || harness_error "mkdir"
as_other=""
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    as_other="setpriv --reuid=65534 --regid=65534 --clear-groups"
else
    echo "SKIP: the links are planted by this test's own user: another user needs root and setpriv" >&2
fi
$as_other ln -s "$TMP/victim" "$TMP/sticky/early" || harness_error "ln -s (early)"
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/sticky/early/dump.json" start early "$TASKDUMP"
wait_grep 'a directory on the way is a symbolic link' "$TMP/early.err" ||
    fail "a link in the path not refused at start: $(cat "$TMP/early.err")"
kill -USR2 "$PID" || fail "kill -USR2 (early)"
wait_grep 'none written' "$TMP/early.err" || fail "early: $(cat "$TMP/early.err")"
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/sticky/late/dump.json" start late "$TASKDUMP"
$as_other ln -s "$TMP/victim" "$TMP/sticky/late" || harness_error "ln -s (late)"
kill -USR2 "$PID" || fail "kill -USR2 (late)"
wait_grep "cannot write a dump to $TMP/sticky/late/dump.json: a directory on the way is a symbolic link" \
    "$TMP/late.err" || fail "a link planted later was not refused: $(cat "$TMP/late.err")"
[ -z "$(ls "$TMP/victim")" ] || fail "the dump followed a link: $(ls -l "$TMP/victim")"

# 6. A full file system: a dump that does not fit leaves nothing behind.
if [ "$(id -u)" -eq 0 ] && mkdir "$TMP/small" && mount -t tmpfs -o size=64k tmpfs "$TMP/small" 2>/dev/null; then
    trap 'rc=$?; umount "$TMP/small" 2>/dev/null; (exit $rc); cleanup' EXIT
    TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/small/dump-%p.json" start small "$MANY" --tasks 2000
    i=0
    while [ "$i" -lt 5 ]; do
        kill -USR2 "$PID" || fail "kill -USR2 (small)"
        i=$((i + 1))
        for _ in $(seq 200); do [ "$(grep -c 'partial file is removed' "$TMP/small.err")" -ge "$i" ] && break; sleep 0.05; done
    done
    [ "$(grep -c "No space left on device (the partial file is removed)" "$TMP/small.err")" -eq 5 ] ||
        fail "5 failed dumps not said: $(cat "$TMP/small.err")"
    [ -z "$(ls -A "$TMP/small")" ] || fail "a full file system kept files: $(ls -l "$TMP/small")"
    kill -0 "$PID" || fail "the target died on a full file system"
    kill -9 "$PID"
    umount "$TMP/small" || harness_error "umount"
else
    echo "SKIP: the full file system (it needs root and mount -t tmpfs)" >&2
fi
exit 0
