#!/bin/sh
# --symbolize of a raw dump kept in the tree (data/selfdump-raw.json, an
# examples/selfdump dump whose module paths and build ids were replaced by
# ones no machine has): every frame keeps what the dump says of it, the
# modules that could not be used are named once on stderr and in the
# output, the exit status says the dump is partial, and the whole output
# is expected/symbolize-raw*.expected.  No process is traced.
. "$top_srcdir/tests/integration/lib.sh"
RAW="$top_srcdir/tests/integration/data/selfdump-raw.json"
[ -r "$RAW" ] || harness_error "$RAW is missing"

attach --symbolize "$RAW"; expect_rc 1
expect_err '^tasktrace-attach: 3 modules of the dump could not be used, their frames keep what the dump says: /nonexistent/tasktrace-test/selfdump \(no such file\)'
printf '%s\n' "$OUT" >"$TMP/text"
printf '%s\n' "$ERR" >>"$TMP/text"
expect_output symbolize-raw "$TMP/text"
# The same line ends the output: a reader of either learns it.
[ "$(printf '%s\n' "$OUT" | sed -n '$p')" = "incomplete: ${ERR#tasktrace-attach: }" ] ||
    fail "the output does not end with the problem: $OUT"

attach --symbolize "$RAW" --folded; expect_rc 1
printf '%s\n' "$OUT" >"$TMP/folded"
expect_output symbolize-raw-folded "$TMP/folded"

# The JSON document: the dump's own pid and tasks, the problem named.
attach --symbolize "$RAW" --json; expect_rc 1
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["pid"] == 4242 and d["complete"] is False, (d["pid"], d["complete"])
assert [t["name"] for t in d["tasks"]] == ["foo", "sleeper", "dumper"], d["tasks"]
assert [p["cause"] for p in d["problems"]] == ["modules_missing"], d["problems"]
f = d["tasks"][0]["stacks"][0][0]
assert f["function"] is None and f["offset"] == "0x16f1", f
assert f["module"] == "/nonexistent/tasktrace-test/selfdump", f
' || fail "--symbolize --json of the raw dump: $OUT"
exit 0
