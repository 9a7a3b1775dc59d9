#!/bin/sh
# bench_dump_echo: the wall time of one dump of the Rust echo server with
# N connections (default 1000), each a traced tokio task: figures, no
# pass/fail.  Usage: bench_dump_echo.sh BUILDDIR [N [ROUNDS]]
# BUILDDIR is a configured build tree where make check built the crate.
set -u
b=${1:?usage: bench_dump_echo.sh BUILDDIR [N [ROUNDS]]}
n=${2:-1000}
rounds=${3:-5}
b=$(cd "$b" && pwd) || exit 1
server=$b/bindings/rust/target/release/echo_server
tool=$b/tasktrace-attach/tasktrace-attach
[ -x "$server" ] || { echo "bench_dump_echo: no $server: run make check first" >&2; exit 1; }
# Two descriptors per connection (server and client side), plus a few.
need=$((2 * n + 64))
[ "$(ulimit -n)" -ge "$need" ] 2>/dev/null || ulimit -n "$need" 2>/dev/null ||
    { echo "bench_dump_echo: need ulimit -n $need" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
LD_LIBRARY_PATH=$b/libtargetrt/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    "$server" --clients "$n" --seconds 300 >"$tmp/out" 2>"$tmp/err" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
pid=
for _ in $(seq 600); do
    pid=$(sed -n 's/^pid //p' "$tmp/out")
    [ -n "$pid" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }
    sleep 0.1
done
[ -n "$pid" ] || { echo "bench_dump_echo: the server did not start" >&2; exit 1; }
best=
for _ in $(seq "$rounds"); do
    t0=$(date +%s%N)
    "$tool" "$pid" >"$tmp/dump" 2>"$tmp/dump.err" || { cat "$tmp/dump.err" >&2; exit 1; }
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    [ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
done
tasks=$(grep -c '^task ' "$tmp/dump")
echo "echo server, $n connections: $tasks tasks dumped"
echo "dump wall time, best of $rounds: $best ms"
