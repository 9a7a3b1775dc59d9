#!/bin/sh
# Offline symbolization: the JSON's build_id, offset and modules let
# eu-addr2line find the same function and line in an unstripped copy of a
# binary that was dumped (PIE and non-PIE); --symbolize prints a saved dump
# whose names were blanked out as the live dump printed it, finds a module
# stripped after the dump through its debug link, refuses a file whose
# build id differs and says so once, escaped, and refuses bad input.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
command -v eu-addr2line >/dev/null || { echo "SKIP: eu-addr2line (elfutils) not installed" >&2; exit 77; }
command -v objcopy >/dev/null && command -v strip >/dev/null ||
    { echo "SKIP: binutils (objcopy, strip) not installed" >&2; exit 77; }
T="$top_builddir/tests/integration/target"
need_program "$T"

# check_offsets FILE JSON UNSTRIPPED: every frame of FILE in the task
# "foo" has offset = pc - base of its module entry, and eu-addr2line on
# UNSTRIPPED at offset - 1 (the call instruction) names the out-of-line
# function of the address and the innermost frame's file and line.
check_offsets() {
    "$PYTHON" - "$1" "$2" "$3" <<'EOF' || fail "offsets of $1 do not symbolize to the live frames"
import json, shutil, subprocess, sys
path, doc, unstripped = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
mods = [m for m in doc["modules"] if m["path"] == path]
assert len(mods) == 1, doc["modules"]
base = int(mods[0]["base"], 16)
want = subprocess.run(["eu-readelf", "-n", unstripped], capture_output=True, text=True).stdout
assert mods[0]["build_id"] and mods[0]["build_id"] in want, (mods[0], want)
groups = []
for task in doc["tasks"]:
    for stack in task["stacks"]:
        for f in stack:
            if f["module"] != path:
                continue
            assert f["build_id"] == mods[0]["build_id"], f
            assert int(f["offset"], 16) == int(f["pc"], 16) - base, f
            if f["inlined"] and groups and groups[-1][-1]["pc"] == f["pc"]:
                groups[-1].append(f)
            else:
                groups.append([f])
assert len(groups) >= 3, groups
addrs = ["0x%x" % (int(g[0]["offset"], 16) - 1) for g in groups]
out = subprocess.run(["eu-addr2line", "-f", "-e", unstripped] + addrs,
                     capture_output=True, text=True, check=True).stdout.splitlines()
assert len(out) == 2 * len(groups), out
for i, g in enumerate(groups):
    fn, where = out[2 * i], out[2 * i + 1]
    if where.startswith("??") and shutil.which("addr2line"):
        # elfutils finds a unit through .debug_aranges, which clang does
        # not write; binutils' addr2line reads every unit.
        fn, where = subprocess.run(["addr2line", "-f", "-e", unstripped, addrs[i]],
                                   capture_output=True, text=True,
                                   check=True).stdout.splitlines()[:2]
        where = where.split(" ")[0]
    assert fn == g[0]["function"], (fn, g)
    file, line = where.split(":")[0], int(where.split(":")[1])
    assert file == g[-1]["file"] and line == g[-1]["line"], (where, g)
print("%d addresses symbolized offline as live" % len(groups))
EOF
}

# blank JSON OUT: the dump with every function, file, line and column null.
blank() {
    "$PYTHON" - "$1" "$2" <<'EOF' || harness_error "cannot rewrite $1"
import json, sys
doc = json.load(open(sys.argv[1]))
for task in doc["tasks"]:
    for stack in task["stacks"] + ([task["thread_stack"]] if task.get("thread_stack") else []):
        for f in stack:
            f["function"] = f["file"] = f["line"] = f["column"] = None
json.dump(doc, open(sys.argv[2], "w"))
EOF
}

trees() {
    grep '╼' "$1" || true
}

