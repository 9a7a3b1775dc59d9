#!/bin/sh
# What a runbook reads from a process of many tasks: alike tasks grouped,
# the summary line, flame graph input (--folded), the filters, two dumps
# compared (stuck told from moving), and failures as JSON documents.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
T="$top_builddir/tests/integration/target"

# ------------------------------------------------------------ grouping
start many "$top_builddir/examples/many_tasks" --tasks 10000
MANY=$PID
attach --no-source "$MANY"; expect_rc 0
[ -z "$ERR" ] || fail "stderr on a complete dump: $ERR"
printf '%s\n' "$OUT" >"$TMP/group.txt"
# 10,000 alike tasks are one group: a header, three frames, the summary.
[ "$(wc -l <"$TMP/group.txt")" -le 8 ] || fail "grouped text is $(wc -l <"$TMP/group.txt") lines"
head -n 1 "$TMP/group.txt" | grep -qE '^10,000 tasks \(ids 1-10,000: "worker-0", "worker-1", "worker-2", \.\.\.\) idle, longest [0-9.]+[a-z]+ since last poll \(1 "worker-0"\), 1 poll$' ||
    fail "group header: $(head -n 1 "$TMP/group.txt")"
sed -n 2,4p "$TMP/group.txt" >"$TMP/got"
cat >"$TMP/want" <<'TREE'
╼ worker_poll
  └╼ step_poll
     └╼ trt_pending_poll
TREE
diff -u "$TMP/want" "$TMP/got" || fail "the group's tree"
# The summary line, the last one of a complete dump.
tail -n 1 "$TMP/group.txt" | grep -qE '^10,000 tasks: 10,000 idle; longest idle [0-9.]+[a-z]+ \(1 "worker-0"\); dumped in [0-9.]+[a-z]+$' ||
    fail "summary: $(tail -n 1 "$TMP/group.txt")"
# --no-group: every task on its own.
attach --no-group --no-source "$MANY"; expect_rc 0
[ "$(printf '%s\n' "$OUT" | grep -c '^task [0-9]* "worker-[0-9]*" idle')" -eq 10000 ] ||
    fail "--no-group did not print 10000 tasks"
# JSON: one entry per task, each with its group; --group: the groups.
attach --json "$MANY"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/tasks.json"
attach --json --group "$MANY"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/groups.json"
"$PYTHON" - "$TMP/tasks.json" "$TMP/groups.json" <<'PY' || fail "JSON groups"
import json, re, sys
d = json.load(open(sys.argv[1]))
g = json.load(open(sys.argv[2]))
rfc3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
assert re.fullmatch(rfc3339, d["taken_at"]) and re.fullmatch(rfc3339, g["taken_at"]), d["taken_at"]
assert len(d["tasks"]) == 10000 and {t["group"] for t in d["tasks"]} == {0}, "groups of tasks"
assert d["groups"] is None and d["tasks_total"] == 10000
assert g["tasks"] is None and len(g["groups"]) == 1, g.keys()
grp = g["groups"][0]
assert grp["count"] == 10000 and sorted(grp["ids"]) == list(range(1, 10001)), grp["count"]
assert grp["names"] == ["worker-0", "worker-1", "worker-2"], grp["names"]
assert [f["function"] for f in grp["task"]["stacks"][0]] == ["worker_poll", "step_poll", "trt_pending_poll"]
assert grp["longest_idle_id"] in grp["ids"] and grp["idle_ns_max"] >= 0
PY

# ------------------------------------------------------------ --folded
attach --folded "$MANY"; expect_rc 0
[ "$OUT" = "worker_poll;step_poll;trt_pending_poll 10000" ] || fail "--folded: $OUT"
start taskdump "$top_builddir/examples/taskdump"
attach --folded "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/td.folded"
# The seed's two paths, whole (expected/taskdump-folded.expected).
expect_output taskdump-folded "$TMP/td.folded"
attach --json "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/td.json"
"$PYTHON" - "$TMP/td.folded" "$TMP/td.json" <<'PY' || fail "--folded does not add up: $(cat "$TMP/td.folded")"
import json, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
paths = {}
for line in lines:
    # flamegraph.pl's and inferno's reading: the count after the last space.
    m = re.fullmatch(r"(.+) (\d+)", line)
    assert m, "unparsable line %r" % line
    frames = m.group(1).split(";")
    assert all(f and "\n" not in f for f in frames), line
    assert m.group(1) not in paths, "path twice: %r" % line
    paths[m.group(1)] = int(m.group(2))
