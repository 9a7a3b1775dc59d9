#!/bin/sh
# Starts examples/taskdump, dumps its task tree from outside, stops it.
set -eu
top=${1:-.}
out=$(mktemp)
"$top/examples/taskdump" >"$out" &
child=$!
trap 'kill $child 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
    pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$out")
    [ -n "$pid" ] && break
    sleep 0.05
done
[ -n "${pid:-}" ] || { echo "demo: examples/taskdump did not start" >&2; exit 1; }
echo "\$ tasktrace-attach $pid"
"$top/tasktrace-attach/tasktrace-attach" "$pid"
