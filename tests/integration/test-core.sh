#!/bin/sh
# Post-mortem dumps of core files (--core) (the cores --gcore writes:
# test-gcore.sh):
#  - examples/crash dies of SIGSEGV inside the poll of task "conn-17": its
#    core (written by the kernel, or by gdb at the fault when the kernel's
#    core_pattern pipes cores elsewhere) names that task first, with the
#    signal and the faulting function, and still holds the stacks of the
#    dump taken before the crash;
#  - --exe with the right program works, with another is refused;
#  - a truncated core, a core of a program without the runtime, a file
#    that is not a core, and a FIFO each give one line and exit 2.
. "$top_srcdir/tests/integration/lib.sh"
require_ptrace
need_program "$top_builddir/examples/crash"
HAVE_GDB=yes
command -v gdb >/dev/null 2>&1 && command -v gcore >/dev/null 2>&1 || HAVE_GDB=no

# ------------------------------------------------------------ usage
attach --core "$TMP/nothing" 1
expect_rc 64
attach --exe /bin/sh 1
expect_rc 64

# ------------------------------------------------------------ crash
# The kernel writes the core when its core_pattern is a file name; a pipe
# (systemd-coredump, apport) keeps it out of reach: then gdb runs the
# example and writes the core at the fault.
mkdir "$TMP/cwd" || harness_error "mkdir"
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo "|unknown")
CORE=""
case $pattern in
"|"* | /*) how=gdb ;;
*) how=kernel ;;
esac
if [ "$how" = kernel ]; then
    ulimit -c unlimited 2>/dev/null || how=gdb
fi
if [ "$how" = kernel ]; then
    # Under AddressSanitizer the example must still die of the signal, and
    # dump its core.
    (cd "$TMP/cwd" &&
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0:disable_coredump=0" \
            exec "$top_builddir/examples/crash") >"$TMP/crash.out" 2>"$TMP/crash.err" &
    CHILD=$!
    PIDS="$PIDS $CHILD"
    for _ in $(seq 200); do
        grep -q '^pid ' "$TMP/crash.out" 2>/dev/null && break
        sleep 0.05
    done
    CPID=$(sed -n 's/^pid //p' "$TMP/crash.out")
    [ -n "$CPID" ] || harness_error "examples/crash did not start: $(cat "$TMP/crash.err")"
    # A dump before the crash: its stacks stay in the ring for the core.
    attach --json "$CPID"
    expect_rc 0
    kill -USR1 "$CPID"
    st=0
    wait "$CHILD" || st=$?
    [ "$st" -eq 139 ] || fail "examples/crash ended with status $st, not SIGSEGV with a core (139)"
    CORE=$(ls "$TMP"/cwd/core* 2>/dev/null | head -n 1)
    [ -n "$CORE" ] || fail "no core in $TMP/cwd after a SIGSEGV with ulimit -c unlimited (core_pattern $pattern)"
elif [ "$HAVE_GDB" = yes ]; then
    echo "the kernel's core_pattern is '$pattern': gdb writes the crash's core" >&2
    CORE="$TMP/cwd/crash.core"
    # gdb stops at the SIGSEGV; SIGUSR1 is only passed on.
    gdb -nx -batch -ex 'handle SIGUSR1 nostop noprint pass' -ex run \
        -ex "gcore $CORE" -ex kill --args "$top_builddir/examples/crash" \
        >"$TMP/crash.out" 2>"$TMP/crash.err" &
    GDB=$!
    PIDS="$PIDS $GDB"
    for _ in $(seq 400); do
        grep -q '^pid ' "$TMP/crash.out" 2>/dev/null && break
        sleep 0.05
    done
    CPID=$(sed -n 's/^pid //p' "$TMP/crash.out")
    [ -n "$CPID" ] || harness_error "examples/crash did not start under gdb: $(cat "$TMP/crash.err")"
    kill -USR1 "$CPID"
    wait "$GDB" || true
    [ -s "$CORE" ] || fail "gdb wrote no core at the fault: $(cat "$TMP/crash.err")"
else
    echo "SKIP: core_pattern '$pattern' pipes cores away and gdb is not installed" >&2
    exit 77
fi

attach --core "$CORE"
expect_rc 0
first=$(printf '%s\n' "$OUT" | head -n 1)
printf '%s\n' "$first" | grep -qE '^crashed in task [0-9]+ "conn-17" \(SIGSEGV at parse_header, crash\.c:[0-9]+(:[0-9]+)?, thread [0-9]+\)$' ||
    fail "the first line does not name the crash in conn-17: $OUT"
printf '%s\n' "$OUT" | grep -qE "^core .* of PID $CPID: (captured stacks of dump [0-9]+, .* older than the core|no dump's captured stacks in it); times to the runtime's last event$" ||
    fail "no core line: $OUT"
printf '%s\n' "$OUT" | grep -q 'stack of thread [0-9]* in the core, inside this poll' ||
    fail "no thread stack under the crashed task: $OUT"
attach --core "$CORE" --json
expect_rc 0
printf '%s\n' "$OUT" >"$TMP/crash.json"
"$PYTHON" - "$TMP/crash.json" "$CORE" "$how" <<'EOF' || fail "crash JSON: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
core, how = sys.argv[2], sys.argv[3]
assert doc["core"] == core, doc["core"]
k = doc["crash"]
assert k["signal"] == "SIGSEGV" and k["signo"] == 11, k
assert k["task_name"] == "conn-17", k
assert k["frame"]["function"] == "parse_header", k
if how == "kernel":
    assert k["address"] == "0x0", k
tasks = {t["name"]: t for t in doc["tasks"]}
assert set(tasks) == {"parked-1", "parked-2", "conn-17"}, tasks.keys()
conn = tasks["conn-17"]
assert conn["id"] == k["task"] and conn["state"] == "polling", conn
fns = [f["function"] for f in conn["thread_stack"]]
assert fns[-1] == "parse_header" and "header_poll" in fns and "conn_poll" in fns, fns
assert all(f not in fns for f in ("worker_main", "start_thread")), fns
# The dump before the crash: its stacks and their age, when the crash
# came before the runtime gave the records' pages back (200 ms after the
# tool read them: a slow tool, under a sanitizer, reads them later).
if doc["stacks_age_ns"] is not None:
    assert doc["stacks_age_ns"] >= 0 and doc["generation"] > 0, doc
    p = tasks["parked-1"]
    assert any("parked_poll" in [f["function"] for f in s] for s in p["stacks"]), p
else:
    assert doc["generation"] == 0 and all(not t["stacks"] for t in tasks.values()), doc
EOF

# The right --exe is accepted; another program is refused.
attach --core "$CORE" --exe "$top_builddir/examples/crash"
expect_rc 0
printf '%s\n' "$OUT" | head -n 1 | grep -q '^crashed in task' || fail "--exe: $OUT"
attach --core "$CORE" --exe "$top_builddir/examples/stuck"
expect_rc 2
expect_err '^tasktrace-attach: cannot read the core .*: --exe .*/examples/stuck is not the program of this core: its build id is [0-9a-f]+, the core.s executable .* has [0-9a-f]+$'

