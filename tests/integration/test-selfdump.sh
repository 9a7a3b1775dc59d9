#!/bin/sh
# Dumps from inside the process (no tool, no ptrace): a task awaiting the
# dump future on the single-threaded reference executor, the blocking call
# from a thread that polls no task, and a dump on a signal handed over by
# the environment.  Each raw dump must be valid JSON whose frames name
# their module, build id and offset; symbolized by the tool it must show
# the tree a live dump shows.
. "$top_srcdir/tests/integration/lib.sh"
SELFDUMP="$top_builddir/examples/selfdump"
TASKDUMP="$top_builddir/examples/taskdump"
need_program "$SELFDUMP"
need_program "$TASKDUMP"

# check_raw FILE NAMES...: FILE is one complete raw dump of the tasks NAMES
# (in id order), each reported with non-empty stacks whose frames are
# unsymbolized and locate their address (pc = base + offset).
check_raw() {
    "$PYTHON" - "$@" <<'PY'
import json, sys
path, names = sys.argv[1], sys.argv[2:]
with open(path, encoding="utf-8") as f:
    text = f.read()
assert text.endswith("\n") and text.count("\n") == 1, "not one line: %r" % text[-40:]
d = json.loads(text)
assert d["version"] == 1 and d["raw"] is True, (d["version"], d.get("raw"))
assert d["complete"] is True and d["problems"] == [], d["problems"]
assert d["generation"] > 0 and d["records_lost"] == 0 and d["records_torn"] == 0
assert d["passive"] is False and d["threads"] is None
assert [t["name"] for t in d["tasks"]] == names, [t["name"] for t in d["tasks"]]
mods = {m["path"]: m for m in d["modules"]}
assert len(mods) == len(d["modules"]) and mods, d["modules"]
for t in d["tasks"]:
    assert t["reported"] is True and t["suspect"] is False and t["state"] == "idle", t
    assert isinstance(t["polls"], int) and t["polls"] >= 1, t
    assert t["stacks"], "task %s has no stack" % t["name"]
    for s in t["stacks"]:
        assert len(s) >= 3, s
        for f in s:
            assert f["function"] is None and f["file"] is None and f["line"] is None, f
            assert f["column"] is None and f["inlined"] is False, f
            assert f["module"] in mods, f
            m = mods[f["module"]]
            assert f["build_id"] == m["build_id"] and m["build_id"], (f, m)
            assert int(f["pc"], 16) == int(m["base"], 16) + int(f["offset"], 16), (f, m)
    assert len(set(json.dumps(s) for s in t["stacks"])) == len(t["stacks"]), "repeated stack"
    assert len(t["stack_counts"]) == len(t["stacks"]) and min(t["stack_counts"]) >= 1, t
    assert t["stacks_lost"] is False, t
    sp = t["spawned_at"]
    assert sp is None or int(sp["pc"], 16) == int(mods[sp["module"]]["base"], 16) + int(sp["offset"], 16), sp
import re
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["taken_at"]), d["taken_at"]
assert d["tasks_total"] == len(d["tasks"]), d["tasks_total"]
foo = [t for t in d["tasks"] if t["name"] == "foo"]
assert not foo or len(foo[0]["stacks"]) == 2, foo
PY
}

# 1. The future, awaited by the task "dumper" on the single-threaded executor.
"$SELFDUMP" >"$TMP/raw.json" 2>"$TMP/raw.err" || fail "selfdump exited with $?: $(cat "$TMP/raw.err")"
check_raw "$TMP/raw.json" foo sleeper dumper || fail "future's raw dump: $(head -c 600 "$TMP/raw.json")"
[ -s "$TMP/raw.err" ] && fail "selfdump wrote to stderr: $(cat "$TMP/raw.err")"

# 2. The blocking call from the main thread, the executor on another one.
"$SELFDUMP" --thread >"$TMP/thread.json" 2>"$TMP/thread.err" ||
    fail "selfdump --thread exited with $?: $(cat "$TMP/thread.err")"
check_raw "$TMP/thread.json" foo sleeper || fail "trt_dump_write's raw dump: $(head -c 600 "$TMP/thread.json")"

# A task stuck inside a poll: the dump is partial (exit status 1), says
# why, and shows where the stuck task is polled.
rc=0
"$SELFDUMP" --thread --stuck >"$TMP/stuck.json" 2>"$TMP/stuck.err" || rc=$?
[ "$rc" -eq 1 ] || fail "selfdump --thread --stuck exited with $rc, not 1: $(cat "$TMP/stuck.err")"
"$PYTHON" - "$TMP/stuck.json" <<'PY' || fail "partial raw dump: $(cat "$TMP/stuck.json")"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["complete"] is False and d["raw"] is True, d
assert [p["cause"] for p in d["problems"]] == ["timeout"], d["problems"]
assert "timed out after" in d["problems"][0]["message"] and "3 of 3 tasks" in d["problems"][0]["message"], d["problems"]
tasks = {t["name"]: t for t in d["tasks"]}
assert sorted(tasks) == ["foo", "sleeper", "stuck"], sorted(tasks)
s = tasks["stuck"]
assert s["state"] == "polling" and s["reported"] is False and isinstance(s["tid"], int), s
assert s["poll_ns"] >= 400000000 and s["thread_stack"] is None and s["thread_stack_error"], s
assert all(not t["reported"] for t in d["tasks"]), d["tasks"]
PY

