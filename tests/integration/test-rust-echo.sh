#!/bin/sh
# bindings/rust/examples/echo_server.rs: a tokio echo server on 127.0.0.1
# with 20 connected clients, each connection a traced task, and a "ticker"
# task in tokio::select! over a sleep and an mpsc receive.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/bindings/rust/tests-env.sh"
require_ptrace
start echo "$RS_BIN/echo_server" --clients 20 --seconds 120

attach --json "$PID"
expect_rc 0
[ -z "$ERR" ] || fail "stderr on a complete dump: $ERR"
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["complete"] is True, d
names = sorted(t["name"] for t in d["tasks"])
assert names == ["conn"] * 20 + ["ticker"], names
' || fail "not 21 tasks (20 conn, 1 ticker) in a complete dump: $OUT"
printf '%s\n' "$OUT" | rs_frames >"$TMP/stacks" || fail "JSON stacks"

# Every connection waits in tokio's socket read: its one stack starts at
# its own handler and ends in tokio's readiness leaf, below the read (the
# frames between depend on what the compiler inlined in tokio).
[ "$(grep -c '^conn: ' "$TMP/stacks")" -eq 20 ] || fail "not one stack per conn: $(cat "$TMP/stacks")"
grep '^conn: ' "$TMP/stacks" | grep -v -E \
    'echo_server::handle::.*\| <tokio::io::util::read::Read<R> as core::future::future::Future>::poll \|.* \| tokio::runtime::io::scheduled_io::ScheduledIo::poll_readiness$' &&
    fail "a conn stack does not go from handle through the read to the socket's readiness"

# The ticker shows both branches of its select!: the sleep and the receive.
[ "$(grep -c '^ticker: ' "$TMP/stacks")" -eq 2 ] || fail "the ticker has not two leaves: $(cat "$TMP/stacks")"
grep '^ticker: ' "$TMP/stacks" | grep -q 'echo_server::ticker::.*<tokio::time::sleep::Sleep as core::future::future::Future>::poll' ||
    fail "no sleep branch: $(cat "$TMP/stacks")"
grep '^ticker: ' "$TMP/stacks" | grep -q 'echo_server::ticker::.*tokio::sync::mpsc::bounded::Receiver<T>::recv' ||
    fail "no mpsc branch: $(cat "$TMP/stacks")"

# Trimmed: no scheduler, glue or runtime frame; --raw has them.
# (Rust's own Waker methods are glue; tokio's WakerRef::into_waker, which
# calls them, is the leaf's.)
grep -E 'tokio::runtime::(scheduler|task)::|tasktrace::|trt_|<core::task::wake::Waker as core::clone::Clone>|core::task::wake::Waker::wake' "$TMP/stacks" &&
    fail "scheduler, runtime or glue frames in the default view"
attach --raw --no-source "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -q 'tokio::runtime::scheduler::' || fail "--raw lacks the scheduler"

attach "$PID"
expect_rc 0
[ "$(printf '%s\n' "$OUT" | grep -c '^task ')" -eq 21 ] || fail "text view: not 21 tasks: $OUT"

# The server still echoes after the dumps: the target was not hurt.
addr=$(sed -n 's/^listening //p' "$TMP/echo.out")
"$PYTHON" - "$addr" <<'PY' || fail "no echo from $addr after the dumps"
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
assert host == "127.0.0.1", host
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"still there\n")
got = b""
while len(got) < 12:
    chunk = s.recv(64)
    assert chunk, got
    got += chunk
assert got == b"still there\n", got
PY
kill -0 "$PID" || fail "target died"
exit 0
