#!/bin/sh
# The man pages: each renders without a warning; tasktrace-attach(1)
# documents every option of --help and nothing more (its exit statuses:
# test-exitcodes.sh), and
# shows the tree the tool really prints for examples/taskdump;
# libtargetrt(3) names every public function, and its example program
# compiles warning-free, runs, and dumps as the page shows; tasktrace-json(5)
# has every key of docs/json.md.
. "$top_srcdir/tests/integration/lib.sh"
command -v groff >/dev/null || { echo "SKIP: groff not installed" >&2; exit 77; }
MAN1="$top_srcdir/docs/tasktrace-attach.1"
MAN3="$top_srcdir/docs/libtargetrt.3"
MAN5="$top_srcdir/docs/tasktrace-json.5"
HDRS="$top_srcdir/libtargetrt/include/tasktrace"

# groff -ww: every warning, for a UTF-8 terminal, an ASCII one and print.
for page in "$MAN1" "$MAN3" "$MAN5"; do
    for dev in utf8 ascii ps; do
        warn=$(groff -ww -z -man -T"$dev" "$page" 2>&1) || fail "groff -T$dev failed on $page: $warn"
        [ -z "$warn" ] || fail "groff -T$dev warns on $page: $warn"
    done
done

# plain PAGE: the page's source with the usual escapes undone.
plain() {
    sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\\[u257C\]/╼/g' -e 's/\\\[u2514\]/└/g' \
        -e 's/\\\[u251C\]/├/g' -e 's/\\\[u2502\]/│/g' -e 's/\\\[dq\]/"/g' -e 's/\\e/\\/g' "$1"
}
# section PAGE NAME: the plain text of section NAME.
section() {
    plain "$1" | sed -n "/^\\.SH \"*$2\"*\$/,/^\\.SH /p" | sed '$d'
}
# block PAGE NAME: the lines between '.\" NAME begin' and '.\" NAME end',
# without requests.
block() {
    plain "$1" | sed -n "/^\\.\\\\\" $2 begin/,/^\\.\\\\\" $2 end/p" | sed '/^\./d'
}

# ---------------------------------------------------------------- libtargetrt(3)
sed -n 's/^TRT_EXPORT[^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' "$HDRS"/*.h >"$TMP/funcs"
sed -n 's/^#define \(TRT_VERSION_[A-Z]*\) .*/\1/p' "$HDRS/rt.h" >>"$TMP/funcs"
[ "$(wc -l <"$TMP/funcs")" -ge 40 ] || fail "too few public names found: $(cat "$TMP/funcs")"
plain "$MAN3" >"$TMP/man3"
section "$MAN3" SYNOPSIS >"$TMP/synopsis"
section "$MAN3" DESCRIPTION >"$TMP/description"
while read -r f; do
    grep -qE "(^|[^A-Za-z0-9_])$f([^A-Za-z0-9_]|\$)" "$TMP/synopsis" ||
        fail "libtargetrt(3) SYNOPSIS lacks $f"
    grep -qE "(^|[^A-Za-z0-9_])$f([^A-Za-z0-9_]|\$)" "$TMP/description" ||
        fail "libtargetrt(3) DESCRIPTION does not describe $f"
done <"$TMP/funcs"

block "$MAN3" example >"$TMP/nap.c"
grep -q 'trt_exec_block_on' "$TMP/nap.c" || fail "no example program in libtargetrt(3): $(cat "$TMP/nap.c")"
LIBDIR="$top_builddir/libtargetrt/.libs"
# shellcheck disable=SC2086 # CFLAGS is a list of flags
${CC:-cc} ${CFLAGS:-} -g -Wall -Wextra -Werror -I"$HDRS/.." -o "$TMP/nap" "$TMP/nap.c" \
    -L"$LIBDIR" -ltargetrt -Wl,-rpath,"$LIBDIR" -pthread 2>"$TMP/cc.err" ||
    fail "the example of libtargetrt(3) does not compile: $(cat "$TMP/cc.err")"