assert lines == sorted(lines, key=lambda l: l.rsplit(" ", 1)[0]), "not sorted"
d = json.load(open(sys.argv[2]))
want = {}
for t in d["tasks"]:
    for s in t["stacks"]:
        k = ";".join(f["function"] for f in s)
        want[k] = want.get(k, 0) + 1
assert paths == want, (paths, want)
assert sum(paths.values()) == sum(len(t["stacks"]) for t in d["tasks"])
PY

# ------------------------------------------------------------ filters
attach --no-source --match 'step_p[a-z]+' "$MANY"; expect_rc 0
printf '%s\n' "$OUT" | grep -q '^10,000 tasks (ids 1-10,000' || fail "--match step_poll: $OUT"
attach --match 'many_tasks\.c$' --folded "$MANY"; expect_rc 0
[ "$OUT" = "worker_poll;step_poll;trt_pending_poll 10000" ] || fail "--match on a file: $OUT"
# A filter that matches nothing is not an error: no task, the summary says
# how many there were, the exit status is the dump's.
attach --match 'no_such_function' "$MANY"; expect_rc 0
[ "$(printf '%s\n' "$OUT" | sed -n '$p')" = "" ] && fail "no summary"
printf '%s\n' "$OUT" | grep -qE '^0 of 10,000 tasks shown; dumped in ' || fail "--match nothing: $OUT"
attach --state polling,done "$MANY"; expect_rc 0
printf '%s\n' "$OUT" | grep -qE '^0 of 10,000 tasks shown' || fail "--state polling: $OUT"
attach --state done --state idle --folded "$MANY"; expect_rc 0
[ "$OUT" = "worker_poll;step_poll;trt_pending_poll 10000" ] || fail "--state idle: $OUT"
attach --min-idle 100000 --json "$MANY"; expect_rc 0
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["tasks"] == [] and d["tasks_total"] == 10000 and d["complete"], d' || fail "--min-idle 100000: $OUT"
attach --min-idle 0 --task worker-5 --task worker-7 --match worker_poll --no-source "$MANY"; expect_rc 0
[ "$(printf '%s\n' "$OUT" | grep -c '^task ')" -eq 2 ] || fail "--task and --match: $OUT"
printf '%s\n' "$OUT" | grep -q '^2 tasks: 2 idle; ' || fail "--task and --match summary: $OUT"
attach --match '(' "$MANY"; expect_rc 64; expect_err "bad --match '\(': "
attach --state sleeping "$MANY"; expect_rc 64; expect_err "bad --state 'sleeping'"
attach --min-idle -1 "$MANY"; expect_rc 64; expect_err "bad --min-idle '-1'"
attach --folded --json "$MANY"; expect_rc 64; expect_err "folded and --json are two outputs"
# Filters change what is shown, never the status: a task that did not
# report still makes the dump partial.
start bl "$T" block
attach --timeout 0.5 --state idle "$PID"; expect_rc 1
printf '%s\n' "$OUT" | grep -q '^task 1 "ok" idle' || fail "--state idle of block: $OUT"
printf '%s\n' "$OUT" | grep -q '^task 2' && fail "--state idle showed the polling task: $OUT"
printf '%s\n' "$OUT" | grep -qE '^1 of 2 tasks shown: 1 idle; ' || fail "block summary: $OUT"
[ "$(printf '%s\n' "$OUT" | tail -n 1 | cut -c1-12)" = "incomplete: " ] || fail "footer: $OUT"

