#!/bin/sh
# fork() from inside a poll, beside a second executor thread: the child does
# not hang, the parent stays dumpable while the child lives, and the child
# is dumpable once it has created a task, its inherited tasks included.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
start fork "$top_builddir/tests/integration/rt_target" fork
parent=$PID
CHILD=
for _ in $(seq 100); do
    CHILD=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$TMP/fork.out")
    [ -n "$CHILD" ] && break
    sleep 0.05
done
[ -n "$CHILD" ] || fail "the target did not fork: $(cat "$TMP/fork.err")"
PIDS="$PIDS $CHILD"

# names_of FILE: the task names of a JSON dump, sorted, one line.
names_of() {
    "$PYTHON" -c 'import json,sys; print(" ".join(sorted(t["name"] for t in json.load(open(sys.argv[1]))["tasks"])))' "$1"
}

# "napper" was sleeping on a timerfd when the child was forked: it completes
# in both, so the child's executor registered it in its own epoll.
for _ in $(seq 100); do
    grep -q "^napped $parent status 0$" "$TMP/fork.out" &&
        grep -q "^napped $CHILD status 0$" "$TMP/fork.out" && break
    sleep 0.05
done
grep -q "^napped $CHILD status 0$" "$TMP/fork.out" || fail "the child's inherited sleep never fired: $(cat "$TMP/fork.out")"
grep -q "^napped $parent status 0$" "$TMP/fork.out" || fail "the parent's sleep never fired"

# The parent, several times while the child lives: the child must take none
# of its wakes (a shared epoll would let it, and the dump would time out).
for i in 1 2 3 4; do
    attach --json --timeout 5 "$parent"
    expect_rc 0
    printf '%s\n' "$OUT" >"$TMP/p$i.json"
    [ "$(names_of "$TMP/p$i.json")" = "pender sleeper worker" ] || fail "parent dump $i: $OUT"
done
kill -0 "$CHILD" || fail "the child died"

# The child: its own task and the main executor's inherited ones report;
# "worker" is inherited from an executor whose thread the child does not
# have, so nothing polls it: the dump is partial, and says which.
attach --json --timeout 2 "$CHILD"
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "child dump: exit $RC: $ERR"
printf '%s\n' "$OUT" >"$TMP/c.json"
"$PYTHON" - "$TMP/c.json" <<'PY' || fail "child dump: $OUT"
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in d["tasks"]}
assert sorted(t) == ["child-task", "pender", "sleeper", "worker"], sorted(t)
for name, leaf in (("child-task", "trt_sleep_poll"), ("sleeper", "trt_sleep_poll"),
                   ("pender", "trt_pending_poll")):
    assert t[name]["reported"], name
    assert any(s and s[-1]["function"] == leaf for s in t[name]["stacks"]), (name, t[name]["stacks"])
assert not t["worker"]["reported"], t["worker"]
assert d["complete"] is False, d
# The runtime marked what the child inherited (TRT_TASK_F_INHERITED).
assert [n for n in sorted(t) if t[n]["inherited"]] == ["pender", "sleeper", "worker"], d
PY
# The parent is still whole after the child's dump.
attach --json --timeout 5 "$parent"
expect_rc 0
kill -0 "$parent" || fail "the parent died"
kill -0 "$CHILD" || fail "the child died"
exit 0
