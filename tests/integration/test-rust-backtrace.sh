#!/bin/sh
# bindings/rust/examples/backtrace.rs: the README's task tree (foo -> bar ->
# join!(fiz -> Pending, buz -> baz -> Pending)) printed by the program
# itself, through tasktrace::TraceHandle::backtrace: a dump taken inside
# the process and symbolized there with the backtrace crate.  On tokio's
# multi-thread runtime, on the single-threaded one (the task asking and
# the task traced share a thread), and from a thread that polls no task
# (backtrace_blocking); the raw dump (tasktrace::dump_raw) is valid JSON
# naming the task; where ptrace is allowed, the tree is the one
# tasktrace-attach prints for the same program.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/bindings/rust/tests-env.sh"
src=$top_srcdir/bindings/rust/examples/backtrace.rs
prog=$RS_BIN/backtrace
need_program "$prog"
need_program timeout
spawn_line=$(grep -n 'traced_with_handle("foo"' "$src" | head -n 1 | cut -d: -f1)
clone_line=$(grep -n 'cx.waker().clone()' "$src" | cut -d: -f1)
foo_line=$(grep -n 'bar().await' "$src" | cut -d: -f1)

# run NAME ARGS...: runs the example, which must exit 0 within a minute
# and write nothing to stderr; its stdout is in $TMP/NAME.out.
run() {
    name=$1
    shift
    rc=0
    timeout 60 "$prog" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
    [ "$rc" -eq 0 ] || fail "backtrace $* exited with $rc: $(cat "$TMP/$name.err")"
    [ -s "$TMP/$name.err" ] && fail "backtrace $* wrote to stderr: $(cat "$TMP/$name.err")"
    return 0
}

# chains FILE: the tree printed in FILE (a task's header, its "spawned at"
# line, then tree lines), as one line per leaf: the functions from the
# root to the leaf, without their " at FILE:LINE:COL".  Checks the lines'
# shape on the way: a header, one root, each line one level at most below
# the one before.
chains() {
    "$PYTHON" - "$1" <<'PY'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "no final newline"
lines = lines[:-1]
# The tree ends where the raw dump's JSON line (--raw) starts.
lines = [l for l in lines if not l.startswith("{")]
assert re.fullmatch(r'task \d+ "foo" idle \S+ since last poll, 1 poll', lines[0]), lines[0]
assert lines[1].startswith("  spawned at "), lines[1]
path, prev, roots = [], -1, 0
out = []
tree = lines[2:]
for i, l in enumerate(tree):
    k = l.index("\u257c")  # the box drawing "╼" every tree line has
    depth = k // 3
    assert k == 3 * depth and (depth > 0 or k == 0), l
    assert depth <= prev + 1, "a line two levels below the one before: %r" % l
    roots += depth == 0
    fn = re.sub(r"( at .*| \[inlined\]| \u00d7\d+)+$", "", l[k + 2:])
    path = path[:depth] + [fn]
    nxt = tree[i + 1].index("\u257c") // 3 if i + 1 < len(tree) else -1
    if nxt <= depth:
        out.append(" | ".join(path))
    prev = depth
assert roots == 1, "%d roots" % roots
print("\n".join(out))
PY
}

# check_tree NAME: the example's tree in $TMP/NAME.out: two leaves, foo ->
# bar -> {fiz, buz -> baz} -> Pending, nothing of the scheduler, the
# crate or the runtime, the spawn, foo's await and the leaf's waker clone
# at their lines of the example's source.
check_tree() {
    out=$TMP/$1.out
    chains "$out" >"$TMP/$1.chains" || fail "$1: not one task's tree: $(cat "$out")"
    "$PYTHON" - "$TMP/$1.chains" >"$TMP/$1.names" <<'PY' || fail "reading chains"
import re, sys
for line in open(sys.argv[1]):
    chain = []
    for f in line.rstrip("\n").split(" | "):
        m = re.match(r"backtrace::(\w+)::", f)
        name = m.group(1) if m else ("Pending" if f.startswith("<backtrace::Pending as ") else None)
        if name and (not chain or chain[-1] != name):
            chain.append(name)
    print(" ".join(chain))
PY
    sort "$TMP/$1.names" >"$TMP/$1.got"
    printf '%s\n' "foo bar buz baz Pending" "foo bar fiz Pending" >"$TMP/want"
    diff -u "$TMP/want" "$TMP/$1.got" ||
        fail "$1: the tree is not foo -> bar -> {fiz, buz -> baz} -> Pending: $(cat "$out")"
    grep -E 'tokio::runtime::|tasktrace::|trt_|core::task::wake::Waker|std::panicking' "$TMP/$1.chains" &&
        fail "$1: scheduler, runtime or glue frames in the tree: $(cat "$out")"
    grep -v -E '\| <backtrace::Pending as core::future::future::Future>::poll$' "$TMP/$1.chains" &&
        fail "$1: a branch does not end at the Pending leaf: $(cat "$out")"
    grep -q "└╼ <backtrace::Pending as core::future::future::Future>::poll at .*bindings/rust/examples/backtrace.rs:$clone_line:" "$out" ||
        fail "$1: the leaf is not at backtrace.rs:$clone_line: $(cat "$out")"
    grep -q "╼ backtrace::foo::.* at .*bindings/rust/examples/backtrace.rs:$foo_line:" "$out" ||
        fail "$1: foo is not at backtrace.rs:$foo_line: $(cat "$out")"
    grep -q "^  spawned at .*bindings/rust/examples/backtrace.rs:[0-9]* (backtrace::" "$out" ||
        fail "$1: no spawned-at line in the example: $(cat "$out")"
}

