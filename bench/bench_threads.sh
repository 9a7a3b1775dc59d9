#!/bin/sh
# bench_threads: what the live thread stacks cost the target, in figures
# (no pass/fail), on examples/stuck (four workers, three of them stuck
# inside a poll: a read(), a busy loop, a mutex).
#
#   1. How long each thread was stopped: DUMPS dumps (default 20), each
#      stopping the three stuck workers one at a time, as the tool itself
#      measures it (TASKTRACE_ATTACH_STATS): "stopped" from PTRACE_INTERRUPT
#      to PTRACE_DETACH (the scheduler's delay in stopping the thread
#      included), "held" from the moment the tool saw the stop to the
#      detach (the copy of registers and stack).  Median and max over all
#      stops; the same for --passive --threads (every thread).
#   2. The whole dump next to eu-stack on the same process, interleaved run
#      for run, RUNS times each: tasktrace-attach --passive (the registry
#      and the three live stacks), tasktrace-attach -t 0.2 (a dump that
#      waits 0.2 s for the three stuck tasks, then reads their threads),
#      eu-stack -p, eu-stack -i -s -p.
#
# Usage: sh bench/bench_threads.sh [BUILD_DIR]  (default: $top_builddir, or .)
# Environment: DUMPS (default 20), RUNS (default 11).  Needs python3;
# eu-stack (elfutils) is used when present.  Exit status 0, 1 when the
# target does not start or a tool is missing.
set -u
build=${1:-${top_builddir:-.}}
DUMPS=${DUMPS:-20}
RUNS=${RUNS:-11}
ATTACH="$build/tasktrace-attach/tasktrace-attach"
PYTHON=${PYTHON:-python3}

die() {
    echo "bench_threads: $*" >&2
    exit 1
}

[ -x "$ATTACH" ] || die "no $ATTACH: build first (make), or give the build directory"
[ -x "$build/examples/stuck" ] || die "no $build/examples/stuck: build first (make)"
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

"$build/examples/stuck" >"$TMP/stuck.out" 2>"$TMP/stuck.err" &
KILL="$KILL $!"
PID=""
i=0
while [ $i -lt 600 ]; do
    PID=$(sed -n 's/^pid \([0-9][0-9]*\)$/\1/p' "$TMP/stuck.out")
    [ -n "$PID" ] && break
    sleep 0.05
    i=$((i + 1))
done
[ -n "$PID" ] || die "examples/stuck did not start: $(cat "$TMP/stuck.err")"

echo "machine: $(nproc) CPUs, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "examples/stuck (pid $PID)"

# stops LABEL ARGS...: DUMPS dumps with ARGS, the tool's per-stop figures
# gathered, median and max printed.
stops() {
    label=$1
    shift
    : >"$TMP/stops"
    n=0
    while [ $n -lt "$DUMPS" ]; do
        TASKTRACE_ATTACH_STATS=1 "$ATTACH" "$@" "$PID" 2>&1 >/dev/null |
            sed -n 's/^tasktrace-attach: thread stops (us, stopped\/held)://p' >>"$TMP/stops"
        n=$((n + 1))
    done
    "$PYTHON" - "$TMP/stops" "$label" "$DUMPS" <<'EOF'
import statistics, sys
pairs = [tuple(float(x) for x in w.split("/")) for line in open(sys.argv[1]) for w in line.split()]
if not pairs:
    sys.exit("%s: no stops recorded" % sys.argv[2])
stopped = [p[0] for p in pairs]
held = [p[1] for p in pairs]
print("%s: %d stops over %s dumps" % (sys.argv[2], len(pairs), sys.argv[3]))
print("  stopped (interrupt to detach): median %7.1f us, max %8.1f us, over 1 ms: %d"
      % (statistics.median(stopped), max(stopped), sum(s > 1000 for s in stopped)))
print("  held (stop seen to detach):    median %7.1f us, max %8.1f us"
      % (statistics.median(held), max(held)))
EOF
}

echo
stops "dump -t 0.2 (the three stuck workers)" -t 0.2
stops "--passive --threads (every thread)" --passive --threads

# timeruns RUNS LABEL CMD [LABEL CMD ...]: as in bench_dump.sh.
timeruns() {
    "$PYTHON" - "$@" <<'EOF'
import statistics, subprocess, sys, time
runs = int(sys.argv[1])
pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
times = {label: [] for label, _ in pairs}
fails = {label: 0 for label, _ in pairs}
for r in range(runs):
    for label, cmd in pairs:
        t0 = time.perf_counter()
        p = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t1 = time.perf_counter()
        times[label].append((t1 - t0) * 1e3)
        fails[label] += p.returncode not in (0, 1)
width = max(len(label) for label, _ in pairs)
for label, _ in pairs:
    t = times[label]
    note = "" if fails[label] == 0 else " (%d failed)" % fails[label]
    print("%-*s  median %7.1f ms  (min %.1f, max %.1f; %d runs)%s"
          % (width, label, statistics.median(t), min(t), max(t), len(t), note))
EOF
}

echo
echo "whole dump, $RUNS runs each, interleaved:"
if command -v eu-stack >/dev/null 2>&1; then
    timeruns "$RUNS" \
        "tasktrace-attach --passive" "'$ATTACH' --passive $PID" \
        "tasktrace-attach -t 0.2" "'$ATTACH' -t 0.2 $PID" \
        "eu-stack -p" "eu-stack -p $PID" \
        "eu-stack -i -s -p" "eu-stack -i -s -p $PID"
else
    timeruns "$RUNS" \
        "tasktrace-attach --passive" "'$ATTACH' --passive $PID" \
        "tasktrace-attach -t 0.2" "'$ATTACH' -t 0.2 $PID"
    echo "eu-stack: not installed (Debian package elfutils), skipped"
fi
kill -0 "$PID" 2>/dev/null || echo "warning: examples/stuck exited during the runs"
exit 0
