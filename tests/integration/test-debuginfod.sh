#!/bin/sh
# --symbolize fetches a module this machine lacks from debuginfod, by build
# id, where DEBUGINFOD_URLS is set: a raw dump written by a program whose
# executable is gone is symbolized from a local debuginfod server that
# holds it; without the server the module is named missing.
. "$top_srcdir/tests/integration/lib.sh"

command -v debuginfod >/dev/null 2>&1 || {
    echo "SKIP: debuginfod (Debian package debuginfod) is needed to serve the module" >&2
    exit 77
}
need_program "$ATTACH"

# The program's real binary (libtool may wrap it), run from a copy that is
# removed before the dump is symbolized.
BIN="$top_builddir/examples/.libs/taskdump"
[ -x "$BIN" ] || BIN="$top_builddir/examples/taskdump"
need_program "$BIN"
mkdir "$TMP/bin" "$TMP/srv" "$TMP/cache" || harness_error "mkdir"
cp "$BIN" "$TMP/bin/gone-taskdump" || harness_error "cp $BIN"
LD_LIBRARY_PATH="$top_builddir/libtargetrt/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/raw.json" start gone "$TMP/bin/gone-taskdump"
kill -USR2 "$PID" || fail "kill -USR2"
for _ in $(seq 100); do tail -c 20 "$TMP/raw.json" 2>/dev/null | grep -q '"raw":true}' && break; sleep 0.1; done
grep -q '"raw":true}' "$TMP/raw.json" || fail "no raw dump written: $(cat "$TMP/gone.err")"
kill "$PID"
mv "$TMP/bin/gone-taskdump" "$TMP/srv/" || harness_error "mv"

# Without debuginfod: the executable is missing, said as such.
unset DEBUGINFOD_URLS
attach --symbolize "$TMP/raw.json" --no-group --no-source
expect_rc 1
printf '%s\n' "$ERR" | grep -q 'gone-taskdump' || fail "the missing module is not named: $ERR"
printf '%s\n' "$OUT" | grep -q 'foo_poll' && fail "symbolized without the module: $OUT"

# A debuginfod that cannot be reached is said too, with the module.
DEBUGINFOD_URLS=http://127.0.0.1:9 DEBUGINFOD_CACHE_PATH="$TMP/cache-none" DEBUGINFOD_TIMEOUT=2 \
    attach --symbolize "$TMP/raw.json" --no-group --no-source
expect_rc 1
printf '%s\n' "$ERR" | grep -q 'debuginfod' || {
    echo "SKIP: this tasktrace-attach is built without libdebuginfod (Debian: libdebuginfod-dev): $ERR" >&2
    exit 77
}

# A local server that scans the directory holding the executable.
port=""
for try in 1 2 3 4 5; do
    p=$((20000 + ($$ * 7 + try * 131) % 20000))
    debuginfod -F -p "$p" -d "$TMP/db$try.sqlite" -t 0 -g 0 "$TMP/srv" >"$TMP/srv$try.log" 2>&1 &
    srv=$!
    PIDS="$PIDS $srv"
    sleep 0.5
    if kill -0 "$srv" 2>/dev/null; then
        port=$p
        break
    fi
done
[ -n "$port" ] || harness_error "debuginfod did not start: $(cat "$TMP/srv1.log")"
build_id=$("$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(next(m["build_id"] for m in d["modules"] if m["path"].endswith("gone-taskdump")))
' "$TMP/raw.json") || fail "the raw dump names no gone-taskdump module"
# Scanned once started: wait until it serves the executable (each probe
# with a cache of its own: a miss is cached).
for i in $(seq 100); do
    DEBUGINFOD_URLS="http://127.0.0.1:$port" DEBUGINFOD_CACHE_PATH="$TMP/probe$i" \
        debuginfod-find executable "$build_id" >/dev/null 2>&1 && break
    sleep 0.2
done

DEBUGINFOD_URLS="http://127.0.0.1:$port" DEBUGINFOD_CACHE_PATH="$TMP/cache" \
    attach --symbolize "$TMP/raw.json" --no-group
expect_rc 0
printf '%s\n' "$OUT" | sed -n '/^task/,/^$/p' >"$TMP/tree"
for f in foo_poll bar_poll fiz_poll buz_poll baz_poll pending_poll; do
    grep -q "$f at .*taskdump.c:[0-9]" "$TMP/tree" || fail "$f not symbolized from debuginfod: $(cat "$TMP/tree")"
done
exit 0
