#!/bin/sh
# bench_dump: the wall time of a dump from outside, in figures (no pass/fail).
#
#   1. examples/taskdump (one task): tasktrace-attach and eu-stack -i -s,
#      interleaved run for run, K times each; median, min and max.
#   2. examples/many_tasks --tasks T: tasktrace-attach, a first dump and the
#      median of a few more, the number of tasks printed, the tool's max RSS.
#   3. scale: examples/many_tasks with each count of SCALE (100,000 and
#      1,000,000 tasks by default): per count, the wall time of a dump
#      (text, grouped), of a --json one and of eu-stack -p on the same
#      process; the tool's max RSS; the target's extra RSS during the dump
#      (its VmHWM, reset through /proc/PID/clear_refs, over its VmRSS
#      before); and where the time went (TASKTRACE_ATTACH_STATS phases:
#      ring+wait is the target's captures, the rest the tool's); up to
#      100,000 tasks, the same phases with the captures made by
#      backtrace() (TASKTRACE_UNWIND=backtrace) instead of the runtime's
#      stack walk.
#
# Usage: sh bench/bench_dump.sh [BUILD_DIR]   (default: $top_builddir, or .)
# Environment: RUNS (K, default 21), TASKS (T, default 10000), DUMPS (5),
# SCALE (default "100000 1000000"; empty skips part 3), SCALE_DUMPS (3).
# Needs python3 (the timer); eu-stack (elfutils) and /usr/bin/time are used
# when present.  Exit status 0, 1 when a target does not start or a tool
# is missing.
set -u
build=${1:-${top_builddir:-.}}
RUNS=${RUNS:-21}
TASKS=${TASKS:-10000}
DUMPS=${DUMPS:-5}
ATTACH="$build/tasktrace-attach/tasktrace-attach"
PYTHON=${PYTHON:-python3}

die() {
    echo "bench_dump: $*" >&2
    exit 1
}

[ -x "$ATTACH" ] || die "no $ATTACH: build first (make), or give the build directory"
command -v "$PYTHON" >/dev/null 2>&1 || die "needs $PYTHON to time the runs"

