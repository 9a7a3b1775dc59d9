#!/bin/sh
# The tasktrace crate's own tests (cargo test): the waker bridge's clone,
# wake and drop balance with counting wakers, foreign trt_wakers, wakes from
# other threads, panics across the C frames.  Built by make check already;
# this runs them, offline, with the build's cargo and libtargetrt.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/bindings/rust/tests-env.sh"
[ -n "$RS_RUSTC" ] && { RUSTC=$RS_RUSTC; export RUSTC; }
[ -n "$RS_RUSTDOC" ] && { RUSTDOC=$RS_RUSTDOC; export RUSTDOC; }
PKG_CONFIG_PATH=$RS_PKG_CONFIG_PATH
export PKG_CONFIG_PATH
cd "$RS_CONFIG_DIR" || harness_error "no $RS_CONFIG_DIR"
rc=0
"$RS_CARGO" test --offline --release -p tasktrace \
    --manifest-path "$top_srcdir/bindings/rust/Cargo.toml" >"$TMP/test.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "cargo test failed ($rc): $(tail -n 40 "$TMP/test.out")"
grep -q '^test result: ok\. [1-9][0-9]* passed; 0 failed' "$TMP/test.out" ||
    fail "no passing unit tests: $(cat "$TMP/test.out")"
exit 0
