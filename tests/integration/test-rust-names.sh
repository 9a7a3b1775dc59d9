#!/bin/sh
# Rust frames read as qualified names: a target whose futures are extern
# "C" functions of generic structs, built with rustc (no crates) with -g
# (names from the DIEs' linkage names, demangled), without (from the symbol
# table), and with the v0 mangling, which keeps the generic arguments;
# --short-names drops them.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
RUSTC=${RUSTC:-rustc}
command -v "$RUSTC" >/dev/null || { echo "SKIP: no Rust compiler ($RUSTC)" >&2; exit 77; }
core="$top_builddir/libtargetrt/.libs/libtrt_core.a"
[ -f "$core" ] || { echo "ERROR: $core not built" >&2; exit 99; }
if sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile" | grep -q -- '-fsanitize'; then
    echo "SKIP: the runtime is built with sanitizers, which rustc cannot link" >&2
    exit 77
fi

build() {
    out=$1
    shift
    "$RUSTC" --edition 2021 -C opt-level=2 -C force-frame-pointers=yes "$@" -o "$out" \
        "$top_srcdir/tests/integration/target_rust.rs" \
        -L "$top_builddir/libtargetrt/.libs" -l static=trt_core >"$TMP/rustc.log" 2>&1 ||
        { echo "ERROR: cannot build the Rust target: $(cat "$TMP/rustc.log")" >&2; exit 99; }
}

# check NAME OUTER LEAF SUFFIX: the two frames of the dump just taken.
check() {
    printf '%s\n' "$OUT" | grep -q "^╼ $2$4\$" || fail "$1: outer future: $OUT"
    printf '%s\n' "$OUT" | grep -q "^  └╼ $3$4\$" || fail "$1: leaf future: $OUT"
    printf '%s\n' "$OUT" | grep -q '_ZN\|_R[A-Z]' && fail "$1: a mangled name is left: $OUT"
    return 0
}

build "$TMP/rust-g" -g
start g "$TMP/rust-g"
attach "$PID"
expect_rc 0
check "-g" 'target_rust::app::Outer<I>::poll' 'target_rust::app::Leaf<T>::poll' \
    ' at .*target_rust.rs:[0-9]*:[0-9]*'
# --short-names drops the generic parameters.
attach --short-names -n "$PID"
expect_rc 0
check "-g --short-names" 'target_rust::app::Outer::poll' 'target_rust::app::Leaf::poll' ''

build "$TMP/rust-nog" -C debuginfo=0
start nog "$TMP/rust-nog"
attach "$PID"
expect_rc 0
check "symbol table" 'target_rust::app::Outer<I>::poll' 'target_rust::app::Leaf<T>::poll' \
    '+0x[0-9a-f]*'

build "$TMP/rust-v0" -g -C symbol-mangling-version=v0
start v0 "$TMP/rust-v0"
attach "$PID"
expect_rc 0
check "v0" '<target_rust::app::Outer<target_rust::app::Leaf<i32>>>::poll' \
    '<target_rust::app::Leaf<i32>>::poll' ' at .*target_rust.rs:[0-9]*:[0-9]*'
# --short-names: the generic arguments and the brackets of the inherent
# impl's path go, the same names as the legacy mangling's.
attach --short-names -n "$PID"
expect_rc 0
check "v0 --short-names" 'target_rust::app::Outer::poll' 'target_rust::app::Leaf::poll' ''
exit 0
