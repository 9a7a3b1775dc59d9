#!/bin/sh
# Files a target names are untrusted.  Its debug link may name a FIFO (an
# open() would hang the tool), a device, or a file its own user may not
# read; the path of its executable may name something else once the file
# is deleted.  The tool must finish, open none of those, say once on stderr
# which debug info it refused and why, and still find separate debug info
# the target's user may read.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
command -v objcopy >/dev/null && command -v strip >/dev/null ||
    { echo "SKIP: binutils (objcopy, strip) not installed" >&2; exit 77; }
command -v timeout >/dev/null ||
    { echo "SKIP: timeout (coreutils) not installed" >&2; exit 77; }
T="$top_builddir/tests/integration/target"
# Targets run as nobody from here: let them reach their files.
chmod 755 "$TMP"

# run_tool ARGS...: the tool under a deadline, so a hang fails the test;
# under strace when STRACE_LOG is set.  Sets OUT, ERR, RC like attach.
run_tool() {
    RC=0
    if [ -n "${STRACE_LOG:-}" ]; then
        # LeakSanitizer (in sanitizer builds) cannot run under ptrace.
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
            strace -f -qq -o "$STRACE_LOG" -e trace=open,openat,openat2 \
            timeout 60 "$ATTACH" "$@" >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
    else
        timeout 60 "$ATTACH" "$@" >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
    fi
    OUT=$(cat "$TMP/attach.out")
    ERR=$(cat "$TMP/attach.err")
    [ "$RC" -ne 124 ] || fail "the tool hung (killed after 60 s); stderr: $ERR"
}

# sep NAME: $TMP/NAME, the target without DWARF, whose debug link names
# NAME.debug, and its debug info in $TMP/NAME.debug.
sep() {
    cp "$T" "$TMP/$1"
    objcopy --only-keep-debug "$TMP/$1" "$TMP/$1.debug"
    strip -g "$TMP/$1"
    objcopy --add-gnu-debuglink="$TMP/$1.debug" "$TMP/$1"
    chmod 755 "$TMP/$1"
}

# Symbol-table frames only: the debug info was not used.
expect_symtab() {
    printf '%s\n' "$OUT" | grep -q '^╼ foo_poll+0x[0-9a-f]*$' ||
        fail "$1: expected symbol-table frames: $OUT"
    # Source positions (" at file:line") come only from debug info.
    printf '%s\n' "$OUT" | grep -v '^  spawned at ' | grep -q ' at ' &&
        fail "$1: debug info was read: $OUT"
    return 0
}
expect_dwarf() {
    printf '%s\n' "$OUT" | grep -q '^╼ foo_poll at .*target.c:[0-9]*:[0-9]*$' ||
        fail "$1: separate debug info not used: $OUT"
}

# 1. A FIFO where the debug file should be.
sep fifo
rm "$TMP/fifo.debug"
mkfifo "$TMP/fifo.debug"
start fifo "$TMP/fifo" idle
run_tool "$PID"
expect_rc 0
expect_symtab fifo
expect_err "^tasktrace-attach: module $TMP/fifo: not reading the debug info $TMP/fifo.debug: it is a FIFO; its frames use the symbol table$"

# 2. A symbolic link to /dev/zero: not even opened (strace says so).
sep zero
ln -sf /dev/zero "$TMP/zero.debug"
start zero "$TMP/zero" idle
STRACE_LOG=
command -v strace >/dev/null && STRACE_LOG="$TMP/strace.log"
run_tool "$PID"
expect_rc 0
expect_symtab zero
expect_err "module $TMP/zero: not reading the debug info $TMP/zero.debug: it is a character device;"
if [ -n "$STRACE_LOG" ]; then
    [ -s "$STRACE_LOG" ] || fail "strace wrote nothing"
    grep -q 'zero\.debug' "$STRACE_LOG" || fail "strace did not see the lookup: $(cat "$STRACE_LOG")"
    bad=$(grep -E '"/dev/zero"' "$STRACE_LOG"; grep 'zero\.debug' "$STRACE_LOG" | grep -v O_PATH)
    [ -z "$bad" ] || fail "opened what the debug link names: $bad"
else
    echo "SKIP: strace is not installed: /dev/zero is checked by effect only, not by its syscalls" >&2
fi
STRACE_LOG=

# The paths are the target's bytes: escaped on stderr.
esc=$(printf 'esc\033[31m\001dir')
mkdir "$TMP/$esc"
cp "$TMP/fifo" "$TMP/$esc/fifo"
mkfifo "$TMP/$esc/fifo.debug"
start esc "$TMP/$esc/fifo" idle
run_tool "$PID"
expect_rc 0
expect_symtab esc
expect_err "it is a FIFO;"
printf '%s' "$ERR" | grep -qF "module $TMP/esc\x1b[31m\x01dir/fifo: not reading the debug info $TMP/esc\x1b[31m\x01dir/fifo.debug: it is a FIFO;" ||
    fail "paths not escaped: $ERR"
printf '%s' "$ERR" | LC_ALL=C grep -q "$(printf '\033')" && fail "raw escape byte on stderr"

