#!/bin/sh
# What reaches the user's terminal: the target's bytes escaped on stderr as
# on stdout; a closed pipe ends the tool quietly; Ctrl-C prints what was
# collected; processes that cannot be dumped are named for what they are.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
T="$top_builddir/tests/integration/target"
ESC=$(printf '\033')
BEL=$(printf '\007')

# A stuck task whose name holds terminal escapes: the timeout line escapes
# them as the text view does.
start esc "$T" block-esc
attach --timeout 0.5 "$PID"; expect_rc 1
expect_err 'timed out after 0.5 s: 1 of 2 tasks did not report: 2 "esc\\x1b\]0;owned\\x07\\x1b\[2Jx"'
case "$ERR" in *"$ESC"* | *"$BEL"*) fail "raw escape bytes on stderr: $ERR" ;; esac
printf '%s\n' "$OUT" | grep -qF 'task 2 "esc\x1b]0;owned\x07\x1b[2Jx"' ||
    fail "text view: $OUT"

# A process whose name holds an escape: "is not a tasktrace process".
cp /bin/sleep "$TMP/sl${ESC}[31mp"
"$TMP/sl${ESC}[31mp" 300 & PIDS="$PIDS $!"
sleep 0.2
attach $!; expect_rc 2
expect_err 'PID [0-9]+ \(sl\\x1b\[31mp\) is not a tasktrace process'
case "$ERR" in *"$ESC"*) fail "raw ESC on stderr: $ERR" ;; esac

# A reader that stops after one line: no message, the dump's status.
start fan "$T" many-stacks
{ rc=0; "$ATTACH" --timeout 120 --task fan "$PID" 2>"$TMP/pipe.err" || rc=$?
  echo "$rc" >"$TMP/pipe.rc"; } | head -n 1 >"$TMP/pipe.out"
grep -q '^task 1 "fan"' "$TMP/pipe.out" || fail "| head -1: $(cat "$TMP/pipe.out")"
[ -s "$TMP/pipe.err" ] && fail "| head -1 wrote on stderr: $(cat "$TMP/pipe.err")"
[ "$(cat "$TMP/pipe.rc")" = 0 ] || fail "| head -1: exit $(cat "$TMP/pipe.rc")"

# Ctrl-C during a long wait: what was collected, and why it is partial.
start bl "$T" block
"$ATTACH" --timeout 120 "$PID" >"$TMP/int.out" 2>"$TMP/int.err" &
tool=$!
# Once the dump is under way: the tool waits for the stuck task (and has
# had time to read the one that reported).
wait_sleeping "$tool" "its wait for the tasks"
sleep 0.3
kill -INT "$tool"
RC=0; wait "$tool" || RC=$?
OUT=$(cat "$TMP/int.out"); ERR=$(cat "$TMP/int.err")
expect_rc 1
expect_err 'interrupted by SIGINT after [0-9.]+ s: 1 of 2 tasks did not report: 2 "stuck"'
printf '%s\n' "$OUT" | grep -q '^task 1 "ok" idle' || fail "SIGINT: no task 1: $OUT"
printf '%s\n' "$OUT" | grep -q '^     └╼ leaf_poll' || fail "SIGINT: task 1's tree is missing: $OUT"
printf '%s\n' "$OUT" | grep -q '^incomplete: interrupted by SIGINT' || fail "SIGINT: not marked: $OUT"

# A kernel thread (kthreadd is PID 2 where the kernel's threads are visible).
kthread=
for st in /proc/[0-9]*/stat; do
    # Field 9, counted after the comm's closing parenthesis, holds PF_KTHREAD.
    f=$(sed 's/.*) //' "$st" 2>/dev/null | cut -d' ' -f7)
    [ -n "$f" ] && [ $((f & 0x200000)) -ne 0 ] && { kthread=${st#/proc/}; kthread=${kthread%/stat}; break; }
done
if [ -n "$kthread" ]; then
    attach "$kthread"; expect_rc 2; expect_err "PID $kthread \(.*\) is a kernel thread"
else
    echo "SKIP: no kernel thread is visible here: that case is not checked" >&2
fi

# A zombie: its parent never reaps it.  The child exits a second after the
# parent has become `sleep 300`, so the shell cannot reap it first.
sh -c 'sleep 1 & echo $! >"$1"; exec sleep 300' sh "$TMP/zombie" & PIDS="$PIDS $!"
for _ in $(seq 200); do
    z=$(cat "$TMP/zombie" 2>/dev/null)
    [ -n "$z" ] && grep -q '^State:.*Z' /proc/"$z"/status 2>/dev/null && break
    sleep 0.05
done
attach "$z"; expect_rc 2; expect_err "PID $z \(sleep\) is a zombie"

# A thread id: the doorbell thread of a target.
start idle "$T" idle
tid=$(for t in /proc/"$PID"/task/*; do
    [ "$(cat "$t/comm")" = tasktrace ] && basename "$t"; done)
[ -n "$tid" ] || fail "no doorbell thread in $PID"
attach "$tid"; expect_rc 2
expect_err "PID $tid is thread $tid of process $PID, not a process: dump $PID instead"
exit 0