TMP=$(mktemp -d) || die "mktemp failed"
KILL=""
# shellcheck disable=SC2317 # called through the trap
cleanup() {
    for p in $KILL; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# start NAME CMD...: runs CMD in the background and waits (at most 30 s) for
# the "pid N" line it prints once its tasks are polled; sets $PID.
start() {
    name=$1
    shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    KILL="$KILL $!"
    PID=""
    i=0
    while [ $i -lt 600 ]; do
        PID=$(sed -n 's/^pid \([0-9][0-9]*\)$/\1/p' "$TMP/$name.out")
        [ -n "$PID" ] && break
        sleep 0.05
        i=$((i + 1))
    done
    [ -n "$PID" ] || die "$name did not start: $(cat "$TMP/$name.err")"
    KILL="$KILL $PID"
}

# alive NAME: says so when the target died during the runs above.
alive() {
    kill -0 "$PID" 2>/dev/null ||
        echo "warning: $1 (pid $PID) exited during the runs: $(cat "$TMP/$1.err")"
}

# stats: one more dump of $PID, printing the tool's own figures
# (TASKTRACE_ATTACH_STATS): its wall time and how long the doorbell thread
# was stopped.
stats() {
    TASKTRACE_ATTACH_STATS=1 "$ATTACH" "$PID" 2>&1 >/dev/null |
        sed -n 's/^tasktrace-attach: dump took /tool'"'"'s own figures: /p'
}

# timeruns RUNS LABEL CMD [LABEL CMD ...]: runs each shell command CMD in
# turn, RUNS rounds, stdout discarded, and prints per LABEL the median, min
# and max wall time and how many runs exited non-zero.  With STATS_DIR set,
# also keeps the output of each LABEL's last run in STATS_DIR/LABEL.
timeruns() {
    "$PYTHON" - "$@" <<'EOF'
import os, statistics, subprocess, sys, time
runs = int(sys.argv[1])
pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
times = {label: [] for label, _ in pairs}
fails = {label: 0 for label, _ in pairs}
first_err = {}
keep = os.environ.get("STATS_DIR")
for r in range(runs):
    for label, cmd in pairs:
        out = subprocess.PIPE if keep and r == runs - 1 else subprocess.DEVNULL
        t0 = time.perf_counter()
        p = subprocess.run(cmd, shell=True, stdout=out, stderr=subprocess.PIPE)
        t1 = time.perf_counter()
        times[label].append((t1 - t0) * 1e3)
        if p.returncode != 0:
            fails[label] += 1
            first_err.setdefault(label, "exit %d: %s" % (
                p.returncode, p.stderr.decode(errors="replace").strip()[:300]))
        if out is subprocess.PIPE:
            with open(os.path.join(keep, label), "wb") as f:
                f.write(p.stdout)
width = max(len(label) for label, _ in pairs)
for label, _ in pairs:
    t = times[label]
    note = "" if fails[label] == 0 else " (%d exited non-zero)" % fails[label]
    if len(t) == 1:
        print("%-*s  %7.1f ms%s" % (width, label, t[0], note))
    else:
        print("%-*s  median %7.1f ms  (min %.1f, max %.1f; %d runs)%s"
              % (width, label, statistics.median(t), min(t), max(t), len(t), note))
    if label in first_err:
        print("%-*s  first failure: %s" % (width, "", first_err[label]))
EOF
}

echo "machine: $(nproc) CPUs, $(uname -sr), ptrace_scope $(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 'n/a (no Yama)')"

# ---------------------------------------------------------------- 1. taskdump
start taskdump "$build/examples/taskdump"
echo
echo "examples/taskdump (pid $PID, 1 task), $RUNS runs each, interleaved:"
if command -v eu-stack >/dev/null 2>&1; then
    timeruns "$RUNS" \
        "tasktrace-attach" "'$ATTACH' $PID" \
        "eu-stack -i -s" "eu-stack -i -s -p $PID"
else
    timeruns "$RUNS" "tasktrace-attach" "'$ATTACH' $PID"
    echo "eu-stack: not installed (Debian package elfutils), skipped"
fi
stats
alive taskdump

# ---------------------------------------------------------------- 2. many_tasks
start many_tasks "$build/examples/many_tasks" --tasks "$TASKS"
# The tasks are polled once before "pid N"; let the process settle.
sleep 1
echo
echo "examples/many_tasks (pid $PID, $TASKS tasks):"
mkdir "$TMP/out"
STATS_DIR="$TMP/out" timeruns 1 "first dump" "'$ATTACH' $PID"
STATS_DIR="$TMP/out" timeruns "$DUMPS" "next dumps" "'$ATTACH' $PID"
# Past 50 tasks the text is grouped: its summary line says how many.
echo "tasks printed: $(sed -n 's/^\([0-9,]*\) tasks\{0,1\}[:;].*/\1/p' "$TMP/out/next dumps")"
if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$TMP/time" "$ATTACH" "$PID" >/dev/null 2>&1
    rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$TMP/time")
    echo "tool max RSS: $rss KiB"
else
    echo "tool max RSS: /usr/bin/time not installed (Debian package time), skipped"
fi
stats
alive many_tasks
kill "$PID" 2>/dev/null

# ---------------------------------------------------------------- 3. scale
SCALE=${SCALE-100000 1000000}
SCALE_DUMPS=${SCALE_DUMPS:-3}
rss_of() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB\$/\1/p" "/proc/$1/status"; }
for n in $SCALE; do
    start "scale$n" "$build/examples/many_tasks" --tasks "$n"
    sleep 1
    echo
    echo "examples/many_tasks (pid $PID, $n tasks), $SCALE_DUMPS runs each:"
    # The first dump maps the target's ring; the figures are of the next.
    "$ATTACH" --timeout 60 "$PID" >/dev/null 2>&1
    # Its pages are given back 200 ms after the runtime sees the tool is
    # done, which its doorbell looks for every second at most: measure after.
    sleep 2
    before=$(rss_of "$PID" VmRSS)
    echo 5 >"/proc/$PID/clear_refs" 2>/dev/null || echo "(cannot reset the target's VmHWM: its extra RSS is not measured)"
    STATS_DIR="$TMP/out" timeruns "$SCALE_DUMPS" \
        "text (grouped)" "'$ATTACH' --timeout 60 $PID" \
        "--json" "'$ATTACH' --timeout 60 --json $PID" \
        "--folded" "'$ATTACH' --timeout 60 --folded $PID"
    peak=$(rss_of "$PID" VmHWM)
    [ -n "$before" ] && [ -n "$peak" ] &&
        echo "target RSS: $before KiB before, peak $peak KiB during the dumps: +$((peak - before)) KiB"
    echo "text output: $(wc -l <"$TMP/out/text (grouped)") lines; --json: $(wc -c <"$TMP/out/--json") bytes"
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$TMP/time" "$ATTACH" --timeout 60 "$PID" >/dev/null 2>&1
        echo "tool max RSS (text): $(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$TMP/time") KiB"
        /usr/bin/time -v -o "$TMP/time" "$ATTACH" --timeout 60 --json "$PID" >/dev/null 2>&1
        echo "tool max RSS (--json): $(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$TMP/time") KiB"
    fi
    TASKTRACE_ATTACH_STATS=1 "$ATTACH" --timeout 60 "$PID" 2>&1 >/dev/null |
        sed -n 's/^tasktrace-attach: \(phases\|dump took\)/\1/p'
    if command -v eu-stack >/dev/null 2>&1; then
        timeruns 1 "eu-stack -p" "eu-stack -p $PID"
    fi
    alive "scale$n"
    kill "$PID" 2>/dev/null
    # The same dump with every capture made by backtrace() instead of the
    # runtime's stack walk: ring+wait is the target's side.
    if [ "$n" -le 100000 ]; then
        start "unwind$n" env TASKTRACE_UNWIND=backtrace "$build/examples/many_tasks" --tasks "$n"
        sleep 1
        "$ATTACH" --timeout 60 "$PID" >/dev/null 2>&1
        echo "with TASKTRACE_UNWIND=backtrace (captures by backtrace()):"
        TASKTRACE_ATTACH_STATS=1 "$ATTACH" --timeout 60 "$PID" 2>&1 >/dev/null |
            sed -n 's/^tasktrace-attach: \(phases\|dump took\)/\1/p'
        alive "unwind$n"
        kill "$PID" 2>/dev/null
    fi
done
exit 0
