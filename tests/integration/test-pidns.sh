#!/bin/sh
# Targets in their own PID and mount namespaces, as in a container: the
# runtime publishes its doorbell thread's id in its own namespace, which
# the tool maps to its own; the target's files exist only in its mount
# namespace (its executable on a private tmpfs, its debug info next to it
# or under a private /usr/lib/debug/.build-id), which the tool reads
# through /proc/PID/root.  And the tool run inside the target's namespace
# too, where the mapping is the identity.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
command -v unshare >/dev/null ||
    { echo "SKIP: unshare (util-linux) not installed" >&2; exit 77; }
unshare --pid --fork --mount-proc true 2>/dev/null ||
    { echo "SKIP: unshare --pid --mount-proc is not permitted here (needs root or user namespaces)" >&2; exit 77; }
command -v objcopy >/dev/null && command -v strip >/dev/null ||
    { echo "SKIP: binutils (objcopy, strip) not installed" >&2; exit 77; }
T="$top_builddir/tests/integration/target"

# host_pid NSPID NAME: the pid, here, of the process called NAME whose id
# in its own namespace is NSPID and which is not in ours.
host_pid() {
    for st in /proc/[0-9]*/status; do
        awk -v want="$1" -v name="$2" '
            /^Name:/ { n = $2 }
            /^NSpid:/ { if (n == name && NF > 2 && $NF == want) found = 1 }
            END { exit !found }' "$st" 2>/dev/null || continue
        st=${st#/proc/}
        echo "${st%/status}"
        return 0
    done
    return 1
}

# wait_line FILE: waits for the "pid N" line a target prints; sets NSPID.
wait_line() {
    NSPID=
    for _ in $(seq 200); do
        NSPID=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$1" 2>/dev/null)
        [ -n "$NSPID" ] && return 0
        sleep 0.05
    done
    fail "no target started in the namespace: $(cat "$TMP/ns.err")"
}

# Debug info prepared on the host, installed only inside the namespace.
cp "$T" "$TMP/linked"
objcopy --only-keep-debug "$TMP/linked" "$TMP/linked.debug"
strip -g "$TMP/linked"
objcopy --add-gnu-debuglink="$TMP/linked.debug" "$TMP/linked"
cp "$T" "$TMP/byid"
objcopy --only-keep-debug "$TMP/byid" "$TMP/byid.debug"
strip -g "$TMP/byid"
id=$(LC_ALL=C readelf -n "$TMP/byid" | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p')
[ -n "$id" ] || { echo "SKIP: the test target has no build id" >&2; exit 77; }
idpath=$(printf '%s' "$id" | sed 's|^\(..\)|\1/|')

mkdir "$TMP/inner"
# In the namespace: a tmpfs on $TMP/inner (empty here) holds the targets
# and the debug link's file; another on /usr/lib/debug holds the build-id
# file.  The tmpfs mounts are private to the namespace.
unshare --pid --fork --mount-proc --kill-child sh -c '
    set -e
    D=$1 TMP=$2 IDPATH=$3
    mount -t tmpfs tmpfs "$D"
    cp "$TMP/linked" "$TMP/linked.debug" "$TMP/byid" "$D/"
    mkdir -p /usr/lib/debug
    mount -t tmpfs tmpfs /usr/lib/debug
    mkdir -p "/usr/lib/debug/.build-id/${IDPATH%/*}"
    cp "$TMP/byid.debug" "/usr/lib/debug/.build-id/$IDPATH.debug"
    "$D/linked" idle >"$TMP/linked.out" &
    "$D/byid" idle >"$TMP/byid.out" &
    wait' sh "$TMP/inner" "$TMP" "$idpath" >"$TMP/ns.out" 2>"$TMP/ns.err" &
PIDS="$PIDS $!"

for name in linked byid; do
    wait_line "$TMP/$name.out"
    hp=$(host_pid "$NSPID" "$name") || fail "$name (pid $NSPID in its namespace) not found here"
    PIDS="$PIDS $hp"
    [ -e "$TMP/inner/$name" ] && fail "the namespace's tmpfs is visible here"
    attach "$hp"
    expect_rc 0
    [ -z "$ERR" ] || fail "$name: unexpected stderr: $ERR"
    printf '%s\n' "$OUT" | grep -q '^╼ foo_poll at .*target.c:[0-9]*:[0-9]*$' ||
        fail "$name: debug info in the target's mount namespace not used: $OUT"
    printf '%s\n' "$OUT" | grep -q '└╼ leaf_poll at .*target.c:[0-9]*:[0-9]*$' ||
        fail "$name: no leaf frame: $OUT"
done

# The tool and the target in one namespace: ids need no mapping.
RC=0
unshare --pid --fork --mount-proc --kill-child sh -c '
    "$1" idle >"$3/in.out" &
    for _ in $(seq 200); do
        pid=$(sed -n "s/^pid \([0-9]*\)$/\1/p" "$3/in.out" 2>/dev/null)
        [ -n "$pid" ] && break
        sleep 0.05
    done
    [ -n "$pid" ] || exit 99
    exec "$2" "$pid"' sh "$T" "$ATTACH" "$TMP" >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
OUT=$(cat "$TMP/attach.out")
ERR=$(cat "$TMP/attach.err")
[ "$RC" -ne 99 ] || { echo "ERROR: the target did not start in the namespace" >&2; exit 99; }
expect_rc 0
[ -z "$ERR" ] || fail "inside: unexpected stderr: $ERR"
printf '%s\n' "$OUT" | grep -q '└╼ leaf_poll at .*target.c:[0-9]*:[0-9]*$' ||
    fail "inside the namespace: $OUT"
exit 0