# 3. The raw dump, symbolized by the tool, shows what the tool shows live.
can_ptrace() {
    scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
    [ "$scope" = 0 ] || { [ "$scope" != 3 ] && [ "$(id -u)" -eq 0 ]; }
}
if [ -x "$ATTACH" ] && "$ATTACH" --help 2>&1 | grep -q -- --symbolize && can_ptrace; then
    start serve "$SELFDUMP" --serve
    head -n 1 "$TMP/serve.out" >"$TMP/serve.json"
    check_raw "$TMP/serve.json" foo sleeper dumper || fail "--serve raw dump"
    attach --json --symbolize "$TMP/serve.json"; expect_rc 0
    printf '%s\n' "$OUT" >"$TMP/sym.json"
    attach --json "$PID"; expect_rc 0
    printf '%s\n' "$OUT" >"$TMP/live.json"
    "$PYTHON" - "$TMP/sym.json" "$TMP/live.json" <<'PY' || fail "symbolized raw dump and live dump differ"
import json, sys
def trees(path):
    d = json.load(open(path, encoding="utf-8"))
    return {t["name"]: sorted([[(f["function"], f["file"], f["line"]) for f in s] for s in t["stacks"]])
            for t in d["tasks"]}
sym, live = trees(sys.argv[1]), trees(sys.argv[2])
# The task "dumper" finished before the live dump; the others are the same.
assert sorted(sym) == ["dumper", "foo", "sleeper"] and sorted(live) == ["foo", "sleeper"], (sym, live)
for name in live:
    assert sym[name] == live[name], (name, sym[name], live[name])
fns = [f[0] for s in sym["foo"] for f in s]
for fn in ("foo_poll", "bar_poll", "fiz_poll", "buz_poll", "baz_poll", "trt_pending_poll"):
    assert fn in fns, (fn, fns)
assert sym["dumper"][0][0][0] == "dumper_poll", sym["dumper"]
PY
else
    echo "SKIP: symbolizing the raw dump is not compared with a live one (no --symbolize or no ptrace)" >&2
fi

# 4. A signal handed over by the environment, to an unmodified program.
mkdir "$TMP/d" || harness_error "mkdir"
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/d/dump-%p-%t.json" start sig "$TASKDUMP"
SIGPID=$PID
# files_settled N: waits (10 s at most) for at least N dump files, then
# for their number to stay the same for half a second; prints it.
files_settled() {
    n=0
    for _ in $(seq 100); do
        n=$(ls "$TMP/d" | wc -l)
        [ "$n" -ge "$1" ] && break
        sleep 0.1
    done
    while :; do
        sleep 0.5
        m=$(ls "$TMP/d" | wc -l)
        [ "$m" -eq "$n" ] && break
        n=$m
    done
    echo "$n"
}
kill -USR2 "$SIGPID" || fail "kill -USR2"
n=$(files_settled 1)
[ "$n" -eq 1 ] || fail "one signal made $n dump files: $(ls "$TMP/d")"
f=$(ls "$TMP/d")
case "$f" in dump-"$SIGPID"-[0-9]*.json) ;; *) fail "dump file name: $f" ;; esac
[ "$(stat -c %a "$TMP/d/$f")" = 600 ] || fail "dump file mode: $(stat -c %a "$TMP/d/$f")"
check_raw "$TMP/d/$f" foo || fail "signal's raw dump: $(head -c 600 "$TMP/d/$f")"
kill -0 "$SIGPID" || fail "the target died of the signal"

