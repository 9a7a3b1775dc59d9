#!/bin/sh
# Symbolization without debug info in the binary: separate debug info found
# through .gnu_debuglink, the ELF symbol table (name+0xoff), and nothing at
# all (module+0xoff); and a stripped static binary the tool cannot find the
# runtime in, which it says.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
command -v objcopy >/dev/null && command -v strip >/dev/null ||
    { echo "SKIP: binutils (objcopy, strip) not installed" >&2; exit 77; }
T="$top_builddir/tests/integration/target"

# Separate debug info next to the binary.
cp "$T" "$TMP/sep"
objcopy --only-keep-debug "$TMP/sep" "$TMP/sep.debug"
strip -g "$TMP/sep"
objcopy --add-gnu-debuglink="$TMP/sep.debug" "$TMP/sep"
start sep "$TMP/sep" idle
attach "$PID"; expect_rc 0
printf '%s\n' "$OUT" | grep -q '^╼ foo_poll at .*tests/integration/target.c:[0-9]*:[0-9]*$' ||
    fail "separate debug info not used: $OUT"
printf '%s\n' "$OUT" | grep -q '└╼ leaf_poll at .*target.c:[0-9]*:[0-9]*$' || fail "leaf: $OUT"

# Symbol table only: names with offsets, no source.
cp "$T" "$TMP/symtab"
strip -g "$TMP/symtab"
start symtab "$TMP/symtab" idle
attach "$PID"; expect_rc 0
printf '%s\n' "$OUT" | sed 's/+0x[0-9a-f]*$/+OFF/' >"$TMP/got"
cat >"$TMP/want" <<'TREE'
╼ foo_poll+OFF
  └╼ bar_poll+OFF
     └╼ leaf_poll+OFF
TREE
grep '╼' "$TMP/got" | diff -u "$TMP/want" - || fail "symbol-table fallback"

# Fully stripped static binary: the runtime's symbol is gone too.
cp "$T" "$TMP/bare"
strip --strip-all "$TMP/bare"
start bare "$TMP/bare" idle
attach "$PID"; expect_rc 2
expect_err "is not a tasktrace process: .*--export-dynamic-symbol=tasktrace_control"

# Fully stripped executable over the shared runtime: its own frames are
# module+offset, the runtime's keep their names and lines.
bin="$top_builddir/examples/.libs/taskdump"
[ -x "$bin" ] || bin="$top_builddir/examples/taskdump"
cp "$bin" "$TMP/taskdump"
strip --strip-all "$TMP/taskdump"
LD_LIBRARY_PATH="$top_builddir/libtargetrt/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    start stripped "$TMP/taskdump"
attach "$PID"; expect_rc 0
[ "$(printf '%s\n' "$OUT" | grep -c '╼ taskdump+0x[0-9a-f]*$')" -eq 7 ] ||
    fail "expected 7 module+offset frames: $OUT"
printf '%s\n' "$OUT" | grep -q '╼ trt_join_poll at .*combine.c:[0-9]*:[0-9]*$' ||
    fail "runtime frames lost their names: $OUT"
exit 0
