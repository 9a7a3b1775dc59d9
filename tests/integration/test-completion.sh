#!/bin/sh
# The bash completion, sourced into a real bash: it offers every long option
# of --help, completes "--ti" to --timeout and --color's values, and offers
# the PIDs of processes running the runtime (linked as libtargetrt.so, or
# statically) but not those of other processes.
. "$top_srcdir/tests/integration/lib.sh"
command -v bash >/dev/null || { echo "SKIP: bash not installed" >&2; exit 77; }
COMPLETION="$top_srcdir/completion/tasktrace-attach"

start taskdump "$top_builddir/examples/taskdump"
dyn=$PID
start echo "$top_builddir/examples/echo_server" --port 0
static=$PID
sleep 600 &
plain=$!
PIDS="$PIDS $plain"
# The runtime's doorbell thread starts with the first task; wait for it.
for _ in $(seq 100); do
    grep -qx tasktrace /proc/"$static"/task/*/comm 2>/dev/null && break
    sleep 0.05
done

# complete LINE: prints COMPREPLY, one a line, for the command line LINE
# with the cursor at its end, as bash's programmable completion would.
complete_line() {
    bash --norc --noprofile -c '
        . "$1" || exit 99
        COMP_LINE=$2
        COMP_POINT=${#COMP_LINE}
        read -r -a COMP_WORDS <<<"$COMP_LINE"
        [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _tasktrace_attach "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"
    ' complete_line "$COMPLETION" "$1"
}

got=$(complete_line "$ATTACH --ti") || fail "completion failed: $got"
[ "$got" = "--timeout" ] || fail "--ti completes to '$got', not --timeout"

# Every long option of --help, and nothing else, is offered after "--".
"$ATTACH" --help | sed -n 's/^ *\(-[A-Za-z0-9], *\)\{0,1\}\(--[A-Za-z0-9-]*=\{0,1\}\).*/\2/p' |
    sort >"$TMP/want"
[ "$(wc -l <"$TMP/want")" -ge 8 ] || fail "too few options in --help: $(cat "$TMP/want")"
complete_line "$ATTACH --" | sort >"$TMP/got"
diff -u "$TMP/want" "$TMP/got" || fail "options offered differ from --help"

got=$(complete_line "$ATTACH --color=al")
[ "$got" = "always" ] || fail "--color=al completes to '$got'"

# PIDs: the two targets are offered, the plain sleep is not.
complete_line "$ATTACH " >"$TMP/pids"
grep -qx "$dyn" "$TMP/pids" || fail "PID $dyn (taskdump, libtargetrt.so) not offered: $(cat "$TMP/pids")"
grep -qx "$static" "$TMP/pids" || fail "PID $static (echo_server, static runtime) not offered: $(cat "$TMP/pids")"
grep -qx "$plain" "$TMP/pids" && fail "PID $plain (sleep) offered"
grep -qvE '^[0-9]+$' "$TMP/pids" && fail "not a PID: $(cat "$TMP/pids")"
# A prefix narrows them; after --timeout nothing is offered.
complete_line "$ATTACH -j $dyn" >"$TMP/narrow"
grep -qx "$dyn" "$TMP/narrow" || fail "completing '$dyn' lacks it: $(cat "$TMP/narrow")"
grep -qv "^$dyn" "$TMP/narrow" && fail "completing '$dyn' offers others: $(cat "$TMP/narrow")"
got=$(complete_line "$ATTACH --timeout ")
[ -z "$got" ] || fail "a PID offered as a --timeout value: $got"
exit 0
