#!/bin/sh
# Dumps under a seccomp filter installed after startup.  A dump makes no
# mmap, munmap or madvise (the ring is mapped ahead; see docs/protocol.md,
# "For sandbox authors"), except one mmap to give the pages back, which may
# be refused.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
TARGET="$top_builddir/tests/integration/rt_target"
if [ "$("$TARGET" sanitizer)" = "sanitizer yes" ]; then
    echo "SKIP: built with a sanitizer, whose runtime calls mmap, munmap and madvise itself" >&2
    exit 77
fi

# dump_gen: the generation of the dump in $OUT (a tool's are odd, not the
# dump's number).
dump_gen() { printf '%s\n' "$OUT" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["generation"])'; }
# last_done NAME: the target's last "done G ring_errno E ring_errno_gen R".
last_done() { grep '^done ' "$TMP/$1.out" | tail -n 1; }
wait_done() {
    for _ in $(seq 100); do
        [ "$(last_done "$1" | cut -d' ' -f2)" = "$2" ] && return 0
        sleep 0.05
    done
    fail "$1: generation $2 not done: $(cat "$TMP/$1.out")"
}

# (a) mmap, munmap and madvise fail with EPERM: dumps work, and the target
# lives on after the refused give-back (200 ms after each dump).
start eperm "$TARGET" sandbox-eperm
for i in 1 2 3; do
    attach --json "$PID"
    expect_rc 0
    printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert sorted(t["name"] for t in d["tasks"]) == ["pender", "sleeper", "worker"], d
assert all(t["reported"] and t["stacks"] for t in d["tasks"]), d
' || fail "eperm dump $i: $OUT"
    g=$(dump_gen)
    wait_done eperm "$g"
    [ "$(last_done eperm)" = "done $g ring_errno 0 ring_errno_gen $g" ] ||
        fail "eperm: $(last_done eperm)"
done
sleep 0.5
kill -0 "$PID" || fail "the target died under EPERM: $(cat "$TMP/eperm.err")"

# (a') The same, with 3000 tasks created under the filter: the ring could
# not be enlarged for them, and the runtime says so; the dump still runs.
start grow "$TARGET" sandbox-eperm 3000
attach --json --timeout 5 "$PID"
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "grow: exit $RC: $ERR"
g=$(dump_gen)
wait_done grow "$g"
[ "$(last_done grow)" = "done $g ring_errno 1 ring_errno_gen $g" ] ||
    fail "grow: ring_errno is not EPERM (1): $(last_done grow)"
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert len(d["tasks"]) == 3003, len(d["tasks"])
' || fail "grow: not every task listed"
sleep 0.5
kill -0 "$PID" || fail "the target died after a ring it could not enlarge"

# (b) madvise and munmap kill the process: several dumps, each followed by
# its give-back, and the target lives.
start kill "$TARGET" sandbox-kill
for i in 1 2 3 4; do
    attach --json "$PID"
    expect_rc 0
    wait_done kill "$(dump_gen)"
    sleep 0.3
    kill -0 "$PID" || fail "dump $i killed the target"
done
exit 0
