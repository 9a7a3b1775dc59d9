#!/bin/sh
# --json parsed by a real JSON parser and checked against the text view.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
CHECK="$top_srcdir/tests/integration/check_json.py"

start taskdump "$top_builddir/examples/taskdump"
attach --json "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/a.json"
attach "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/a.txt"
"$PYTHON" "$CHECK" "$TMP/a.json" "$TMP/a.txt" || fail "taskdump JSON and text differ"
attach --json --raw "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/r.json"
attach --raw "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/r.txt"
"$PYTHON" "$CHECK" "$TMP/r.json" "$TMP/r.txt" || fail "--raw JSON and text differ"

# Names with quotes, backslashes, control bytes and invalid UTF-8.
start names "$top_builddir/tests/integration/target" names
attach --json "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/n.json"
attach "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/n.txt"
"$PYTHON" "$CHECK" "$TMP/n.json" "$TMP/n.txt" || fail "names: JSON and text differ"
"$PYTHON" - "$TMP/n.json" <<'PY' || fail "names in JSON"
import json, sys
names = [t["name"] for t in json.load(open(sys.argv[1], encoding="utf-8"))["tasks"]]
assert names == ['quote"back\\slash', "ctl\x01\x1b[31mred", "bad\ufffd\ufffdutf8", "café"], names
PY
# The text view escapes what could steer a terminal.
grep -q "$(printf '\033')" "$TMP/n.txt" && fail "raw ESC from a task name reached the terminal"
grep -qF 'task 2 "ctl\x01\x1b[31mred"' "$TMP/n.txt" || fail "control bytes not escaped: $(cat "$TMP/n.txt")"
exit 0
