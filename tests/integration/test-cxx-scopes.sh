#!/bin/sh
# C++ frames named from their scopes, and --short-names: a target whose
# waker is cloned in a constructor inlined into a lambda inlined into a
# member of a class template.  With g++ -g every frame has a linkage name;
# with clang++ -gsce (debug info without linkage names) the functions are
# named from their enclosing namespaces and classes, walked in the DWARF.
# --short-names drops template arguments and parameter lists.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
core="$top_builddir/libtargetrt/.libs/libtrt_core.a"
[ -f "$core" ] || harness_error "$core not built"
flags=$(sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile" | tr ' ' '\n' | grep -- '^-fsanitize' | tr '\n' ' ')

# build COMPILER OUT FLAGS...: 1 when COMPILER is missing.
build() {
    cxx=$1 out=$2
    shift 2
    command -v "$cxx" >/dev/null || return 1
    # shellcheck disable=SC2086
    "$cxx" -std=c++17 -O2 -fno-omit-frame-pointer $flags "$@" \
        -I"$top_srcdir/libtargetrt/include" -o "$out" \
        "$top_srcdir/tests/integration/target_names.cc" "$core" -pthread ||
        harness_error "cannot build the C++ target with $cxx $*"
}

# expect_tree FILE LINE...: the text dump's tree lines, sources cut off.
expect_tree() {
    file=$1
    shift
    printf '%s\n' "$@" >"$TMP/want"
    grep '╼' "$file" | sed 's/ at [^ ]*:[0-9]*\(:[0-9]*\)\{0,1\}\( \[inlined\]\)\{0,1\}$/\2/' |
        diff -u "$TMP/want" - || fail "unexpected tree: $(cat "$file")"
}

ran=0
if build "${CXX:-g++}" "$TMP/gxx" -g; then
    ran=1
    start gxx "$TMP/gxx"
    attach "$PID"; expect_rc 0
    [ -z "$ERR" ] || fail "unexpected stderr: $ERR"
    printf '%s\n' "$OUT" >"$TMP/gxx.txt"
    expect_tree "$TMP/gxx.txt" \
        '╼ app::Outer<app::Leaf<int> >::poll(trt_future*, trt_context*)' \
        '  └╼ app::Leaf<int>::poll(trt_future*, trt_context*)' \
        '     └╼ app::Leaf<int>::poll(trt_future*, trt_context*)::{lambda(int)#1}::operator()(int) const [inlined]' \
        '        └╼ app::detail::Registration<int>::Registration(trt_context*, int) [inlined]'
    attach --short-names "$PID"; expect_rc 0
    printf '%s\n' "$OUT" >"$TMP/gxx-short.txt"
    expect_tree "$TMP/gxx-short.txt" \
        '╼ app::Outer::poll' \
        '  └╼ app::Leaf::poll' \
        '     └╼ app::Leaf::poll::{lambda(int)#1}::operator() [inlined]' \
        '        └╼ app::detail::Registration::Registration [inlined]'
    attach --short-names --json "$PID"; expect_rc 0
    printf '%s\n' "$OUT" | grep -q '"function":"app::Leaf::poll::{lambda(int)#1}::operator()"' ||
        fail "JSON short names: $OUT"
fi

if build clang++ "$TMP/sce" -g -gsce; then
    ran=1
    eu-readelf --debug-dump=info "$TMP/sce" 2>/dev/null | grep -A6 'name.*"poll"' |
        grep -q linkage_name && { echo "SKIP: clang++ -gsce kept the linkage names" >&2; exit 77; }
    start sce "$TMP/sce"
    attach "$PID"; expect_rc 0
    printf '%s\n' "$OUT" >"$TMP/sce.txt"
    grep -q '^╼ app::Outer<app::Leaf<int> >::poll at ' "$TMP/sce.txt" ||
        fail "clang -gsce: the outer future is not named from its scopes: $OUT"
    grep -q '^  └╼ app::Leaf<int>::poll at ' "$TMP/sce.txt" ||
        fail "clang -gsce: the leaf future is not named from its scopes: $OUT"
    attach --short-names "$PID"; expect_rc 0
    printf '%s\n' "$OUT" | grep -q '^╼ app::Outer::poll at ' || fail "clang -gsce short: $OUT"
fi
[ "$ran" -eq 1 ] || { echo "SKIP: neither g++ nor clang++ is installed" >&2; exit 77; }
exit 0