out=$("$TMP/nap" 0) || fail "the example exits $?: $out"
[ "$out" = "pid $(printf '%s\n' "$out" | sed -n 's/^pid //p')
libtargetrt $(sed -n 's/^#define TRT_VERSION_STRING "\(.*\)"/\1/p' "$HDRS/rt.h")
slept (err 0)" ] || fail "the example printed: $out"

# ---------------------------------------------------------------- tasktrace-json(5)
# Every key of docs/json.md; the keys of a real document are added below.
sed -n 's/^| `\([a-z_]*\)` |.*/\1/p' "$top_srcdir/docs/json.md" | sort -u >"$TMP/keys"
[ "$(wc -l <"$TMP/keys")" -ge 20 ] || fail "too few keys in docs/json.md: $(cat "$TMP/keys")"
# man5_has_keys: every key of $TMP/keys is described in tasktrace-json(5).
man5_has_keys() {
    while read -r k; do
        grep -qE "^\\.BR? $k( |\$)" "$MAN5" || fail "tasktrace-json(5) does not describe the key $k"
    done <"$TMP/keys"
}
man5_has_keys

# Without the tool (./configure --disable-tool) the rest cannot run: say
# so, and pass on what was checked.
if [ ! -x "$ATTACH" ]; then
    echo "SKIP: tasktrace-attach is not built (--disable-tool): tasktrace-attach(1) against --help" \
        "and the tool's output, libtargetrt(3)'s dump and the keys of a real JSON document are not" \
        "checked; libtargetrt(3) and tasktrace-json(5) against docs/json.md are" >&2
    exit 0
fi

# Its dump, as the page shows it (the idle time varies).
require_ptrace
start nap "$TMP/nap" 60
attach --no-source "$PID"
expect_rc 0
normalize() {
    sed -e 's/ idle [0-9.]*[a-z]*[0-9]*[a-z]* since last poll/ idle D since last poll/' \
        -e 's/; longest idle .*; dumped in .*$/; longest idle D; dumped in D/' \
        -e 's/^\$ tasktrace-attach --no-source [0-9]*$/$ tasktrace-attach --no-source PID/'
}
{
    echo '$ ./nap &'
    echo "pid $PID"
    sed -n 2p "$TMP/nap.out"
    echo "$ tasktrace-attach --no-source $PID"
    printf '%s\n' "$OUT"
} | normalize >"$TMP/got"
block "$MAN3" output | sed 's/ 4242$/ PID/; s/^pid 4242$/pid PID/' | normalize >"$TMP/want"
sed -i "s/^pid $PID\$/pid PID/" "$TMP/got"
diff -u "$TMP/want" "$TMP/got" || fail "libtargetrt(3) shows another dump than the tool prints"

# ---------------------------------------------------------------- tasktrace-attach(1)
"$ATTACH" --help >"$TMP/help" || fail "--help exits $?"
section "$MAN1" OPTIONS >"$TMP/options"
sed -n 's/^ *\(-[A-Za-z0-9], *\)\{0,1\}\(--[A-Za-z0-9][A-Za-z0-9-]*\).*/\2/p' "$TMP/help" |
    sort -u >"$TMP/help-long"
[ "$(wc -l <"$TMP/help-long")" -ge 8 ] || fail "too few options in --help: $(cat "$TMP/help")"
# An option's tag is the line after .TP.
awk '/^\.TP/ { getline; print }' "$TMP/options" >"$TMP/tags"
sed -n 's/^\.B[IR]* *\(-[A-Za-z0-9] *"*, *"* *\)\{0,1\}\(--[A-Za-z0-9][A-Za-z0-9-]*\).*/\2/p' \
    "$TMP/tags" | sort -u >"$TMP/man-long"
diff -u "$TMP/help-long" "$TMP/man-long" ||
    fail "the options of tasktrace-attach(1) (+) differ from --help (-)"
for o in $(sed -n 's/^ *\(-[A-Za-z0-9]\), .*/\1/p' "$TMP/help"); do
    grep -qE "^\\.B[IR]* $o( |\$)" "$TMP/tags" || fail "tasktrace-attach(1) lacks the option $o"
done
for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES SECURITY EXAMPLES "SEE ALSO"; do
    grep -qE "^\\.SH \"?$s\"?\$" "$MAN1" || fail "tasktrace-attach(1) has no $s section"
done

# The tree it shows is the one the tool prints for examples/taskdump:
# functions, files and shape; paths and line numbers vary with the build.
start taskdump "$top_builddir/examples/taskdump"
attach "$PID"
expect_rc 0
shape() {
    sed -e 's/ idle [0-9.]*[a-z]*[0-9]*[a-z]* since last poll/ idle D since last poll/' \
        -e 's/; longest idle .*; dumped in .*$/; longest idle D; dumped in D/' \
        -e 's| at .*/\([^/]*/[^/]*\.c\):[0-9]*:[0-9]*$| at \1|' \
        -e 's|^  spawned at .*/\([^/]*/[^/]*\.c\):[0-9]* (|  spawned at \1 (|'
}
printf '%s\n' "$OUT" | shape >"$TMP/got"
block "$MAN1" output | shape >"$TMP/want"
[ -s "$TMP/want" ] || fail "no example output in tasktrace-attach(1)"
diff -u "$TMP/want" "$TMP/got" || fail "tasktrace-attach(1) shows another tree than the tool prints"

# ---------------------------------------------------------------- tasktrace-json(5)
# Every key the tool writes, read from a real document (every thread
# listed, so that the thread keys appear too).
attach --json --threads "$PID"
expect_rc 0
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
keys = set()
def walk(v):
    if isinstance(v, dict):
        keys.update(v)
        for x in v.values():
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(json.load(sys.stdin))
print("\n".join(sorted(keys)))
' >>"$TMP/keys" || fail "--json wrote no JSON document: $OUT"
grep -qx tid "$TMP/keys" || fail "no thread keys in the --threads document: $OUT"
man5_has_keys
exit 0
