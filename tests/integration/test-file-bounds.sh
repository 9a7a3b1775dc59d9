#!/bin/sh
# The files a target names cost a bounded time and memory, whatever they
# claim: a debug link naming a 50 GB sparse file, a debug file whose
# section 0 claims 16 million sections, a debug file the target truncates
# while the tool reads it; and a chrooted target's debug file beside its
# module is found inside its root.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
command -v objcopy >/dev/null && command -v strip >/dev/null ||
    { echo "SKIP: binutils (objcopy, strip) not installed" >&2; exit 77; }
command -v timeout >/dev/null ||
    { echo "SKIP: timeout (coreutils) not installed" >&2; exit 77; }
T="$top_builddir/tests/integration/target"
chmod 755 "$TMP"

# run_tool ARGS...: the tool under a deadline; sets OUT, ERR, RC and SECS
# (wall seconds), and RSS (its peak in KiB) when GNU time is installed.
TIME=""
[ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1 && TIME=/usr/bin/time
run_tool() {
    RC=0
    t0=$(date +%s.%N)
    if [ -n "$TIME" ]; then
        $TIME -o "$TMP/time.out" -f %M timeout 120 "$ATTACH" "$@" \
            >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
        RSS=$(tail -n 1 "$TMP/time.out")
    else
        timeout 120 "$ATTACH" "$@" >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
        RSS=""
    fi
    SECS=$("$PYTHON" -c 'import sys; print("%.2f" % (float(sys.argv[1]) - float(sys.argv[2])))' \
        "$(date +%s.%N)" "$t0")
    OUT=$(cat "$TMP/attach.out")
    ERR=$(cat "$TMP/attach.err")
    [ "$RC" -ne 124 ] || fail "the tool took more than 120 s; stderr: $ERR"
}

# within SECONDS WHAT: the last run took less than SECONDS.
within() {
    "$PYTHON" -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" \
        "$SECS" "$1" || fail "$2 took $SECS s, more than $1 s; stderr: $ERR"
    echo "$2: $SECS s${RSS:+, peak RSS $RSS KiB}" >&2
}

# sep NAME [NOID]: $TMP/NAME, the target without DWARF, whose debug link
# names NAME.debug, its debug info in $TMP/NAME.debug; without a build id
# when NOID is given, so that the link's CRC is what identifies the file.
sep() {
    cp "$T" "$TMP/$1"
    [ -n "${2:-}" ] && objcopy --remove-section .note.gnu.build-id "$TMP/$1"
    objcopy --only-keep-debug "$TMP/$1" "$TMP/$1.debug"
    strip -g "$TMP/$1"
    objcopy --add-gnu-debuglink="$TMP/$1.debug" "$TMP/$1"
    chmod 755 "$TMP/$1"
}
expect_symtab() {
    printf '%s\n' "$OUT" | grep -q '^╼ foo_poll+0x[0-9a-f]*$' ||
        fail "$1: expected symbol-table frames: $OUT"
}
expect_dwarf() {
    printf '%s\n' "$OUT" | grep -q '^╼ foo_poll at .*target.c:[0-9]*:[0-9]*$' ||
        fail "$1: separate debug info not used: $OUT"
}

# 1. The debug link names a 50 GB sparse file: refused by its size, at
# once, under -t 1 (its CRC would read it all).
sep sparse noid
mv "$TMP/sparse.debug" "$TMP/sparse.real"
truncate -s 50G "$TMP/sparse.debug" || harness_error "cannot make a sparse file in $TMP"
start sparse "$TMP/sparse" idle
run_tool -t 1 "$PID"
expect_rc 0
expect_symtab sparse
expect_err "^tasktrace-attach: module $TMP/sparse: not reading the debug info $TMP/sparse.debug: it is 53687091200 bytes, more than the 4 GiB read of one file; its frames use the symbol table$"
within 5 "50 GB sparse debug link"

# A 3 GiB one, a real debug file followed by a hole, is within the
# bounds: its CRC stops at the symbolizing deadline.
rm "$TMP/sparse.debug"
cp "$TMP/sparse.real" "$TMP/sparse.debug"
truncate -s 3G "$TMP/sparse.debug"
# Past the deadline the rest of the dump is address-only and says so
# (exit 1); a machine that reads 3 GiB in time refuses to copy it.
run_tool -t 1 "$PID"
case $RC:$ERR in
1:*"not reading the debug info $TMP/sparse.debug: checking its CRC ran out of time (see --timeout);"*"symbolizing ran out of time"*) ;;
0:*"not reading the debug info $TMP/sparse.debug: "*"more than the 1 GiB copied"*) ;;
*) fail "3 GiB sparse: unexpected exit $RC, stderr: $ERR" ;;
esac
within 8 "3 GiB sparse debug link, -t 1"

# 2. A debug file whose section 0 claims 16M sections (e_shnum 0): refused
# before libelf allocates them, in bounded memory (before: 37 s, 4.4 GB).
sep many
"$PYTHON" - "$TMP/many.debug" <<'EOF' || harness_error "cannot patch the debug file"
import struct, sys
with open(sys.argv[1], "r+b") as f:
    h = f.read(64)
    shoff = struct.unpack_from("<Q", h, 40)[0]
    f.seek(60); f.write(struct.pack("<H", 0))
    f.seek(shoff + 32); f.write(struct.pack("<Q", 16 << 20))
    # Room for them all (libelf believes no more than the file holds):
    # 1 GiB, sparse.
    f.truncate(shoff + (16 << 20) * 64)
EOF
start many "$TMP/many" idle
run_tool "$PID"
expect_rc 0
expect_symtab many
expect_err "^tasktrace-attach: module $TMP/many: not reading the debug info $TMP/many.debug: it claims 16777216 sections, more than the 65536 read; its frames use the symbol table$"
within 5 "16M-section debug file"
[ -z "$RSS" ] || [ "$RSS" -lt 204800 ] || fail "the 16M-section debug file took $RSS KiB"

# The rest runs a target as another user, and a chroot: root only.
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the truncated and chrooted cases need root (the others passed)" >&2
    exit 77
fi

# 3. The target's user truncates and rewrites its debug file in a loop
# while it is dumped: the tool never dies of a signal.
sep trunc
cp "$TMP/trunc.debug" "$TMP/trunc.keep"
chown 65534:65534 "$TMP/trunc.debug" "$TMP/trunc.keep"
start trunc setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/trunc" idle
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
    'while :; do : >"$1"; cat "$2" >"$1"; done' sh "$TMP/trunc.debug" "$TMP/trunc.keep" &
PIDS="$PIDS $!"
for i in $(seq 50); do
    run_tool "$PID"
    [ "$RC" -le 2 ] || fail "dump $i: the tool ended with status $RC; stderr: $ERR"
done

# 4. A chrooted target: /proc/PID/maps names its module from our root,
# its debug file beside it is found inside its root.
J="$TMP/jail"
mkdir -p "$J/bin"
sep jailed
mv "$TMP/jailed" "$TMP/jailed.debug" "$J/bin/"
for lib in $(ldd "$J/bin/jailed" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
    mkdir -p "$J$(dirname "$lib")"
    cp -L "$lib" "$J$lib"
done
start jailed chroot "$J" /bin/jailed idle
run_tool "$PID"
expect_rc 0
expect_dwarf "chrooted target"
[ -z "$ERR" ] || fail "chrooted target: unexpected stderr: $ERR"
exit 0
