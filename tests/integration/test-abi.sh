#!/bin/sh
# The ABI of the built libtargetrt.so is exactly its public headers: every
# function declared in <tasktrace/rt.h> and <tasktrace/exec.h>, plus the
# control block the tool looks up by name, each under a TASKTRACE_x.y
# version node (the first is TASKTRACE_0.1); nothing else.  The version macros, the runtime query, the
# pkg-config file and configure's version agree.
. "$top_srcdir/tests/integration/lib.sh"
LIBDIR="$top_builddir/libtargetrt/.libs"
SO="$LIBDIR/libtargetrt.so"
HDRS="$top_srcdir/libtargetrt/include/tasktrace"
[ -f "$SO" ] || { echo "SKIP: no shared library built (configured --disable-shared?)" >&2; exit 77; }
command -v nm >/dev/null || { echo "SKIP: nm (binutils) not installed" >&2; exit 77; }

# Every top-level function declaration in the headers carries TRT_EXPORT:
# a declaration without it would be missed below, and not exported.
bare=$(grep -nE '^[A-Za-z_][A-Za-z0-9_ *]*\(' "$HDRS"/*.h |
    grep -vE ':(TRT_EXPORT|typedef|static|#)' || true)
[ -z "$bare" ] || fail "public declarations without TRT_EXPORT: $bare"

# The names the headers declare, and the control block's name.
sed -n 's/^TRT_EXPORT[^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' "$HDRS"/*.h >"$TMP/declared"
[ "$(wc -l <"$TMP/declared")" -ge 40 ] || fail "too few declarations found: $(cat "$TMP/declared")"
sed -n 's/^#define TRT_CONTROL_SYMBOL "\(.*\)"$/\1/p' "$top_srcdir/protocol/tasktrace/protocol.h" >>"$TMP/declared"
grep -qx tasktrace_control "$TMP/declared" || fail "no TRT_CONTROL_SYMBOL in protocol.h"
sort -u "$TMP/declared" >"$TMP/want"

# What the library exports: name@@version for every defined dynamic symbol,
# except the version node's own absolute symbol.
nm -D --defined-only "$SO" | awk '$2 != "A" { print $3 }' | sort >"$TMP/exported"
sed 's/@.*//' "$TMP/exported" | sort -u >"$TMP/got"
diff -u "$TMP/want" "$TMP/got" >"$TMP/diff" ||
    fail "exported symbols differ from the headers (- declared only, + exported only):
$(cat "$TMP/diff")"
unversioned=$(grep -vE '@@TASKTRACE_[0-9]+\.[0-9]+$' "$TMP/exported" || true)
[ -z "$unversioned" ] || fail "symbols outside a TASKTRACE_x.y version node: $unversioned"
grep -q '@@TASKTRACE_0\.1$' "$TMP/exported" || fail "no symbol in the TASKTRACE_0.1 node"

# The version script names the same symbols, one by one (no wildcard that
# could catch an internal trt__ function).
sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' "$top_srcdir/libtargetrt/libtargetrt.map" |
    sort >"$TMP/mapped"
diff -u "$TMP/want" "$TMP/mapped" >"$TMP/diff" ||
    fail "libtargetrt.map differs from the headers: $(cat "$TMP/diff")"
wild=$(grep -nE '^[[:space:]]*[A-Za-z_][^;]*[*?[]' "$top_srcdir/libtargetrt/libtargetrt.map" || true)
[ -z "$wild" ] || fail "libtargetrt.map exports by pattern: $wild"

# The soname carries the libtool interface number.
soname=$(readelf -d "$SO" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
printf '%s\n' "$soname" | grep -qE '^libtargetrt\.so\.[0-9]+$' || fail "soname: $soname"

# One version everywhere: the header's macros, configure (the .pc file),
# and the loaded library.
macro() { sed -n "s/^#define TRT_VERSION_$1 \\(.*\\)$/\\1/p" "$HDRS/rt.h"; }
hv="$(macro MAJOR).$(macro MINOR).$(macro PATCH)"
[ "\"$hv\"" = "$(macro STRING)" ] || fail "TRT_VERSION_STRING $(macro STRING) is not $hv"
pcv=$(sed -n 's/^Version: //p' "$top_builddir/libtargetrt/libtargetrt.pc")
[ "$pcv" = "$hv" ] || fail "configure's version $pcv differs from rt.h's $hv: rerun autoreconf"

cat >"$TMP/v.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <tasktrace/rt.h>
int main(void)
{
    printf("%s %u\n", trt_version(), trt_version_number());
    return strcmp(trt_version(), TRT_VERSION_STRING) != 0 ||
           trt_version_number() != TRT_VERSION_NUMBER;
}
EOF
# shellcheck disable=SC2086 # CFLAGS is a list of flags
${CC:-cc} ${CFLAGS:-} -I"$top_srcdir/libtargetrt/include" -o "$TMP/v" "$TMP/v.c" \
    -L"$LIBDIR" -ltargetrt -Wl,-rpath,"$LIBDIR" -pthread 2>"$TMP/cc.err" ||
    fail "a program using trt_version does not build: $(cat "$TMP/cc.err")"
got=$("$TMP/v") || fail "trt_version() disagrees with the header: $got"
want="$hv $(( ($(macro MAJOR) << 16) | ($(macro MINOR) << 8) | $(macro PATCH) ))"
[ "$got" = "$want" ] || fail "trt_version(), trt_version_number(): $got, want $want"

# The tool reports the same version.
if [ -x "$ATTACH" ]; then
    v=$("$ATTACH" --version) || fail "tasktrace-attach --version exits $?"
    [ "$v" = "tasktrace-attach $hv" ] || fail "tasktrace-attach --version: $v, want $hv"
else
    echo "SKIP: tasktrace-attach is not built (--disable-tool): its --version is not compared" >&2
fi

# pkg-config accepts the .pc file and reports the same version.
if command -v pkg-config >/dev/null; then
    PKG_CONFIG_PATH="$top_builddir/libtargetrt" pkg-config --validate libtargetrt ||
        fail "pkg-config rejects libtargetrt.pc"
    v=$(PKG_CONFIG_PATH="$top_builddir/libtargetrt" pkg-config --modversion libtargetrt)
    [ "$v" = "$hv" ] || fail "pkg-config --modversion: $v"
else
    echo "SKIP: pkg-config is not installed: libtargetrt.pc is not validated" >&2
fi
exit 0