# A dwz supplementary file (.gnu_debugaltlink) is looked for the same way:
# missing, a FIFO, then a file with the build id the link records.
sep alt
id=$(LC_ALL=C readelf -n "$TMP/alt" | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p')
[ -n "$id" ] || fail "the test target has no build id"
cp "$TMP/alt.debug" "$TMP/plain.debug"
"$PYTHON" -c 'import sys; sys.stdout.buffer.write(b"altfile.debug\0" + bytes.fromhex(sys.argv[1]))' \
    "$id" >"$TMP/altsec"
objcopy --add-section .gnu_debugaltlink="$TMP/altsec" "$TMP/alt.debug"
start alt "$TMP/alt" idle
run_tool "$PID"
expect_rc 0
expect_symtab "missing dwz file"
expect_err "module $TMP/alt: its debug info needs a supplementary \(dwz\) file that was not found;"
mkfifo "$TMP/altfile.debug"
run_tool "$PID"
expect_rc 0
expect_symtab "dwz file a FIFO"
expect_err "module $TMP/alt: not reading the supplementary debug file $TMP/altfile.debug: it is a FIFO;"
rm "$TMP/altfile.debug"
cp "$TMP/plain.debug" "$TMP/altfile.debug"
run_tool "$PID"
expect_rc 0
expect_dwarf "dwz file found"
[ -z "$ERR" ] || fail "unexpected stderr: $ERR"

# The rest runs targets as another user and needs map_files: root only.
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the cases with a target of another user and map_files need root (the others passed)" >&2
    exit 77
fi

# 3. A target running as nobody: a debug file only root may read is not
# read for it, nor one behind a directory it may not search; the same file
# made readable is.
mkdir "$TMP/private" "$TMP/closed"
sep secret
mv "$TMP/secret.debug" "$TMP/private/secret.debug"
chmod 600 "$TMP/private/secret.debug"
ln -s "$TMP/private/secret.debug" "$TMP/secret.debug"
start secret setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/secret" idle
run_tool "$PID"
expect_rc 0
expect_symtab secret
expect_err "module $TMP/secret: not reading the debug info $TMP/secret.debug: the process's user \\(uid 65534\\) may not read it;"

chmod 644 "$TMP/private/secret.debug"
run_tool "$PID"
expect_rc 0
expect_dwarf "readable debug file"
[ -z "$ERR" ] || fail "unexpected stderr: $ERR"

sep locked
mv "$TMP/locked.debug" "$TMP/closed/locked.debug"
chmod 644 "$TMP/closed/locked.debug"
chmod 700 "$TMP/closed"
ln -s "$TMP/closed/locked.debug" "$TMP/locked.debug"
start locked setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/locked" idle
run_tool "$PID"
expect_rc 0
expect_symtab locked
expect_err "module $TMP/locked: not reading the debug info $TMP/locked.debug: Permission denied;"

# A debug file of another user, readable by all: not read either.
sep other
chown 12345:12345 "$TMP/other.debug"
chmod 644 "$TMP/other.debug"
start other setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/other" idle
run_tool "$PID"
expect_rc 0
expect_symtab other
expect_err "module $TMP/other: not reading the debug info $TMP/other.debug: it belongs to uid 12345, neither root nor the process's user;"

# 4. The executable deleted and its old path made a link to /dev/zero: as
# root the tool reads the mapped file itself (/proc/PID/map_files), as the
# target's user it leaves the module unread; /dev/zero is never opened.
cp "$T" "$TMP/gone"
start gone "$TMP/gone" idle
rm "$TMP/gone"
ln -s /dev/zero "$TMP/gone (deleted)"
command -v strace >/dev/null && STRACE_LOG="$TMP/strace2.log"
run_tool "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -q '^╼ foo_poll at .*target.c:[0-9]*:[0-9]*$' ||
    fail "the deleted executable was not read through map_files: $OUT"
if [ -n "$STRACE_LOG" ]; then
    bad=$(grep -E '"/dev/zero"|gone \(deleted\)"' "$STRACE_LOG" | grep -v O_PATH)
    [ -z "$bad" ] || fail "opened the deleted executable's path: $bad"
fi
STRACE_LOG=

# Unprivileged, over the shared runtime so the tool finds it: the
# executable's frames are module+offset.
bin="$top_builddir/examples/.libs/taskdump"
[ -x "$bin" ] || bin="$top_builddir/examples/taskdump"
cp "$bin" "$TMP/gone2"
chmod 755 "$TMP/gone2"
LD_LIBRARY_PATH="$top_builddir/libtargetrt/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    start gone2 setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/gone2"
rm "$TMP/gone2"
ln -s /dev/zero "$TMP/gone2 (deleted)"
RC=0
timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$ATTACH" "$PID" \
    >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
OUT=$(cat "$TMP/attach.out")
ERR=$(cat "$TMP/attach.err")
[ "$RC" -ne 124 ] || fail "the unprivileged tool hung"
expect_rc 0
expect_err "^tasktrace-attach: module $TMP/gone2 \\(deleted\\): its file was deleted or replaced since it was mapped, and reading the mapped file through /proc/$PID/map_files needs CAP_SYS_ADMIN; its frames show module\\+offset$"
printf '%s\n' "$OUT" | grep -q '╼ gone2 (deleted)+0x[0-9a-f]*$' ||
    fail "expected module+offset frames of the deleted executable: $OUT"
printf '%s\n' "$OUT" | grep -q '╼ trt_join_poll at .*combine.c:[0-9]*:[0-9]*$' ||
    fail "runtime frames lost their names: $OUT"

# 5. The tool as the target's own user (no map_files): modules are opened
# by their path in the target's root, debug info still found.
sep mine
start mine setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/mine" idle
RC=0
timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$ATTACH" "$PID" \
    >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
OUT=$(cat "$TMP/attach.out")
ERR=$(cat "$TMP/attach.err")
expect_rc 0
expect_dwarf "unprivileged tool"
[ -z "$ERR" ] || fail "unexpected stderr: $ERR"
exit 0
