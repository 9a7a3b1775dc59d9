#!/bin/sh
# C++ frames read as qualified names: a target whose futures are member
# functions of class templates, built with g++ with -g (names from the
# DIEs' linkage names, demangled) and without (from the symbol table,
# demangled, with offsets).
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
CXX=${CXX:-g++}
command -v "$CXX" >/dev/null || { echo "SKIP: no C++ compiler ($CXX)" >&2; exit 77; }
core="$top_builddir/libtargetrt/.libs/libtrt_core.a"
[ -f "$core" ] || { echo "ERROR: $core not built" >&2; exit 99; }
# The runtime was compiled with the build's CFLAGS: sanitizers among them
# must be linked in too.
flags=$(sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile" | tr ' ' '\n' | grep -- '^-fsanitize' | tr '\n' ' ')

build() {
    out=$1
    shift
    # shellcheck disable=SC2086
    "$CXX" -std=c++17 -O2 -fno-omit-frame-pointer $flags "$@" \
        -I"$top_srcdir/libtargetrt/include" -o "$out" \
        "$top_srcdir/tests/integration/target_cxx.cc" "$core" -pthread ||
        { echo "ERROR: cannot build the C++ target" >&2; exit 99; }
}

outer='app::Outer<app::Leaf<int> >::poll(trt_future\*, trt_context\*)'
leaf='app::Leaf<int>::poll(trt_future\*, trt_context\*)'

build "$TMP/cxx-g" -g
start g "$TMP/cxx-g"
attach "$PID"
expect_rc 0
[ -z "$ERR" ] || fail "unexpected stderr: $ERR"
printf '%s\n' "$OUT" | grep -q "^╼ $outer at .*target_cxx.cc:[0-9]*:[0-9]*\$" ||
    fail "-g: the outer future is not a qualified name: $OUT"
printf '%s\n' "$OUT" | grep -q "^  └╼ $leaf at .*target_cxx.cc:[0-9]*:[0-9]*\$" ||
    fail "-g: the leaf future is not a qualified name: $OUT"

build "$TMP/cxx-nog" -g0
start nog "$TMP/cxx-nog"
attach "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -q "^╼ $outer+0x[0-9a-f]*\$" ||
    fail "symbol table: the outer future is not demangled: $OUT"
printf '%s\n' "$OUT" | grep -q "^  └╼ $leaf+0x[0-9a-f]*\$" ||
    fail "symbol table: the leaf future is not demangled: $OUT"
printf '%s\n' "$OUT" | grep -q '_ZN' && fail "a mangled name is left: $OUT"

# JSON carries the same names.
attach --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -q '"function":"app::Outer<app::Leaf<int> >::poll(trt_future\*, trt_context\*)+0x' ||
    fail "JSON: $OUT"
exit 0