i=0
while [ "$i" -lt 20 ]; do kill -USR2 "$SIGPID" || fail "kill -USR2 ($i)"; i=$((i + 1)); done
n=$(files_settled 2)
# Signals that come during a dump are served by it: between 1 and 20 more.
[ "$n" -ge 2 ] && [ "$n" -le 21 ] || fail "20 signals made $((n - 1)) more dump files"
for f in "$TMP"/d/*; do
    check_raw "$f" foo || fail "signal's raw dump $f: $(head -c 600 "$f")"
done
kill -0 "$SIGPID" || fail "the target died of 20 signals"
grep -q . "$TMP/sig.err" && fail "the target wrote to stderr: $(cat "$TMP/sig.err")"
if [ -x "$ATTACH" ] && can_ptrace; then
    attach --json "$SIGPID"; expect_rc 0
else
    echo "SKIP: the tool's dump after the 20 signals (no tasktrace-attach or no ptrace)" >&2
fi
echo "signals: 21 sent, $n dump files" >&2

# 5. The file is never one someone placed there: a link is not followed,
# the next free name is taken; "stderr" writes the dump there.
ln -s "$TMP/victim" "$TMP/fixed.json" || harness_error "ln -s"
TASKTRACE_SIGNAL=SIGUSR1 TASKTRACE_DUMP="$TMP/fixed.json" start link "$TASKDUMP"
kill -USR1 "$PID" || fail "kill -USR1"
for _ in $(seq 100); do [ -s "$TMP/fixed.json.1" ] && break; sleep 0.1; done
sleep 0.3
[ -e "$TMP/victim" ] && fail "the dump followed a symbolic link"
check_raw "$TMP/fixed.json.1" foo || fail "dump next to a link: $(ls -l "$TMP")"

TASKTRACE_SIGNAL=USR2 start err "$TASKDUMP"
kill -USR2 "$PID" || fail "kill -USR2"
for _ in $(seq 100); do grep -q '"raw":true' "$TMP/err.err" && break; sleep 0.1; done
sleep 0.3
check_raw "$TMP/err.err" foo || fail "dump on stderr: $(head -c 600 "$TMP/err.err")"

# A dump of many tasks is whole: each task's captures are found where the
# last task's ended, not by reading the ring once per task (which ran out of
# its budget past about 8,000 tasks).
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/many.json" start many "$top_builddir/examples/many_tasks" --tasks 20000
kill -USR2 "$PID" || fail "kill -USR2 (many)"
for _ in $(seq 300); do tail -c 20 "$TMP/many.json" 2>/dev/null | grep -q '"raw":true}' && break; sleep 0.1; done
"$PYTHON" - "$TMP/many.json" <<'PY' || fail "in-process dump of 20,000 tasks"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["complete"] is True, d["problems"]
tasks = d["tasks"]
assert len(tasks) == 20000, len(tasks)
bare = [t["id"] for t in tasks if not t["stacks"]]
assert not bare, "tasks without stacks: %r" % bare[:5]
PY

# A destination nobody reads holds no later dump: once the pipe is full a
# dump waits at most 5 s for it, is given up, and the doorbell serves the
# next request (here the tool's, which a blocked write would never see).
if [ -x "$ATTACH" ] && can_ptrace; then
    mkfifo "$TMP/full" || harness_error "mkfifo"
    # Holds the pipe's read end open and never reads.
    sleep 600 <"$TMP/full" &
    PIDS="$PIDS $!"
    TASKTRACE_SIGNAL=USR2 "$TASKDUMP" >"$TMP/full.out" 2>"$TMP/full" &
    PIDS="$PIDS $!"
    PID=""
    for _ in $(seq 200); do
        PID=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/full.out" 2>/dev/null)
        [ -n "$PID" ] && break
        sleep 0.05
    done
    [ -n "$PID" ] || harness_error "taskdump with stderr on a pipe did not start"
    PIDS="$PIDS $PID"
    # About 20 dumps fill a 64 KiB pipe; the later ones find it full.
    for _ in $(seq 40); do kill -USR2 "$PID" || fail "kill -USR2 (full pipe)"; sleep 0.05; done
    attach --timeout 15 "$PID"
    expect_rc 0
    kill -0 "$PID" || fail "the target died writing to a full pipe"
else
    echo "SKIP: a dump to a full pipe, then the tool's (no tasktrace-attach or no ptrace)" >&2
fi

# Names with quotes, backslashes, control bytes and invalid UTF-8 are
# escaped as the tool escapes them.
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/names.json" start names "$top_builddir/tests/integration/target" names
kill -USR2 "$PID" || fail "kill -USR2"
for _ in $(seq 100); do [ -s "$TMP/names.json" ] && break; sleep 0.1; done
sleep 0.3
"$PYTHON" - "$TMP/names.json" <<'PY' || fail "names in the raw dump: $(cat "$TMP/names.json")"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
names = [t["name"] for t in d["tasks"]]
assert names == ['quote"back\\slash', "ctl\x01\x1b[31mred", "bad\ufffd\ufffdutf8", "café"], names
assert d["complete"] is True, d["problems"]
PY

# UTF-8-encoded C1 controls (U+009B is a terminal's CSI) come out as
# \u009b, as the tool writes them, never as raw bytes.
TASKTRACE_SIGNAL=USR2 TASKTRACE_DUMP="$TMP/c1.json" start c1 "$top_builddir/tests/integration/target" c1-names
kill -USR2 "$PID" || fail "kill -USR2"
for _ in $(seq 100); do [ -s "$TMP/c1.json" ] && break; sleep 0.1; done
sleep 0.3
"$PYTHON" - "$TMP/c1.json" <<'PY' || fail "C1 controls in the raw dump: $(cat "$TMP/c1.json")"
import json, re, sys
raw = open(sys.argv[1], "rb").read()
assert re.search(rb"\xc2[\x80-\x9f]", raw) is None, "a raw C1 control"
assert b'"c1\\u009b31mred"' in raw, raw[:400]
d = json.loads(raw.decode("utf-8"))
assert [t["name"] for t in d["tasks"]] == ["c1\x9b31mred"], d["tasks"]
PY

# A program's own handler is never replaced: the dump is refused, said once.
TASKTRACE_SIGNAL=CHLD start chld "$TASKDUMP"
grep -q 'TASKTRACE_SIGNAL=CHLD' "$TMP/chld.err" || fail "a refused signal not said: $(cat "$TMP/chld.err")"
exit 0
