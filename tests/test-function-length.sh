#!/bin/sh
# Fails when a function of the tool or the runtime is longer than 80 lines,
# its braces included, unless it is one of the parsers and interpreters
# named below, which read best whole.  A function is counted from its
# opening brace at column 0 to its closing brace at column 0, as
# clang-format lays them out.  Run by make check; with directory
# arguments it checks those instead (the test of this test feeds it a
# long function of its own).
set -u
top=${top_srcdir:-${srcdir:-.}}
max=80
# name: why it may be longer
allowed="jsonread_string cfa_run"
#   jsonread_string (util/jsonread.c): the JSON string parser, a scan and
#     its decoding loop, one case per escape;
#   cfa_run (libtargetrt/stackwalk.c): the DWARF CFA interpreter, one
#     case per opcode.
if [ $# -gt 0 ]; then dirs=$*; else dirs="$top/tasktrace-attach $top/libtargetrt"; fi
files=$(find $dirs -name '*.c' | sort)
[ -n "$files" ] || { echo "FAIL: no C files under $dirs" >&2; exit 99; }
long=$(awk -v max="$max" '
    FNR == 1 { start = 0; prev = ""; sig = "" }
    /^\{/ { start = FNR; name = sig; next }
    /^\}/ && start {
        n = FNR - start + 1
        if (n > max) printf "%s %s:%d %d\n", name, FILENAME, start, n
        start = 0
        next
    }
    !start {
        # The name is the last identifier before "(" on the lines that
        # led up to the brace; a blank line or a ";" starts anew.
        if ($0 ~ /^[[:space:]]*$/ || $0 ~ /;[[:space:]]*$/) { sig = ""; next }
        line = $0
        if (match(line, /[A-Za-z_][A-Za-z_0-9]*[[:space:]]*\(/)) {
            s = substr(line, RSTART, RLENGTH)
            sub(/[[:space:]]*\($/, "", s)
            if (line !~ /^[[:space:]]/) sig = s
        }
    }
' $files)
bad=0
while read -r name where n; do
    [ -n "$name" ] || continue
    case " $allowed " in *" $name "*) continue ;; esac
    echo "FAIL: $name ($where) is $n lines long, more than $max: split it into named steps" >&2
    bad=1
done <<EOF
$long
EOF
[ $bad -eq 0 ] || exit 1
if [ $# -eq 0 ]; then
    # The check must be able to fail: a function of 82 lines is named.
    tmp=$(mktemp -d) || exit 99
    trap 'rm -rf "$tmp"' EXIT
    { echo 'int too_long(int x)'; echo '{'; i=0
      while [ $i -lt 79 ]; do echo '    x++;'; i=$((i + 1)); done; echo '    return x;'; echo '}'; } >"$tmp/long.c"
    # From brace to brace: 79 increments, the return and the two braces.
    if "$0" "$tmp" 2>"$tmp/err"; then
        echo "FAIL: a function of more than $max lines passed the check" >&2
        exit 1
    fi
    grep -q '^FAIL: too_long (.*long.c:2) is 82 lines long' "$tmp/err" || {
        echo "FAIL: the long function was not named:" >&2
        cat "$tmp/err" >&2
        exit 1
    }
fi
exit 0
