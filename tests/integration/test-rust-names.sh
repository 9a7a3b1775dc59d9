#!/bin/sh
# Rust frames read as qualified names: a target whose futures are extern
# "C" functions of generic structs, built with rustc (no crates) with -g
# (names from the DIEs' linkage names, demangled), without (from the symbol
# table), and with the v0 mangling, which keeps the generic arguments;
# --short-names drops them.  Optimized (opt-level 2) with -g, the frames
# come from the DWARF, which nests Rust's free functions in namespaces:
# each frame has its file:line:column, and app::register, always inlined
# into app::park, has its own frame, marked inlined, with park's frame at
# the line that calls it.
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

src="$top_srcdir/tests/integration/target_rust.rs"
# The lines of the calls to park and register, and of the waker's clone.
park_line=$(grep -n '^ *park(cx);' "$src" | cut -d: -f1)
call_line=$(grep -n '^ *register(cx);' "$src" | cut -d: -f1)
clone_line=$(grep -n 'let w = trt_waker_clone' "$src" | cut -d: -f1)
[ -n "$park_line" ] && [ -n "$call_line" ] && [ -n "$clone_line" ] ||
    { echo "ERROR: $src: no call of park or register" >&2; exit 99; }

# check_inlined NAME LEAF: the frames of the dump just taken, built with
# -g: LEAF at the call of park, park at the call of register, and
# register inlined into it, at the clone of the waker.
check_inlined() {
    printf '%s\n' "$OUT" | grep -q "^  └╼ $2 at .*target_rust.rs:$park_line:[0-9]*\$" ||
        fail "$1: the leaf frame is not at the call of park (line $park_line): $OUT"
    printf '%s\n' "$OUT" |
        grep -q "^     └╼ target_rust::app::park at .*target_rust.rs:$call_line:[0-9]*\$" ||
        fail "$1: park's frame is not at the call of register (line $call_line): $OUT"
    printf '%s\n' "$OUT" |
        grep -q "^        └╼ target_rust::app::register at .*target_rust.rs:$clone_line:[0-9]* \[inlined\]\$" ||
        fail "$1: no inlined frame of register at line $clone_line: $OUT"
    # The spawn frame, main, comes from the DWARF too: no symbol offset.
    printf '%s\n' "$OUT" | grep -q "^  spawned at .*target_rust.rs:[0-9]* (target_rust::main)\$" ||
        fail "$1: the spawn frame is not main's DWARF frame: $OUT"
    return 0
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
check_inlined "-g" 'target_rust::app::Leaf<T>::poll'
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
check_inlined "v0" '<target_rust::app::Leaf<i32>>::poll'
# --short-names: the generic arguments and the brackets of the inherent
# impl's path go, the same names as the legacy mangling's.
attach --short-names -n "$PID"
expect_rc 0
check "v0 --short-names" 'target_rust::app::Outer::poll' 'target_rust::app::Leaf::poll' ''
exit 0
