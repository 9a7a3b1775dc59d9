# Sourced by tests/integration/test-rust*.sh after lib.sh: reads the stamp
# bindings/rust/cargo-build.sh wrote (make check builds the crate once,
# before the tests), skips with its reason when there was no cargo or no
# Debian crates, fails with the build log when the build failed, and lets
# the examples find the build tree's libtargetrt.
rs_stamp=$top_builddir/bindings/rust/cargo.stamp
[ -f "$rs_stamp" ] || harness_error "$rs_stamp is missing: make check builds the crate first"
. "$rs_stamp"
# rustc links no sanitizer runtime: Rust programs cannot load a libtargetrt
# built with one.
if sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile" | grep -q -- '-fsanitize'; then
    echo "SKIP: the runtime is built with sanitizers, which Rust programs cannot load" >&2
    exit 77
fi
case ${RS_STATUS:-} in
ok) ;;
skip)
    echo "SKIP: the Rust bindings were not built: $RS_REASON" >&2
    exit 77
    ;;
fail) fail "the tasktrace crate did not build ($RS_REASON): $(tail -n 20 "$RS_LOG")" ;;
*) harness_error "$rs_stamp is malformed" ;;
esac
RS_BIN=$RS_TARGET
LD_LIBRARY_PATH=$top_builddir/libtargetrt/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH

# rs_frames: the JSON dump on stdin, one line per stack: its functions
# without "+0x..." offsets, separated by " | ".
rs_frames() {
    "$PYTHON" -c '
import json, re, sys
d = json.load(sys.stdin)
for t in d["tasks"]:
    for s in t["stacks"]:
        print(t["name"] + ": " + " | ".join(re.sub(r"\+0x[0-9a-f]+$", "", f.get("function") or "?") for f in s))
'
}
