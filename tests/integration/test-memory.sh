#!/bin/sh
# A dump's records cost the target memory only until the tool has read them:
# after the dump of 20,000 tasks the target's RSS returns to what it was.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"; }

start many "$top_builddir/examples/many_tasks" --tasks 20000
before=$(rss "$PID")
attach --json "$PID"; expect_rc 0
[ "$(printf '%s\n' "$OUT" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["tasks"]))')" = 20000 ] ||
    fail "not 20000 tasks"
# 20,000 records of 512 bytes were written; they must be given back.
for _ in $(seq 100); do
    now=$(rss "$PID")
    [ $((now - before)) -lt 4096 ] && exit 0
    sleep 0.05
done
fail "target RSS grew from $before kB to $now kB and stayed there"
