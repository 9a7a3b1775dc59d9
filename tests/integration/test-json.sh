#!/bin/sh
# --json parsed by a real JSON parser and checked against the text view.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
CHECK="$top_srcdir/tests/integration/check_json.py"

start taskdump "$top_builddir/examples/taskdump"
attach --json "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/a.json"
attach "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/a.txt"
"$PYTHON" "$CHECK" "$TMP/a.json" "$TMP/a.txt" || fail "taskdump JSON and text differ"
# The document's shape, whole: every key in the order written, with the
# types its values had (expected/json-shape.expected).  A key added,
# dropped, moved or retyped shows in the diff, as docs/json.md asks.
"$PYTHON" - "$TMP/a.json" >"$TMP/a.shape" <<'PY' || fail "the JSON shape of $TMP/a.json"
import json, sys
seen = {}
def walk(path, v):
    t = {dict: "object", list: "array", str: "string", bool: "bool", int: "int",
         float: "number", type(None): "null"}[type(v)]
    seen.setdefault(path, [])
    if t not in seen[path]:
        seen[path].append(t)
    if isinstance(v, dict):
        for k, x in v.items():
            walk(path + "." + k, x)
    elif isinstance(v, list):
        for x in v:
            walk(path + "[]", x)
walk("", json.load(open(sys.argv[1], encoding="utf-8")))
for path, types in seen.items():
    print(path or ".", " ".join(types))
PY
expect_output json-shape "$TMP/a.shape"
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

# UTF-8-encoded C1 controls (U+009B is a terminal's CSI) in a task's and a
# thread's name come out escaped as \u009b, never as raw bytes, in a valid
# document.
start c1 "$top_builddir/tests/integration/target" c1-names
attach --json --threads "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/c1.json"
"$PYTHON" - "$TMP/c1.json" "$PID" <<'PY' || fail "C1 controls in JSON: $(cat "$TMP/c1.json")"
import json, re, sys
raw = open(sys.argv[1], "rb").read()
assert re.search(rb"\xc2[\x80-\x9f]", raw) is None, "a raw C1 control"
assert b'"c1\\u009b31mred"' in raw and b'"t\\u0085c1"' in raw, raw[:400]
d = json.loads(raw.decode("utf-8"))
assert [t["name"] for t in d["tasks"]] == ["c1\x9b31mred"], d["tasks"]
names = [t["name"] for t in d["threads"] if t["tid"] == int(sys.argv[2])]
assert names == ["t\x85c1"], d["threads"]
PY

# A stack deeper than the runtime records: its root side is cut, and said so.
start deep "$top_builddir/tests/integration/target" deep
attach --json "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/d.json"
attach "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/d.txt"
"$PYTHON" "$CHECK" "$TMP/d.json" "$TMP/d.txt" || fail "deep: JSON and text differ"
grep -q '^task 1 "deep" .*\[stack cut at the root: deeper than 60 frames\]' "$TMP/d.txt" ||
    fail "deep stack not marked: $(head -1 "$TMP/d.txt")"
"$PYTHON" - "$TMP/d.json" <<'PY' || fail "deep stack in JSON"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["version"] == 1
t = d["tasks"][0]
assert t["truncated"] is True, t["truncated"]
fns = [f["function"] for f in t["stacks"][0]]
# The leaf end is whole; the root end (foo, bar) is what was cut.
assert fns[-1] == "leaf_poll" and fns[-2] == "deep_poll", fns[-3:]
assert "foo_poll" not in fns, fns[:3]
PY
exit 0
