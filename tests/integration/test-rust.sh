#!/bin/sh
# bindings/rust/examples/taskdump.rs: a tokio program whose one traced task
# is foo -> bar -> join!(fiz -> Pending, buz -> baz -> Pending), dumped from
# outside with the real tool.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/bindings/rust/tests-env.sh"
require_ptrace
src=$top_srcdir/bindings/rust/examples/taskdump.rs
start taskdump "$RS_BIN/taskdump"

attach --json "$PID"
expect_rc 0
[ -z "$ERR" ] || fail "stderr on a complete dump: $ERR"
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["complete"] is True, d
t = d["tasks"]
assert len(t) == 1 and t[0]["name"] == "foo", [x["name"] for x in t]
assert len(t[0]["stacks"]) == 2, len(t[0]["stacks"])
' || fail "not one complete task foo with two leaves: $OUT"
# Spawned where main calls tasktrace::traced (the crate's function is
# inlined into its caller), not inside the crate.
line=$(grep -n 'tasktrace::traced("foo"' "$src" | cut -d: -f1)
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
s = json.load(sys.stdin)["tasks"][0]["spawned_at"]
assert s and s["function"].startswith("taskdump::main"), s
assert s["file"].endswith("examples/taskdump.rs") and s["line"] == int(sys.argv[1]), s
' "$line" || fail "spawned_at is not the line that called traced: $OUT"
printf '%s\n' "$OUT" | rs_frames >"$TMP/stacks" || fail "JSON stacks"

# The task's own async fns, in order, from the task's future to the leaf:
# the frames named after the example's functions, a run of one name (an
# async fn and the closures inside it) counted once.
"$PYTHON" - "$TMP/stacks" >"$TMP/chains" <<'PY' || fail "reading stacks"
import re, sys
for line in open(sys.argv[1]):
    chain = []
    for f in line.rstrip("\n").split(": ", 1)[1].split(" | "):
        m = re.match(r"taskdump::(\w+)::", f)
        name = m.group(1) if m else ("Pending" if f.startswith("<taskdump::Pending as ") else None)
        if name and (not chain or chain[-1] != name):
            chain.append(name)
    print(" ".join(chain))
PY
sort "$TMP/chains" >"$TMP/got"
printf '%s\n' "foo bar buz baz Pending" "foo bar fiz Pending" >"$TMP/want"
diff -u "$TMP/want" "$TMP/got" || fail "the tree is not foo -> bar -> {fiz, buz -> baz} -> Pending: $(cat "$TMP/stacks")"

# Trimmed: each stack starts at the task's own future, with no scheduler,
# runtime or glue frame, and ends at the leaf (the waker clone is hidden).
grep -E 'tokio::runtime::|tasktrace::|trt_|core::task::wake::Waker|std::panicking' "$TMP/stacks" &&
    fail "scheduler, runtime or glue frames in the default view"
grep -v -E '\| <taskdump::Pending as core::future::future::Future>::poll$' "$TMP/stacks" &&
    fail "a stack does not end at the Pending leaf"

# With sources: the leaf names the line of its waker clone, foo the line
# of its await, in the example's own file.
attach "$PID"
expect_rc 0
clone_line=$(grep -n 'cx.waker().clone()' "$src" | cut -d: -f1)
foo_line=$(grep -n 'bar().await' "$src" | cut -d: -f1)
printf '%s\n' "$OUT" | grep -q "╼ <taskdump::Pending as core::future::future::Future>::poll.* at .*bindings/rust/examples/taskdump.rs:$clone_line:" ||
    fail "the leaf is not at taskdump.rs:$clone_line: $OUT"
printf '%s\n' "$OUT" | grep -q "╼ taskdump::foo::.* at .*bindings/rust/examples/taskdump.rs:$foo_line:" ||
    fail "foo is not at taskdump.rs:$foo_line: $OUT"

# --raw keeps everything: tokio's scheduler, the glue, the runtime.
attach --raw --no-source "$PID"
expect_rc 0
for f in 'tokio::runtime::' 'tasktrace::Traced<F> as core::future::future::Future>::poll' \
    'tasktrace::tasktrace_rs_poll' trt__traced_poll_tracing trt__tracer_clone; do
    printf '%s\n' "$OUT" | grep -qF "$f" || fail "--raw lacks $f: $OUT"
done

# The target keeps running and stays dumpable, dump after dump.
for _ in 1 2 3; do attach "$PID"; expect_rc 0; done
kill -0 "$PID" || fail "target died"

# After a panic printed with its backtrace: the standard library has
# mapped the program and libtargetrt.so a second time, whole; the tool
# still finds the control block and the modules where the loader put
# them, the same tree at the same lines.
RUST_BACKTRACE=1
export RUST_BACKTRACE
start panicked "$RS_BIN/taskdump" --panic-first
unset RUST_BACKTRACE
grep -q 'a panic before the dump' "$TMP/panicked.err" ||
    harness_error "--panic-first did not panic: $(cat "$TMP/panicked.err")"
[ "$(grep -c 'r--p 00000000 .*/libtargetrt\.so' "/proc/$PID/maps")" -ge 2 ] ||
    harness_error "the panic did not map libtargetrt.so again: $(cat "/proc/$PID/maps")"
attach --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" | rs_frames | grep '^foo: ' >"$TMP/panicked.stacks" || fail "no task foo: $OUT"
"$PYTHON" - "$TMP/panicked.stacks" >"$TMP/panicked.chains" <<'PY' || fail "reading stacks"
import re, sys
for line in open(sys.argv[1]):
    chain = []
    for f in line.rstrip("\n").split(": ", 1)[1].split(" | "):
        m = re.match(r"taskdump::(\w+)::", f)
        name = m.group(1) if m else ("Pending" if f.startswith("<taskdump::Pending as ") else None)
        if name and (not chain or chain[-1] != name):
            chain.append(name)
    print(" ".join(chain))
PY
sort "$TMP/panicked.chains" >"$TMP/panicked.got"
diff -u "$TMP/want" "$TMP/panicked.got" || fail "after a panic, the tree is not foo -> bar -> {fiz, buz -> baz} -> Pending: $OUT"
attach "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -q "╼ <taskdump::Pending as core::future::future::Future>::poll.* at .*bindings/rust/examples/taskdump.rs:$clone_line:" ||
    fail "after a panic, the leaf is not at taskdump.rs:$clone_line: $OUT"
printf '%s\n' "$OUT" | grep -q "╼ taskdump::foo::.* at .*bindings/rust/examples/taskdump.rs:$foo_line:" ||
    fail "after a panic, foo is not at taskdump.rs:$foo_line: $OUT"
exit 0