# ------------------------------------------------------------ --compare
start movers "$T" movers
attach --json "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/m1.json"
sleep 0.5
attach --json "$PID"; expect_rc 0; printf '%s\n' "$OUT" >"$TMP/m2.json"
attach --compare "$TMP/m1.json" "$TMP/m2.json"; expect_rc 3
printf '%s\n' "$OUT" >"$TMP/cmp.txt"
head -n 1 "$TMP/cmp.txt" | grep -qE "^PID $PID, dumps [0-9.]+[a-z]+ apart: 2 did not move, 2 moved, 0 appeared, 0 finished$" ||
    fail "compare: $OUT"
[ "$(sed -n 2p "$TMP/cmp.txt")" = "did not move (same poll count, same stacks):" ] || fail "compare: $OUT"
sed -n 3p "$TMP/cmp.txt" | grep -qE '^  2 tasks \(ids 3-4: "parked-3", "parked-4"\) idle, 1 poll, idle ' ||
    fail "compare, the still tasks: $OUT"
grep -q '^moved (polled in between):$' "$TMP/cmp.txt" || fail "compare, moved: $OUT"
grep -q '^  2 tasks (ids 1-2: "ticker-1", "ticker-2")$' "$TMP/cmp.txt" || fail "compare, moved: $OUT"
attach --json --compare "$TMP/m1.json" "$TMP/m2.json"; expect_rc 3
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["still"] == [3, 4] and d["moved"] == [1, 2] and d["appeared"] == [] and d["finished"] == [], d
assert d["interval_ms"] >= 400, d' || fail "compare --json: $OUT"
# Only the tickers: every task moved, 0.
"$PYTHON" -c '
import json, sys
for src, dst in zip(sys.argv[1::2], sys.argv[2::2]):
    d = json.load(open(src))
    d["tasks"] = [t for t in d["tasks"] if t["name"].startswith("ticker")]
    if dst.endswith("b.json"):
        d["tasks"].append(dict(d["tasks"][0], id=99, name="new"))
    json.dump(d, open(dst, "w"))' "$TMP/m1.json" "$TMP/a.json" "$TMP/m2.json" "$TMP/b.json"
attach --compare "$TMP/a.json" "$TMP/b.json"; expect_rc 0
printf '%s\n' "$OUT" | grep -q ': 0 did not move, 2 moved, 1 appeared, 0 finished$' || fail "compare a b: $OUT"
attach --compare "$TMP/b.json" "$TMP/a.json"; expect_rc 0
printf '%s\n' "$OUT" | grep -q '^  task 99 "new"$' || fail "compare b a: $OUT"
# A partial dump is named on stderr and marked: 1 instead of 0 (a task it
# missed may look moved), while a task still in both still gives 3.
"$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["complete"] = False
d["problems"] = [{"cause": "timeout", "message": "m"}, {"cause": "ring\u001b[31m", "message": "m"}]
json.dump(d, open(sys.argv[2], "w"))' "$TMP/b.json" "$TMP/bp.json"
attach --compare "$TMP/a.json" "$TMP/bp.json"; expect_rc 1
expect_err '^tasktrace-attach: .*bp.json is a partial dump \(timeout, ring\\x1b\[31m\): a task it missed may show as moved$'
printf '%s\n' "$OUT" | tail -n 1 | grep -qx 'incomplete: dump 2 of 2 is partial (timeout, ring\\x1b\[31m)' ||
    fail "compare, partial not marked: $OUT"