# A PIE: dumped live, then stripped with its debug info split out.
cp "$T" "$TMP/pie"
cp "$T" "$TMP/pie.full"
start pie "$TMP/pie" idle
attach --json "$PID"; expect_rc 0
printf '%s\n' "$OUT" >"$TMP/pie.json"
attach "$PID"; expect_rc 0
printf '%s\n' "$OUT" >"$TMP/pie.txt"
[ "$(trees "$TMP/pie.txt" | wc -l)" -ge 3 ] || fail "no tree: $OUT"
check_offsets "$TMP/pie" "$TMP/pie.json" "$TMP/pie.full"
# The file is busy while it runs.
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
objcopy --only-keep-debug "$TMP/pie" "$TMP/pie.debug"
strip --strip-all "$TMP/pie"
objcopy --add-gnu-debuglink="$TMP/pie.debug" "$TMP/pie"
blank "$TMP/pie.json" "$TMP/pie.blank.json"
grep -q '"function":"foo_poll"' "$TMP/pie.blank.json" && harness_error "the names were not blanked"
attach --symbolize "$TMP/pie.blank.json"; expect_rc 0
[ -z "$ERR" ] || fail "--symbolize: unexpected stderr: $ERR"
printf '%s\n' "$OUT" >"$TMP/sym.txt"
trees "$TMP/pie.txt" >"$TMP/want"
trees "$TMP/sym.txt" | diff -u "$TMP/want" - || fail "--symbolize: not the live trees"
# The same from stdin, and as JSON: the frames the live dump had.
"$ATTACH" --symbolize - --json <"$TMP/pie.blank.json" >"$TMP/sym.json" ||
    fail "--symbolize - --json failed"
"$PYTHON" - "$TMP/pie.json" "$TMP/sym.json" <<'EOF' || fail "--symbolize --json: not the live frames"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("function", "file", "line", "column", "inlined", "module", "build_id", "offset")
fa = [[tuple(f[k] for k in keys) for f in s] for t in a["tasks"] for s in t["stacks"]]
fb = [[tuple(f[k] for k in keys) for f in s] for t in b["tasks"] for s in t["stacks"]]
assert fa == fb, (fa, fb)
assert [t["id"] for t in a["tasks"]] == [t["id"] for t in b["tasks"]]
EOF

# A live thread stack (a task stuck inside a poll): its last frame is
# where the thread was, looked up at pc itself, the others at pc - 1.
start block "$T" block
attach --timeout 0.5 --json "$PID"; expect_rc 1
printf '%s\n' "$OUT" >"$TMP/block.json"
blank "$TMP/block.json" "$TMP/block.blank.json"
attach --symbolize "$TMP/block.blank.json" --json; expect_rc 1
printf '%s\n' "$OUT" >"$TMP/block.sym.json"
"$PYTHON" - "$TMP/block.json" "$TMP/block.sym.json" <<'EOF' || fail "--symbolize: not the live thread stack"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("function", "file", "line", "column", "inlined", "module", "pc")
live = [[tuple(f[k] for k in keys) for f in t["thread_stack"]] for t in a["tasks"] if t["thread_stack"]]
got = [[tuple(f[k] for k in keys) for f in t["thread_stack"]] for t in b["tasks"] if t["thread_stack"]]
assert live and live[0] and live[0][-1][0] is not None, live
assert live == got, (live, got)
assert [p["cause"] for p in a["problems"]] == [p["cause"] for p in b["problems"]], b["problems"]
EOF

# A build id that differs: the file is not used, said once, exit 1, and
# its frames keep what the dump says (bare module+offset here).
"$PYTHON" - "$TMP/pie.blank.json" "$TMP/other.json" <<'EOF' || harness_error "cannot rewrite"
import json, sys
doc = json.load(open(sys.argv[1]))
for m in doc["modules"]:
    m["build_id"] = "00" * 20
for task in doc["tasks"]:
    for stack in task["stacks"]:
        for f in stack:
            if f["build_id"]:
                f["build_id"] = "00" * 20
