#!/bin/sh
# Bounded work whatever the target holds: one task with 65,536 distinct
# stacks (and some captured twice) is dumped whole, each stack once.  How
# long it takes is a figure for bench/, not asserted here; before stacks
# were deduplicated and merged by hash it took minutes.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
T="$top_builddir/tests/integration/target"

start fan "$T" many-stacks
attach --no-source --timeout 120 --task fan "$PID"; expect_rc 0
[ -z "$ERR" ] || fail "stderr on a complete dump: $ERR"
printf '%s\n' "$OUT" >"$TMP/fan.txt"
head -n 1 "$TMP/fan.txt" | grep -q '^task 1 "fan" ' || fail "not the fan task: $(head -n 3 "$TMP/fan.txt")"
# One leaf per distinct stack: 2^16 of them, the repeated ones once, with
# their count.
[ "$(grep -cE '╼ fan_leaf( ×[0-9]+)?$' "$TMP/fan.txt")" -eq 65536 ] ||
    fail "expected 65536 leaves, got $(grep -cE '╼ fan_leaf( ×[0-9]+)?$' "$TMP/fan.txt")"
[ "$(grep -c '╼ fan_leaf ×2$' "$TMP/fan.txt")" -eq 4096 ] ||
    fail "expected 4096 leaves captured twice, got $(grep -c '╼ fan_leaf ×2$' "$TMP/fan.txt")"
# Each leaf under sixteen levels of fan_a/fan_b below fan_poll.
grep -q '^ *└╼ fan_leaf$' "$TMP/fan.txt" || fail "no fan_leaf leaf"
[ "$(grep -c '╼ fan_[ab]$' "$TMP/fan.txt")" -ge 65536 ] || fail "too few fan_a/fan_b nodes"
grep -q 'incomplete:' "$TMP/fan.txt" && fail "marked incomplete: $(grep incomplete: "$TMP/fan.txt")"

# Symbolizing past its deadline stops: the addresses left are printed bare,
# and the dump says so (the hook sets the deadline at once, as a slow
# symbolizer would reach it).
start idle "$T" idle
RC=0
TASKTRACE_ATTACH_SYMBOLIZE_MS=0 "$ATTACH" --json "$PID" >"$TMP/late.json" 2>"$TMP/late.err" || RC=$?
OUT=$(cat "$TMP/late.json"); ERR=$(cat "$TMP/late.err")
expect_rc 1
expect_err "PID $PID: symbolizing ran out of time \(see --timeout\); [0-9]+ addresses are printed unsymbolized"
"$PYTHON" - "$TMP/late.json" <<'PY' || fail "late symbolizing: $OUT"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["complete"] is False and [p["cause"] for p in d["problems"]] == ["deadline"], d["problems"]
frames = d["tasks"][0]["stacks"][0]
assert frames and all(f["function"] is None and f["module"] is None for f in frames), frames
PY
# Without the hook the same process dumps whole.
attach "$PID"; expect_rc 0
exit 0