# 1. From another task on tokio's multi-thread runtime.
run multi
check_tree multi
grep -q "^  spawned at .*backtrace.rs:$spawn_line (backtrace::run::" "$TMP/multi.out" ||
    fail "not spawned at the line that called traced_with_handle ($spawn_line): $(cat "$TMP/multi.out")"

# 2. On the single-threaded runtime: the asking task waits in the dump
#    while the runtime polls the traced one.
run current --current-thread
check_tree current

# 3. From the main thread, which polls no task: backtrace_blocking.
run blocking --blocking
check_tree blocking

# 4. The raw dump of the process, after the tree: one JSON document whose
#    task foo (the id the tree's header shows) reported both leaves, with
#    unsymbolized frames that locate their address.
run raw --raw
check_tree raw
id=$(sed -n 's/^task \([0-9]*\) "foo".*/\1/p' "$TMP/raw.out")
grep '^{' "$TMP/raw.out" >"$TMP/raw.json" || fail "no JSON line after the tree: $(cat "$TMP/raw.out")"
"$PYTHON" - "$TMP/raw.json" "$id" <<'PY' || fail "raw dump: $(head -c 800 "$TMP/raw.json")"
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.count("\n") == 1 and text.endswith("\n"), "not one line"
d = json.loads(text)
assert d["version"] == 1 and d["raw"] is True and d["complete"] is True, d
assert d["problems"] == [] and d["generation"] > 0, d["problems"]
foo = [t for t in d["tasks"] if t["name"] == "foo"]
assert len(foo) == 1 and foo[0]["id"] == int(sys.argv[2]), d["tasks"]
t = foo[0]
assert t["reported"] is True and t["state"] == "idle" and len(t["stacks"]) == 2, t
mods = {m["path"]: int(m["base"], 16) for m in d["modules"]}
for s in t["stacks"]:
    for f in s:
        assert f["function"] is None and f["module"] in mods, f
        assert int(f["pc"], 16) == mods[f["module"]] + int(f["offset"], 16), f
PY

# 5. The tool's view of the same tree: taskdump.rs is this example with
#    traced in place of traced_with_handle and waiting to be dumped.
#    Where ptrace is allowed, its tree, functions only, is this one
#    (without the tool, in a build of the library alone, it is left out).
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
if [ ! -x "$ATTACH" ]; then
    echo "SKIP: tasktrace-attach is not built: the comparison with it is left out" >&2
elif [ "$scope" = 0 ] || { [ "$scope" != 3 ] && [ "$(id -u)" -eq 0 ]; }; then
    start taskdump "$RS_BIN/taskdump"
    attach "$PID"
    expect_rc 0
    printf '%s\n' "$OUT" | sed -n '/^task /,/^$/p' | sed '/^$/d; s/taskdump::/backtrace::/g' >"$TMP/tool.out"
    chains "$TMP/tool.out" >"$TMP/tool.chains" || fail "the tool's tree: $OUT"
    diff -u "$TMP/tool.chains" "$TMP/multi.chains" ||
        fail "the in-process tree differs from tasktrace-attach's: $(cat "$TMP/multi.out")"
else
    echo "SKIP: ptrace is not allowed here: the comparison with tasktrace-attach is left out" >&2
fi
exit 0
