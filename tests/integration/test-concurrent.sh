#!/bin/sh
# Many dumps of one process at once: each tool gets the whole tree, none
# reports a false failure.  Eight tools, each dumping ROUNDS times in a
# row (TASKTRACE_TEST_ROUNDS, 10 by default; 50 for a long run by hand).
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
ROUNDS=${TASKTRACE_TEST_ROUNDS:-10}
start taskdump "$top_builddir/examples/taskdump"

tools=
for i in 1 2 3 4 5 6 7 8; do
    (
        for r in $(seq "$ROUNDS"); do
            rc=0
            "$ATTACH" --no-source --timeout 10 "$PID" >"$TMP/c$i.$r.out" 2>"$TMP/c$i.$r.err" || rc=$?
            echo "$rc" >"$TMP/c$i.$r.rc"
        done
    ) &
    tools="$tools $!"
done
# Not a bare wait: the target is a background job too.
for p in $tools; do wait "$p"; done

bad=0
for i in 1 2 3 4 5 6 7 8; do
    for r in $(seq "$ROUNDS"); do
        if [ "$(cat "$TMP/c$i.$r.rc")" != 0 ] ||
            ! grep -q '^              └╼ pending_poll$' "$TMP/c$i.$r.out" ||
            [ "$(grep -c '╼' "$TMP/c$i.$r.out")" -ne 8 ]; then
            bad=$((bad + 1))
            echo "dump $i.$r: exit $(cat "$TMP/c$i.$r.rc"): $(cat "$TMP/c$i.$r.err")" >&2
        fi
    done
done
[ "$bad" -eq 0 ] || fail "$bad of $((8 * ROUNDS)) concurrent dumps failed"
kill -0 "$PID" || fail "target died"
exit 0
