#!/bin/sh
# Fuzzes the tool's readers of target memory (fuzz_readers), then those of
# the ELF files a target names (fuzz_elf), with libFuzzer for FUZZ_SECONDS
# each (default 20), from the corpus in the tree and a fresh one from
# gen_corpus, and from seeds made of the built test target.  Skipped when configure found no compiler with libFuzzer.
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

# fuzz_elf: the readers of the ELF files a target names, from seeds made
# of the test target as built (with DWARF, stripped, its debug file, its
# object file, zlib-compressed debug sections).
ELF="$top_builddir/tests/fuzz/fuzz_elf"
[ -x "$ELF" ] || error "$ELF is missing: make check builds it with fuzz_readers"
mkdir "$TMP/elfseeds" "$TMP/elfnew" || error "cannot create seed directories"
T="$top_builddir/tests/integration/target"
cp "$T" "$TMP/elfseeds/target" || error "$T is missing: make check builds it"
cp "$top_builddir/tests/integration/target-target.o" "$TMP/elfseeds/target.o" 2>/dev/null
if command -v objcopy >/dev/null; then
    objcopy --only-keep-debug "$T" "$TMP/elfseeds/target.debug"
    objcopy --strip-debug "$T" "$TMP/elfseeds/target.stripped"
    objcopy --compress-debug-sections=zlib "$T" "$TMP/elfseeds/target.z"
fi
# libdw's own leaks on corrupt DWARF are suppressed (lsan.supp says which
# and why); a leak of the tool's code still fails.
SUPP="$top_srcdir/tests/fuzz/lsan.supp"
[ -r "$SUPP" ] || error "$SUPP is missing"
st=0
LSAN_OPTIONS="suppressions=$SUPP${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
"$ELF" -max_total_time="$SECONDS_" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$ART" -print_final_stats=1 \
    "${FUZZ_ELF_CORPUS:-$TMP/elfnew}" "$TMP/elfseeds" >"$TMP/elflog" 2>&1 || st=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/elflog")
if [ "$st" -ne 0 ]; then
    cat "$TMP/elflog" >&2
    echo "FAIL: fuzz_elf failed (status $st) after ${execs:-?} runs; reproduce with:" \
        "LSAN_OPTIONS=suppressions=$SUPP $ELF <the crash file named above>" >&2
    exit 1
fi
[ -n "$execs" ] && [ "$execs" -gt 0 ] || {
    cat "$TMP/elflog" >&2
    error "libFuzzer ran nothing (fuzz_elf)"
}
echo "fuzz_elf: $execs runs in $SECONDS_ s, no failure"