attach --json --compare "$TMP/a.json" "$TMP/bp.json"; expect_rc 1
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["partial"] == [2] and d["dumps"] == 2 and d["moved"] == [1, 2], d' || fail "compare partial --json: $OUT"
cp "$TMP/m1.json" "$TMP/m1p.json"
sed -i 's/"complete":true/"complete":false/' "$TMP/m1p.json"
grep -q '"complete":false' "$TMP/m1p.json" || fail "no \"complete\" in a dump: $(head -c 300 "$TMP/m1.json")"
attach --compare "$TMP/m1p.json" "$TMP/m2.json"; expect_rc 3
expect_err "m1p.json is a partial dump \(unknown\)"
# Untrusted input: a clear line and exit 2 (with --json, a document).
printf '{"version":1,"pid":1,"tasks":[[[[' >"$TMP/bad.json"
attach --compare "$TMP/bad.json" "$TMP/b.json"; expect_rc 2
expect_err "cannot compare .*bad.json: not a tasktrace-attach --json dump: "
"$PYTHON" -c 'print("{\"version\":1,\"pid\":1,\"x\":" + "[" * 100000 + "]" * 100000 + ",\"tasks\":[]}")' >"$TMP/deep.json"
attach --json --compare "$TMP/deep.json" "$TMP/b.json"; expect_rc 2
expect_err "nested deeper than 64"
printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["error"]["code"] == "BAD_INPUT", d' || fail "compare error document: $OUT"
# A bad task stops the reading of the tasks, one at a time, where it is.
printf '{"version":1,"pid":1,"tasks":[{"id":1,"polls":2},{"id":2}]}' >"$TMP/noid.json"
attach --json --compare "$TMP/noid.json" "$TMP/b.json"; expect_rc 2
expect_err 'cannot compare .*noid.json: not a tasktrace-attach --json dump: a task without "id" or "polls"$'
printf '{"version":1,"pid":1,"tasks":[{"id":1,"polls":2}],"tasks":7}' >"$TMP/two.json"
# The first "tasks" is the dump's, as jsonread_get reads any other key.
attach --compare "$TMP/two.json" "$TMP/two.json"; expect_rc 3
printf '%s\n' "$OUT" | head -n 1 | grep -qx 'PID 1: 1 did not move, 0 moved, 0 appeared, 0 finished' ||
    fail "compare two.json: $OUT"
attach --compare "$TMP/m1.json" "$TMP/groups.json"; expect_rc 2
expect_err "the dumps are of two processes|printed with --group"
attach --compare "$TMP/m1.json" "$TMP/nosuch.json"; expect_rc 2
expect_err "cannot compare .*nosuch.json: No such file or directory"
attach --compare "$TMP/m1.json"; expect_rc 64; expect_err "compare takes two files"

# ------------------------------------------------------------ JSON errors
# json_error CODE ARGS...: exit status 2, the line on stderr, and a JSON
# error document on stdout with CODE and that line as its message.
json_error() {
    code=$1
    shift
    attach --json "$@"; expect_rc 2
    printf '%s\n' "$OUT" | "$PYTHON" -c '
import json, re, sys
d = json.load(sys.stdin)
err = sys.argv[2].split("\n")[-1]
assert d["version"] == 1 and d["error"]["code"] == sys.argv[1], d
assert "tasktrace-attach: " + d["error"]["message"] == err, (d, err)
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["taken_at"]), d
' "$code" "$ERR" || fail "no $code error document for $*: $OUT / $ERR"
}
sh -c 'exit 0' & gone=$!; wait $gone
json_error ESRCH "$gone"
sleep 300 & PIDS="$PIDS $!"
json_error NOT_TASKTRACE $!
json_error THREAD_ID "$(ls /proc/"$MANY"/task | grep -v "^$MANY\$" | head -n 1)"
json_error KERNEL_THREAD 2
start cc "$T" corrupt-control
json_error CORRUPT "$PID"
start cr "$T" corrupt-registry
json_error CORRUPT "$PID"
start ex "$T" exit
json_error ESRCH "$PID"
start tk "$T" idle
json_error NO_TASK --task nosuch "$PID"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    RC=0
    setpriv --reuid=65534 --regid=65534 --clear-groups "$ATTACH" --json "$PID" \
        >"$TMP/attach.out" 2>"$TMP/attach.err" || RC=$?
    OUT=$(cat "$TMP/attach.out"); ERR=$(cat "$TMP/attach.err")
    expect_rc 2
    printf '%s\n' "$OUT" | "$PYTHON" -c 'import json,sys; assert json.load(sys.stdin)["error"]["code"] == "EPERM"' ||
        fail "no EPERM document: $OUT"
else
    echo "SKIP: the EPERM document of a dump by another user: it needs root and setpriv" >&2
fi
# Usage errors write no document: --json may not even have been read.
attach --json --bogus 1; expect_rc 64
[ -z "$OUT" ] || fail "usage error wrote: $OUT"
exit 0
