#!/bin/sh
# The /proc/PID/mem fallback, used where process_vm_readv is refused: the
# test hook TASKTRACE_ATTACH_FORCE_PROC_MEM makes every read take it, and
# the dump must be the same.  Under strace, the reads must really have gone
# through /proc/PID/mem.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
start target "$top_builddir/tests/integration/target" idle

# The idle time and the summary's times differ from one dump to the next.
norm() {
    printf '%s\n' "$1" | sed -e 's/ idle [^ ]* since / idle T since /' \
        -e 's/longest idle [^ ]* /longest idle T /' -e 's/dumped in .*/dumped in T/'
}
attach --no-source "$PID"
expect_rc 0
want=$(norm "$OUT")

RC=0
if command -v strace >/dev/null; then
    # LeakSanitizer (in sanitizer builds) cannot run under ptrace.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        TASKTRACE_ATTACH_FORCE_PROC_MEM=1 strace -f -qq -o "$TMP/strace.log" \
        -e trace=process_vm_readv,pread64,openat "$ATTACH" --no-source "$PID" \
        >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
else
    TASKTRACE_ATTACH_FORCE_PROC_MEM=1 "$ATTACH" --no-source "$PID" \
        >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
fi
OUT=$(cat "$TMP/attach.out")
ERR=$(cat "$TMP/attach.err")
expect_rc 0
[ -z "$ERR" ] || fail "unexpected stderr: $ERR"
[ "$(norm "$OUT")" = "$want" ] || fail "the dump through /proc/PID/mem differs:
$OUT
--- through process_vm_readv:
$want"
printf '%s\n' "$OUT" | grep -q '└╼ leaf_poll$' || fail "no leaf frame: $OUT"

if [ -f "$TMP/strace.log" ]; then
    grep -q "openat(.*\"/proc/$PID/mem\"" "$TMP/strace.log" ||
        fail "/proc/$PID/mem was not opened: $(cat "$TMP/strace.log")"
    grep -q '^[0-9]* *pread64(' "$TMP/strace.log" || fail "no pread64 of /proc/PID/mem"
    if grep -q 'process_vm_readv(' "$TMP/strace.log"; then
        fail "process_vm_readv still used: $(grep process_vm_readv "$TMP/strace.log" | head -3)"
    fi
else
    echo "SKIP: strace is not installed: the fallback is checked by its result only, not by its syscalls" >&2
fi
exit 0
