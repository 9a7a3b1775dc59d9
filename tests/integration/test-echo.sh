#!/bin/sh
# The echo server with 50 connected clients: 50 connection tasks plus the
# listener, each tree ending in the fd-readable leaf.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
start echo "$top_builddir/examples/echo_server" --port 0
port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/echo.out")
[ -n "$port" ] || fail "no port"

mkfifo "$TMP/hold"
cat >"$TMP/clients.py" <<'PY'
import socket, sys
socks = []
for i in range(50):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"ping %d\n" % i)
    want = b"ping %d\n" % i
    got = b""
    while len(got) < len(want):
        got += s.recv(100)
    assert got == want, got
    socks.append(s)
open(sys.argv[2], "w").close()
sys.stdin.read()   # hold the connections until the test closes the fifo
PY
"$PYTHON" "$TMP/clients.py" "$port" "$TMP/ready" <"$TMP/hold" &
clients=$!
PIDS="$PIDS $clients"
exec 3>"$TMP/hold"
for _ in $(seq 200); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
[ -e "$TMP/ready" ] || fail "clients did not connect"

attach --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
tasks = d["tasks"]
conns = [t for t in tasks if t["name"].startswith("conn 127.0.0.1:")]
listeners = [t for t in tasks if t["name"] == "listener"]
assert len(tasks) == 51 and len(conns) == 50 and len(listeners) == 1, [t["name"] for t in tasks]
for t in tasks:
    assert t["reported"] and not t["suspect"], t
    assert len(t["stacks"]) == 1, (t["name"], t["stacks"])
    stack = t["stacks"][0]
    fns = [f["function"] for f in stack]
    # The leaf: the fd-readable poll, then only what was inlined into it.
    leaf = fns.index("trt_fd_readable_poll")
    assert all(f["inlined"] for f in stack[leaf + 1:]), (t["name"], fns)
    assert fns[0] == ("listener_poll" if t["name"] == "listener" else "conn_poll"), fns
' || fail "echo server tasks"
attach --no-group "$PID"
expect_rc 0
[ "$(printf '%s\n' "$OUT" | grep -c '^task ')" -eq 51 ] || fail "text view task count"
# Grouped (the default past 50 tasks): the 50 connections are one group.
attach "$PID"
expect_rc 0
printf '%s\n' "$OUT" | grep -qE '^50 tasks \(ids ' || fail "connections not grouped: $OUT"
exec 3>&-
wait "$clients" || fail "clients failed"
exit 0
