#!/bin/sh
# Futures whose poll ends in `return trt_future_poll(&inner, cx);` leave no
# frame at -O2: the dump restores them from the runtime's chain of polled
# futures, marked [tail call], and the same under join and select.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
command -v objdump >/dev/null || { echo "SKIP: objdump (binutils) is needed to check the tail calls" >&2; exit 77; }
BIN="$top_builddir/tests/integration/.libs/tailcall_target"
[ -x "$BIN" ] || BIN="$top_builddir/tests/integration/tailcall_target"
need_program "$BIN"

# The premise, or the test could pass by accident: each wrapper's poll is
# a jump to trt_future_poll, with no call of its own.
objdump -d --no-show-raw-insn "$BIN" >"$TMP/dis" || harness_error "objdump -d $BIN failed"
for f in chain_outer_poll chain_middle_poll chain_inner_poll; do
    sed -n "/<$f>:/,/^\$/p" "$TMP/dis" >"$TMP/$f.s"
    [ -s "$TMP/$f.s" ] || harness_error "$f is not in $BIN"
    # A sanitizer's checks put calls into every function: no tail call left.
    if grep -qE '__(asan|ubsan|tsan|msan)_' "$TMP/$f.s"; then
        echo "SKIP: $f is instrumented by a sanitizer (CFLAGS has -fsanitize), which leaves no tail call to test" >&2
        exit 77
    fi
    grep -qE 'jmp.*<trt_future_poll' "$TMP/$f.s" ||
        harness_error "$f does not end in a jump to trt_future_poll (built without -O2?): $(cat "$TMP/$f.s")"
    grep -q 'call' "$TMP/$f.s" && harness_error "$f calls: $(cat "$TMP/$f.s")"
done

start tailcall "$top_builddir/tests/integration/tailcall_target"
attach --no-group --no-source "$PID"
expect_rc 0
printf '%s\n' "$OUT" | sed -n '/^task/,/^$/p' |
    sed 's/ idle .* since last poll, [0-9]* polls\{0,1\}$/ idle/' >"$TMP/got"
cat >"$TMP/want" <<'TREE'
task 1 "chain" idle
  spawned at main
╼ chain_outer_poll [tail call]
  └╼ chain_middle_poll [tail call]
     └╼ chain_inner_poll [tail call]
        └╼ trt_pending_poll

task 2 "joined" idle
  spawned at main
╼ trt_join_poll
  ├╼ chain_inner_poll [tail call]
  │  └╼ trt_pending_poll ×2
  └╼ trt_select_poll
     └╼ chain_inner_poll [tail call]
        └╼ trt_pending_poll

TREE
diff -u "$TMP/want" "$TMP/got" || fail "the tail-called futures are not restored"

# JSON: the restored frames say tail_call, at their own function's source;
# the others do not carry the key.
attach --no-group --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
t = d["tasks"][0]
assert t["name"] == "chain", t["name"]
s = t["stacks"][0]
names = [(f["function"], f.get("tail_call", False)) for f in s]
assert names == [("chain_outer_poll", True), ("chain_middle_poll", True),
                 ("chain_inner_poll", True), ("trt_pending_poll", False)], names
src = open(sys.argv[1]).read().split("\n")
for f in s[:3]:
    # No call site is left: the frame stands at the function declaration.
    assert f["file"].endswith("tailcall_target.c") and f["line"] > 0, f
    assert f["function"] + "(" in src[f["line"] - 1], (f, src[f["line"] - 1])
    assert f["column"] is None, f
' "$top_srcdir/tests/integration/tailcall_target.c" || fail "JSON tail_call frames"

# --raw shows what was unwound, nothing restored.
attach --no-group --raw --no-source "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -q 'tail call' && fail "--raw restored frames: $OUT"
kill -0 "$PID" || fail "target died"

# A process that mapped its executable and libtargetrt.so a second time,
# whole and read-only (as a symbolizer does): the modules and the control
# block are found where the loader put them, the same tree with its
# sources, live and from a core.
start remapped "$top_builddir/tests/integration/tailcall_target" --remapped
for f in tailcall_target libtargetrt.so; do
    [ "$(grep -c "r--p 00000000 .*/$f" "/proc/$PID/maps")" -ge 2 ] ||
        harness_error "--remapped did not map $f twice: $(cat "/proc/$PID/maps")"
done
attach --no-group --no-source "$PID"
expect_rc 0
printf '%s\n' "$OUT" | sed -n '/^task/,/^$/p' |
    sed 's/ idle .* since last poll, [0-9]* polls\{0,1\}$/ idle/' >"$TMP/got-remapped"
diff -u "$TMP/want" "$TMP/got-remapped" || fail "remapped: not the tree: $OUT"
attach --no-group "$PID"
expect_rc 0
inner_line=$(grep -n 'static __attribute__((noinline)) trt_poll chain_inner_poll' \
    "$top_srcdir/tests/integration/tailcall_target.c" | cut -d: -f1)
printf '%s\n' "$OUT" | grep -q "chain_inner_poll at .*tailcall_target.c:$inner_line \[tail call\]" ||
    fail "remapped: chain_inner_poll is not at tailcall_target.c:$inner_line: $OUT"
if command -v gcore >/dev/null 2>&1 && ! grep -q __asan_init "$BIN"; then
    attach --gcore "$TMP/remapped.core" --no-group --no-source "$PID"
    expect_rc 0
    # The core holds the registry, not a dump's stacks: the tasks, their
    # spawn sites symbolized.
    attach --core "$TMP/remapped.core" --no-group --no-source
    expect_rc 0
    printf '%s\n' "$OUT" | grep -A1 '^task ' | grep -v '^--' |
        sed 's/ idle .* since last poll, [0-9]* polls\{0,1\}$/ idle/' >"$TMP/got-core"
    printf '%s\n' 'task 1 "chain" idle' '  spawned at main' 'task 2 "joined" idle' \
        '  spawned at main' >"$TMP/want-core"
    diff -u "$TMP/want-core" "$TMP/got-core" || fail "remapped core: not its tasks: $OUT"
else
    echo "SKIP: gdb's gcore is not installed (or ASan): the remapped core is not read" >&2
fi
kill -0 "$PID" || fail "target died"
exit 0
