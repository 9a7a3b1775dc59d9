#!/bin/sh
# The exit statuses, defined once (tasktrace-attach/cli/exitcodes.h) and
# described in three places: --help, tasktrace-attach(1)'s EXIT STATUS and
# README's "Exit status" list the same codes, and --help's meanings all
# start at one column, whatever the code's width.
. "$top_srcdir/tests/integration/lib.sh"
MAN1="$top_srcdir/docs/tasktrace-attach.1"
README="$top_srcdir/README.md"

"$ATTACH" --help >"$TMP/help" || fail "--help exits $?"
# The lines of --help's "Exit status:" block.
sed -n '/^Exit status:$/,/^[^ ]/p' "$TMP/help" | sed '1d;$d' >"$TMP/block"
[ -s "$TMP/block" ] || fail "no exit status in --help: $(cat "$TMP/help")"
sed -n 's/^  \([0-9][0-9]*\)  .*/\1/p' "$TMP/block" >"$TMP/help-exit"
[ "$(wc -l <"$TMP/help-exit")" -ge 5 ] || fail "too few exit statuses in --help: $(cat "$TMP/block")"

# Every meaning, first line or not, starts at the column of the first.
cols=$(awk '{ match($0, /^  [0-9]+ +/); if (RSTART) print RLENGTH; else { match($0, /^ +/); print RLENGTH } }' \
    "$TMP/block" | sort -u | tr '\n' ' ')
[ "${cols% }" = "${cols%% *}" ] ||
    fail "the meanings of --help's exit statuses start at columns ${cols% }: $(cat "$TMP/block")"

# tasktrace-attach(1): the tags (.B N after .TP) of its EXIT STATUS.
sed -n '/^\.SH "*EXIT STATUS"*$/,/^\.SH /p' "$MAN1" | awk '/^\.TP/ { getline; print }' |
    sed -n 's/^\.B \([0-9][0-9]*\)$/\1/p' >"$TMP/man-exit"
diff -u "$TMP/help-exit" "$TMP/man-exit" ||
    fail "the exit statuses of tasktrace-attach(1) (+) differ from --help (-)"

# README: the rows of the table under "## Exit status".
sed -n '/^## Exit status$/,/^## /p' "$README" | sed -n 's/^| \([0-9][0-9]*\) |.*/\1/p' \
    >"$TMP/readme-exit"
diff -u "$TMP/help-exit" "$TMP/readme-exit" ||
    fail "the exit statuses of README.md (+) differ from --help (-)"
exit 0