json.dump(doc, open(sys.argv[2], "w"))
EOF
attach --symbolize "$TMP/other.json"; expect_rc 1
expect_err "^tasktrace-attach: [0-9]+ modules? of the dump could not be used, .*$TMP/pie \(its build id differs\)"
printf '%s\n' "$OUT" | grep -q '╼ pie+0x[0-9a-f]*$' || fail "not module+offset: $OUT"
printf '%s\n' "$OUT" | grep -q '^incomplete: .*could not be used' || fail "no incomplete line: $OUT"
attach --symbolize "$TMP/other.json" --json; expect_rc 1
printf '%s\n' "$OUT" | grep -q '"cause":"modules_missing"' || fail "no modules_missing: $OUT"

# A module path with terminal escapes is named escaped.
"$PYTHON" - "$TMP/pie.blank.json" "$TMP/evil.json" <<'EOF' || harness_error "cannot rewrite"
import json, sys
doc = json.load(open(sys.argv[1]))
for task in doc["tasks"]:
    for stack in task["stacks"]:
        for f in stack:
            f["module"] = "/nonexistent/\x1b]0;evil\x07"
json.dump(doc, open(sys.argv[2], "w"))
EOF
attach --symbolize "$TMP/evil.json"; expect_rc 1
expect_err 'nonexistent/\\x1b\]0;evil\\x07 \(no such file\)'
printf '%s%s' "$OUT" "$ERR" | grep -q "$(printf '\033')" && fail "a raw escape was printed"

# Not a dump, or one past the reader's bounds: exit 2, one line.
printf '{"tasks": [' >"$TMP/cut.json"
attach --symbolize "$TMP/cut.json"; expect_rc 2
expect_err "^tasktrace-attach: cannot read the dump .*cut.json: line 1, column 12: the document ends early$"
"$PYTHON" -c 'print("[" * 100 + "]" * 100)' >"$TMP/deep.json"
attach --symbolize "$TMP/deep.json"; expect_rc 2
expect_err "nested deeper than 64"
printf '{"version":1}' >"$TMP/other-doc.json"
attach --symbolize "$TMP/other-doc.json"; expect_rc 2
expect_err 'not a tasktrace-attach dump: no "tasks" array'
attach --symbolize "$TMP/missing.json"; expect_rc 2
expect_err "cannot read the dump .*missing.json: No such file or directory"
attach --symbolize "$TMP/pie.json" 123; expect_rc 64

# What is not a regular file is refused before it is read, at once: a FIFO
# with no writer (which a blocking open would wait on forever), a device
# that never ends.  timeout makes a hang a failure (124), not a stall;
# /usr/bin/time, when there is one, gives the tool's peak memory (RSS,
# KiB), which shows what it read.
need_program timeout
# AddressSanitizer keeps freed buffers in quarantine, so its peak RSS says
# nothing about what the tool read: the bound on RSS is checked only in a
# build without it (exit codes and messages are checked in both).
asan=
sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile" | grep -q -- '-fsanitize=[a-z,]*address' && asan=1
[ -z "$asan" ] || echo "note: built with AddressSanitizer: the RSS bounds of --symbolize are not checked"
attach_bounded() {
    limit=$1
    shift
    RC=0
    if [ -x /usr/bin/time ]; then
        timeout 60 /usr/bin/time -f "maxrss %M" "$ATTACH" "$@" >"$TMP/attach.out" \
            2>"$TMP/attach.err" || RC=$?
    else
        echo "SKIP: /usr/bin/time is not installed: the memory of $* is not measured" >&2
        timeout 60 "$ATTACH" "$@" >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
    fi
    OUT=$(cat "$TMP/attach.out")
    ERR=$(grep -v -e '^maxrss ' -e '^Command exited with non-zero status ' "$TMP/attach.err")
    RSS=$(sed -n 's/^maxrss //p' "$TMP/attach.err")
    [ -z "$RSS" ] || [ -n "$asan" ] || [ "$RSS" -lt "$limit" ] ||
        fail "$* read past its bound: max RSS $RSS KiB"
}
mkfifo "$TMP/fifo" || harness_error "mkfifo"
for f in "$TMP/fifo" /dev/zero; do
    start_s=$(date +%s)
    attach_bounded $((64 * 1024)) --symbolize "$f"; expect_rc 2
    expect_err "^tasktrace-attach: cannot read the dump $f: not a regular file$"
    [ $(($(date +%s) - start_s)) -le 5 ] || fail "--symbolize $f took more than 5 s"
