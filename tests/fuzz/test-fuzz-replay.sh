#!/bin/sh
# The fuzz target's seeds, each run once through the real readers, dump
# building and both renderers, in every build and under whatever
# sanitizers it was configured with: the corpus in the tree, and a fresh
# one from gen_corpus, which follows the protocol header.  A valid seed
# must come out as the dump it describes, so the harness cannot pass by
# rejecting everything.
set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
REPLAY="$top_builddir/tests/fuzz/replay"
GEN="$top_builddir/tests/fuzz/gen_corpus"
CORPUS="$top_srcdir/tests/fuzz/corpus/readers"

error() {
    echo "ERROR: $*" >&2
    exit 99
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ -x "$REPLAY" ] && [ -x "$GEN" ] || error "$REPLAY or $GEN is missing: make check builds them"
[ -d "$CORPUS" ] || error "no corpus at $CORPUS"
TMP=$(mktemp -d) || error "cannot create a temporary directory (mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/seeds" && "$GEN" "$TMP/seeds" || error "gen_corpus failed"

# Every input runs; a sanitizer report or a crash fails here.
"$REPLAY" "$CORPUS" "$TMP/seeds" >"$TMP/all.out" 2>"$TMP/all.err" ||
    fail "replay of the corpus failed (status $?): $(tail -30 "$TMP/all.err")"
ncorpus=$(ls "$CORPUS" | wc -l)
nseeds=$(ls "$TMP/seeds" | wc -l)
grep -q "^replay: $((ncorpus + nseeds)) inputs ran" "$TMP/all.out" ||
    fail "not every input ran: $(cat "$TMP/all.out")"

# The valid seed is the dump it describes: three tasks, the first with two
# stacks merged under its task function, trimmed of the runtime's wrapper,
# capture and ABI helpers, the third owing its report.
"$REPLAY" -p "$TMP/seeds/valid-three-tasks" >"$TMP/valid.out" 2>"$TMP/valid.err" ||
    fail "replay of valid-three-tasks failed: $(cat "$TMP/valid.err")"
# Ages are measured to a fixed time (fuzz_space.h), source paths vary.
# The stack captured twice is shown once with its count.
sed -n '1,/^$/p' "$TMP/valid.out" | sed 's/ at [^ ]*\( ×[0-9]*\)\{0,1\}$/\1/' >"$TMP/task1"
cat >"$TMP/want1" <<'TXT'
task 1 "reader" idle 9.99s since last poll, 3 polls
╼ fuzz_task_main
  ├╼ fuzz_leaf_read ×2
  └╼ fuzz_leaf_sleep

TXT
diff -u "$TMP/want1" "$TMP/task1" >&2 || fail "valid-three-tasks: task 1 is not the expected tree"
grep -q '^task 3 "main" polling .*\[did not report\]' "$TMP/valid.out" ||
    fail "valid-three-tasks: task 3 is not shown as not reporting: $(cat "$TMP/valid.out")"
if grep -q 'trt_' "$TMP/valid.out"; then
    fail "valid-three-tasks: runtime frames were not trimmed: $(cat "$TMP/valid.out")"
fi
# --raw keeps them.
"$REPLAY" -p "$TMP/seeds/valid-complete-raw-color" >"$TMP/raw.out" 2>&1 ||
    fail "replay of valid-complete-raw-color failed: $(cat "$TMP/raw.out")"
for fn in trt__traced_poll_tracing trt_future_poll trt__capture; do
    grep -q "$fn" "$TMP/raw.out" || fail "raw: no $fn in $(cat "$TMP/raw.out")"
done
# The corrupt control blocks render nothing.
"$REPLAY" "$TMP/seeds/control-bad-magic" "$TMP/seeds/control-new-version" \
    "$TMP/seeds/control-bad-size" >"$TMP/bad.out" 2>&1 || fail "replay of bad control blocks failed"
grep -q "^replay: 3 inputs ran, 0 rendered a dump" "$TMP/bad.out" ||
    fail "a corrupt control block was accepted: $(cat "$TMP/bad.out")"
echo "$(cat "$TMP/all.out")"