# ------------------------------------------------------------ bad cores
size=$(wc -c <"$CORE")
head -c $((size / 2)) "$CORE" >"$TMP/truncated.core"
attach --core "$TMP/truncated.core"
expect_rc 2
expect_err '^tasktrace-attach: cannot read the core .*truncated.core: truncated: its segments need [0-9]+ bytes and it has [0-9]+'
attach --core /bin/sh
expect_rc 2
expect_err '^tasktrace-attach: cannot read the core /bin/sh: not a core file: an ELF program or library$'
attach --core "$top_srcdir/README.md"
expect_rc 2
expect_err 'not a core file: not an ELF file$'
mkfifo "$TMP/fifo" || harness_error "mkfifo"
attach --core "$TMP/fifo"
expect_rc 2
expect_err 'not a core file: not a regular file$'
# A core of a program without the runtime.
if [ "$how" = kernel ]; then
    (cd "$TMP/cwd" && rm -f core* && sh -c 'kill -SEGV $$') 2>/dev/null
    FOREIGN=$(ls "$TMP"/cwd/core* 2>/dev/null | head -n 1)
    [ -n "$FOREIGN" ] || fail "no core of sh"
    attach --core "$FOREIGN"
    expect_rc 2
    expect_err '^tasktrace-attach: core .* \(PID [0-9]+, sh\) holds no tasktrace runtime'
else
    echo "SKIP: the core of a program without the runtime: core_pattern '$pattern' keeps the kernel's cores away" >&2
fi

exit 0