done
# A file past the reader's 512 MiB is refused unread: a sparse one of 600
# MiB does not make the tool read (or hold) 600 MiB, nor 512.
truncate -s 600M "$TMP/big.json" || harness_error "truncate"
attach_bounded $((64 * 1024)) --symbolize "$TMP/big.json"; expect_rc 2
expect_err "^tasktrace-attach: cannot read the dump .*big.json: the document is larger than 512 MiB$"
# So is the same file on standard input, which says its size too.
attach_bounded $((64 * 1024)) --symbolize - <"$TMP/big.json"; expect_rc 2
expect_err "^tasktrace-attach: cannot read the dump -: the document is larger than 512 MiB$"
# A pipe is read up to one byte past the bound, no further: the peak stays
# near 512 MiB, not the 1 GiB a doubling buffer reaches.
cat /dev/zero >"$TMP/fifo" &
PIDS="$PIDS $!"
attach_bounded $((600 * 1024)) --symbolize - <"$TMP/fifo"; expect_rc 2
expect_err "^tasktrace-attach: cannot read the dump -: the document is larger than 512 MiB$"

# A non-PIE executable (ET_EXEC): base 0, offset = pc, the same lookups.
core="$top_builddir/libtargetrt/.libs/libtrt_core.a"
[ -f "$core" ] || harness_error "$core not built"
flags=$(sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile" | tr ' ' '\n' | grep -- '^-fsanitize' | tr '\n' ' ')
CC=${CC:-cc}
# shellcheck disable=SC2086
"$CC" -O2 -g -fno-omit-frame-pointer -no-pie $flags -I"$top_srcdir/libtargetrt/include" \
    -I"$top_srcdir/protocol" -o "$TMP/exec" "$top_srcdir/tests/integration/target.c" "$core" \
    -pthread || harness_error "cannot build a non-PIE target"
readelf -h "$TMP/exec" | grep -q 'Type:.*EXEC' || { echo "SKIP: $CC -no-pie made no ET_EXEC" >&2; exit 77; }
cp "$TMP/exec" "$TMP/exec.full"
start exec "$TMP/exec" idle
attach --json "$PID"; expect_rc 0
printf '%s\n' "$OUT" >"$TMP/exec.json"
attach "$PID"; expect_rc 0
printf '%s\n' "$OUT" >"$TMP/exec.txt"
"$PYTHON" - "$TMP/exec.json" "$TMP/exec" <<'EOF' || fail "ET_EXEC: base is not 0"
import json, sys
doc = json.load(open(sys.argv[1]))
assert [m["base"] for m in doc["modules"] if m["path"] == sys.argv[2]] == ["0x0"], doc["modules"]
EOF
check_offsets "$TMP/exec" "$TMP/exec.json" "$TMP/exec.full"
blank "$TMP/exec.json" "$TMP/exec.blank.json"
attach --symbolize "$TMP/exec.blank.json"; expect_rc 0
printf '%s\n' "$OUT" >"$TMP/sym.txt"
trees "$TMP/exec.txt" >"$TMP/want"
trees "$TMP/sym.txt" | diff -u "$TMP/want" - || fail "ET_EXEC --symbolize: not the live trees"
exit 0
