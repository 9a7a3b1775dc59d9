#!/bin/sh
# examples/taskdump: the seed's tree, from outside the process.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
start taskdump "$top_builddir/examples/taskdump"

attach --no-source "$PID"
expect_rc 0
[ -z "$ERR" ] || fail "stderr on a complete dump: $ERR"
# The times vary from one dump to the next.
norm() {
    sed -e 's/ idle .* since last poll, [0-9]* polls\{0,1\}$/ idle/' \
        -e 's/longest idle [^ ]* /longest idle T /' -e 's/dumped in .*/dumped in T/'
}
printf '%s\n' "$OUT" | norm >"$TMP/got"
expect_output taskdump-tree "$TMP/got" "$PID=PID"

# With sources: every frame names its file, line and column.
attach "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep '╼' >"$TMP/frames"
[ "$(wc -l <"$TMP/frames")" -eq 8 ] || fail "expected 8 frames: $OUT"
grep -v -E '╼ [a-z_]+ at /.+\.c:[0-9]+:[0-9]+$' "$TMP/frames" && fail "frame without file:line:col"
grep -q "╼ foo_poll at $top_srcdir/examples/taskdump.c:" "$TMP/frames" ||
    grep -q '╼ foo_poll at .*examples/taskdump.c:' "$TMP/frames" || fail "foo_poll location: $OUT"
# Runtime and ABI frames are trimmed by default, kept with --raw.
printf '%s\n' "$OUT" | grep -E '╼ (trt__|trt_waker|trt_future_poll|main |trt_exec)' && fail "runtime frames shown"
attach --raw --no-source "$PID"
expect_rc 0
for f in main trt__traced_poll_tracing trt__tracer_clone trt__capture; do
    printf '%s\n' "$OUT" | grep -q "╼ $f" || fail "--raw lacks $f: $OUT"
done

# Exactly two leaves, one per pending_poll.
attach --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
t = d["tasks"]
assert d["complete"] is True, d
assert len(t) == 1 and t[0]["name"] == "foo", t
stacks = t[0]["stacks"]
assert len(stacks) == 2, len(stacks)
names = sorted(" ".join(f["function"] for f in s) for s in stacks)
assert names == ["foo_poll bar_poll trt_join_poll buz_poll baz_poll pending_poll",
                 "foo_poll bar_poll trt_join_poll fiz_poll pending_poll"], names
' || fail "JSON stacks"

# Colour only when asked (stdout is a file here).
attach --color=always "$PID"
printf '%s\n' "$OUT" | grep -q "$(printf '\033')\[" || fail "--color=always has no escapes"
attach "$PID"
printf '%s\n' "$OUT" | grep -q "$(printf '\033')" && fail "auto colour into a file"

# Several tools at once: each gets the whole tree.
tools=
for i in 1 2 3 4 5 6; do
    ( rc=0; "$ATTACH" --no-source "$PID" >"$TMP/par$i.out" 2>"$TMP/par$i.err" || rc=$?
      echo "$rc" >"$TMP/par$i.rc" ) &
    tools="$tools $!"
done
# Not a bare wait: the target is a background job too.
for p in $tools; do wait "$p"; done
for i in 1 2 3 4 5 6; do
    [ "$(cat "$TMP/par$i.rc")" = 0 ] || fail "concurrent dump $i: $(cat "$TMP/par$i.err")"
    norm <"$TMP/par$i.out" >"$TMP/par$i.got"
    expect_output taskdump-tree "$TMP/par$i.got" "$PID=PID"
done

# The target keeps running and stays dumpable, dump after dump.
for _ in 1 2 3; do attach "$PID"; expect_rc 0; done
kill -0 "$PID" || fail "target died"
exit 0
