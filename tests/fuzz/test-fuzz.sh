#!/bin/sh
# Fuzzes the tool's readers of target memory with libFuzzer for
# FUZZ_SECONDS (default 20), from the corpus in the tree and a fresh one
# from gen_corpus.  Skipped when configure found no compiler with libFuzzer.
# A crash leaves its input as tests/fuzz/crash-* in the build directory;
# tests/fuzz/README.md says how to reproduce it and fuzz for longer.
set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
FUZZ="$top_builddir/tests/fuzz/fuzz_readers"
GEN="$top_builddir/tests/fuzz/gen_corpus"
CORPUS="$top_srcdir/tests/fuzz/corpus/readers"
SECONDS_=${FUZZ_SECONDS:-20}

error() {
    echo "ERROR: $*" >&2
    exit 99
}
if [ ! -x "$FUZZ" ]; then
    echo "SKIP: no libFuzzer: configure found no compiler that links" \
        "-fsanitize=fuzzer,address,undefined (FUZZ_CC, default clang; on Debian:" \
        "clang and libclang-rt-dev)" >&2
    exit 77
fi
[ -x "$GEN" ] || error "$GEN is missing: make check builds it"
case $SECONDS_ in
'' | *[!0-9]*) error "FUZZ_SECONDS='$SECONDS_': give whole seconds" ;;
esac
TMP=$(mktemp -d) || error "cannot create a temporary directory (mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/seeds" "$TMP/new" && "$GEN" "$TMP/seeds" || error "gen_corpus failed"
# New inputs go to FUZZ_CORPUS when set (kept across runs), else are
# dropped with the temporary directory.
NEW=${FUZZ_CORPUS:-$TMP/new}
mkdir -p "$NEW" || error "cannot create $NEW"
ART="$top_builddir/tests/fuzz/"

# libFuzzer's own exit codes for a crash (77) and a timeout (70) would
# read as a skip and a pass to the test harness: both are failures.
st=0
"$FUZZ" -max_total_time="$SECONDS_" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$ART" -print_final_stats=1 \
    "$NEW" "$CORPUS" "$TMP/seeds" >"$TMP/log" 2>&1 || st=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/log")
if [ "$st" -ne 0 ]; then
    cat "$TMP/log" >&2
    artifact=$(sed -n "s/^artifact_prefix=.*; Test unit written to //p" "$TMP/log")
    echo "FAIL: the fuzz target failed (status $st) after ${execs:-?} runs;" \
        "reproduce with: $top_builddir/tests/fuzz/replay ${artifact:-<the crash file>}" >&2
    exit 1
fi
[ -n "$execs" ] && [ "$execs" -gt 0 ] || {
    cat "$TMP/log" >&2
    error "libFuzzer ran nothing"
}
echo "fuzz_readers: $execs runs in $SECONDS_ s, no failure"
