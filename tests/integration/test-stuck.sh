#!/bin/sh
# Threads stuck inside a task's poll (examples/stuck: a read() nobody
# answers, a busy loop, a mutex held elsewhere): the dump shows each one's
# live stack under its task, from the task's own future down to where the
# thread is; the parked tasks still report; --passive polls nothing; no
# thread is left stopped or traced, even when the tool is killed while it
# holds one.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
start stuck "$top_builddir/examples/stuck"

# A thread of the target by its name.
tid_named() {
    for t in /proc/"$PID"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] && basename "$t"
    done
}

# Every thread runs untraced: none stopped (t/T), none with a tracer.
all_released() {
    for t in /proc/"$PID"/task/*; do
        grep -q '^State:[[:space:]]*[tT]' "$t/status" &&
            fail "$1: thread $(basename "$t") left stopped: $(grep State: "$t/status")"
        grep -q '^TracerPid:[[:space:]]*0$' "$t/status" ||
            fail "$1: thread $(basename "$t") left traced: $(grep TracerPid: "$t/status")"
    done
}

# CPU ticks (utime + stime) of thread $1 so far.
cpu_of() {
    sed 's/^.*) //' "/proc/$PID/task/$1/stat" | awk '{print $12 + $13}'
}

# The executor's poll count, as the example prints it on SIGUSR1.
polls() {
    before=$(grep -c '^polls ' "$TMP/stuck.out")
    kill -USR1 "$PID"
    for _ in $(seq 100); do
        [ "$(grep -c '^polls ' "$TMP/stuck.out")" -gt "$before" ] && break
        sleep 0.02
    done
    sed -n 's/^polls //p' "$TMP/stuck.out" | tail -n 1
}

# check_stacks JSON_FILE MODE: the three stuck tasks' live stacks in the
# JSON document, as a user reads them.  MODE: dump, passive or raw.
check_stacks() {
    "$PYTHON" - "$1" "$2" <<'EOF' || fail "$2 dump: $(cat "$1")"
import json, sys
doc = json.load(open(sys.argv[1]))
mode = sys.argv[2]
tasks = {t["name"]: t for t in doc["tasks"]}
def fns(stack):
    return [f["function"] or "" for f in stack]
want = {"reader": ("request_poll", lambda f: "read" in f[-1] and "read_frame_poll" in f),
        "spinner": ("spinner_poll", lambda f: f[-1] == "checksum_spin"),
        "locker": ("locker_poll",
                   lambda f: any("pthread_mutex_lock" in x for x in f) and
                   any("lock_wait" in x or "futex" in x for x in f[-3:]))}
executor = ("worker_main", "trt__traced_poll", "start_thread", "queue_pop", "clone")
for name, (top, inner) in want.items():
    t = tasks[name]
    assert t["state"] == "polling", (name, t["state"])
    assert t["reported"] is False, name
    assert isinstance(t["poll_ns"], int) and t["poll_ns"] > 0, (name, t["poll_ns"])
    assert t["thread_name"].startswith("worker-"), (name, t["thread_name"])
    assert t["thread_stack_error"] is None, (name, t["thread_stack_error"])
    assert t["truncated"] is False, name
    f = fns(t["thread_stack"])
    assert f and inner(f), (name, f)
    if mode == "raw":
        assert any(x.startswith(executor) for x in f), (name, f)
        assert "worker_main" in f and f.index("worker_main") < f.index(top), (name, f)
    else:
        assert f[0] == top, (name, f)
        assert not any(x.startswith(executor) for x in f), (name, f)
for name in ("parked-1", "parked-2"):
    t = tasks[name]
    assert t["state"] == "idle" and t["thread_stack"] is None and t["poll_ns"] is None, t
    assert t["reported"] is (mode != "passive"), (name, mode, t["reported"])
    if mode == "dump":
        assert fns(t["stacks"][0])[0] == "parked_poll", t["stacks"]
    elif mode == "raw":
        assert "parked_poll" in fns(t["stacks"][0]), t["stacks"]
assert doc["passive"] is (mode == "passive"), doc["passive"]
assert doc["threads"] is None
EOF
}

[ -n "$(tid_named worker-4)" ] || fail "the example has no worker-4"

# The default dump: partial (three tasks never report), every stuck task
# with its live stack, and stderr naming where each is stuck.
polls0=$(polls)
attach -t 1 --json "$PID"
expect_rc 1
printf '%s\n' "$OUT" >"$TMP/dump.json"
check_stacks "$TMP/dump.json" dump
printf '%s\n' "$ERR" | grep -qE '"reader" stuck [0-9.]+[a-z]+ in read \(thread [0-9]+ "worker-[0-9]"\)' ||
    fail "stderr does not say where reader is stuck: $ERR"
printf '%s\n' "$ERR" | grep -qE '"spinner" stuck [0-9.]+[a-z]+ in checksum_spin \(thread' ||
    fail "stderr does not say where spinner is stuck: $ERR"
printf '%s\n' "$ERR" | grep -qE '"locker" stuck [0-9.]+[a-z]+ in pthread_mutex_lock \(thread' ||
    fail "stderr does not say where locker is stuck: $ERR"
all_released "after a dump"
polls1=$(polls)
[ "$polls1" -ge $((polls0 + 2)) ] || fail "the dump did not re-poll the parked tasks: $polls0 -> $polls1"

# The text view: how long the poll has lasted, on which thread, and the
# live stack marked as such.
attach -t 0.3 -n "$PID"
expect_rc 1
printf '%s\n' "$OUT" | grep -qE '^task [0-9]+ "locker" polling for [0-9.]+[a-z]+ on thread [0-9]+ "worker-[0-9]", 0 polls' ||
    fail "text header of locker: $OUT"
[ "$(printf '%s\n' "$OUT" | grep -c 'live stack of thread')" -eq 3 ] || fail "text live stacks: $OUT"
printf '%s\n' "$OUT" | grep -q 'never polled' && fail "a task inside its first poll shown as never polled: $OUT"
all_released "after a text dump"

# --raw keeps the executor's frames above the task.
attach -t 1.5 --raw --json "$PID"
expect_rc 1
printf '%s\n' "$OUT" >"$TMP/raw.json"
check_stacks "$TMP/raw.json" raw

# --passive: nothing polled, the stacks still there, and a complete dump.
polls2=$(polls)
attach --passive --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/passive.json"
check_stacks "$TMP/passive.json" passive
polls3=$(polls)
[ "$polls3" -eq "$polls2" ] || fail "--passive polled: $polls2 -> $polls3"
all_released "after a passive dump"

# --threads: every thread, the task each polls, raw stacks.
attach --passive --threads --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/threads.json"
"$PYTHON" - "$TMP/threads.json" "$PID" <<'EOF' || fail "--threads: $OUT"
import json, os, sys
doc = json.load(open(sys.argv[1]))
threads = {t["tid"]: t for t in doc["threads"]}
tids = sorted(int(x) for x in os.listdir("/proc/%s/task" % sys.argv[2]))
assert sorted(threads) == tids, (sorted(threads), tids)
tasks = {t["name"]: t for t in doc["tasks"]}
for th in threads.values():
    assert set(th) == {"tid", "name", "state", "wchan", "task", "stack", "truncated",
                       "error"}, th
    assert th["truncated"] is False, th
    assert th["state"] in "RSD", th
    assert th["stack"] and th["error"] is None, th
    fns = [f["function"] or "" for f in th["stack"]]
    if th["name"] == "tasktrace":
        assert th["task"] is None, th
    if th["task"] is not None:
        owner = [t for t in tasks.values() if t["id"] == th["task"]][0]
        assert owner["thread_name"] == th["name"], (owner, th)
        assert "worker_main" in fns, fns
        if owner["name"] == "spinner":
            assert fns[-1] == "checksum_spin", fns
assert sum(th["task"] is not None for th in threads.values()) == 3, threads
assert any(th["name"] == "tasktrace" for th in threads.values())
EOF

# The spinning thread keeps running after all those stops.
spinner=$("$PYTHON" -c 'import json,sys; print([t for t in json.load(open(sys.argv[1]))["tasks"] if t["name"] == "spinner"][0]["tid"])' "$TMP/passive.json")
c0=$(cpu_of "$spinner")
sleep 0.3
c1=$(cpu_of "$spinner")
[ "$c1" -gt "$c0" ] || fail "the spinning thread $spinner stopped accumulating CPU time: $c0 -> $c1"

# SIGKILL of the tool while it holds a worker stopped: the target keeps
# running, untraced, and can be dumped again.
TASKTRACE_ATTACH_HOLD_THREAD_MS=30000 "$ATTACH" --passive "$PID" >/dev/null 2>&1 &
tool=$!
PIDS="$PIDS $tool"
held=
for _ in $(seq 250); do
    for t in /proc/"$PID"/task/*; do
        if grep -q '^State:.*t (tracing stop)' "$t/status" 2>/dev/null; then
            held=$(basename "$t")
            break 2
        fi
    done
    sleep 0.02
done
[ -n "$held" ] || fail "the tool never stopped a thread"
for t in /proc/"$PID"/task/*; do
    [ "$(basename "$t")" = "$held" ] && continue
    grep -q '^State:.*t (tracing stop)' "$t/status" && fail "thread $(basename "$t") stopped too"
done
kill -9 "$tool"
wait "$tool" 2>/dev/null || true
for _ in $(seq 100); do
    grep -q '^State:.*t (tracing stop)' "/proc/$PID/task/$held/status" || break
    sleep 0.02
done
all_released "after the tool was killed"
kill -0 "$PID" || fail "target died"
c0=$(cpu_of "$spinner")
sleep 0.3
c1=$(cpu_of "$spinner")
[ "$c1" -gt "$c0" ] || fail "the spinning thread stopped after the tool was killed"
attach -t 1 --json "$PID"
expect_rc 1
printf '%s\n' "$OUT" >"$TMP/again.json"
check_stacks "$TMP/again.json" dump
all_released "after the last dump"

# A thread that exited inside a poll leaves its task "polling" on a thread
# that is gone: said so, never another thread's stack, and a partial dump.
start vanish "$top_builddir/examples/stuck" --vanish
attach --passive --json "$PID"
expect_rc 1
printf '%s\n' "$OUT" >"$TMP/vanish.json"
"$PYTHON" - "$TMP/vanish.json" <<'EOF' || fail "vanished task: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
tasks = {t["name"]: t for t in doc["tasks"]}
v = tasks["vanished"]
assert v["state"] == "polling" and v["thread_stack"] is None, v
assert "exited" in v["thread_stack_error"], v
for name in ("reader", "spinner", "locker"):
    assert tasks[name]["thread_stack"], tasks[name]
assert [p["cause"] for p in doc["problems"]] == ["thread_stack"], doc["problems"]
EOF
printf '%s\n' "$ERR" | grep -q 'could not be read (task [0-9]*: the thread polling it exited' ||
    fail "stderr does not name the vanished thread: $ERR"
all_released "after the vanished dump"
exit 0
