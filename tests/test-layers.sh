#!/bin/sh
# Fails when a file of the tool includes a header of a layer above its own.
# The layers and their order are read from tasktrace-attach/layers.h (its
# "layers:" line); a file's layer is its folder (a file at the top of
# tasktrace-attach/, were there one, would count as cli), a header's
# layer the folder its include names.  Including a header of one's own
# layer, or of any layer below, is fine.  Run by make check;
# with a directory argument it checks that tree instead (the test of this
# test plants a bad include in a copy).
set -u
root=${1:-${top_srcdir:-${srcdir:-.}}/tasktrace-attach}
[ -f "$root/layers.h" ] || { echo "FAIL: no $root/layers.h" >&2; exit 99; }
order=$(sed -n 's/^ \* *layers: *//p' "$root/layers.h")
[ -n "$order" ] || { echo "FAIL: $root/layers.h has no \"layers:\" line" >&2; exit 99; }

rank() {
    i=0
    for l in $order; do
        [ "$l" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
    echo -1
}

bad=0
nfiles=0
for f in $(cd "$root" && find . -name '*.[ch]' | sed 's|^\./||' | sort); do
    case $f in
    */*) layer=${f%%/*} ;;
    *) layer=cli ;;
    esac
    [ "$f" = layers.h ] && continue
    mine=$(rank "$layer")
    if [ "$mine" -lt 0 ]; then
        echo "FAIL: $f is in $layer/, which is not a layer of layers.h" >&2
        bad=1
        continue
    fi
    nfiles=$((nfiles + 1))
    # Every quoted include: a tool header must be folder-qualified.
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$root/$f"); do
        case $inc in
        tasktrace/*) continue ;; # the protocol and the runtime's public headers
        */*) ;;
        layers.h) continue ;;
        *)
            echo "FAIL: $f includes \"$inc\", not folder-qualified" >&2
            bad=1
            continue
            ;;
        esac
        theirs=$(rank "${inc%%/*}")
        if [ "$theirs" -lt 0 ]; then
            echo "FAIL: $f includes \"$inc\", in no layer of layers.h" >&2
            bad=1
        elif [ "$theirs" -gt "$mine" ]; then
            echo "FAIL: $f ($layer) includes \"$inc\" (${inc%%/*}), a layer above it" >&2
            bad=1
        fi
    done
done
[ "$nfiles" -gt 0 ] || { echo "FAIL: no files found under $root" >&2; exit 99; }
[ $bad -eq 0 ] || exit 1
if [ $# -eq 0 ]; then
    # The check must be able to fail: a copy of the tree with one upward
    # include planted (util, the bottom layer, including a view) fails it.
    tmp=$(mktemp -d) || exit 99
    trap 'rm -rf "$tmp"' EXIT
    cp -R "$root" "$tmp/t" || exit 99
    echo '#include "views/render.h"' >>"$tmp/t/util/jsonread.c"
    if "$0" "$tmp/t" 2>"$tmp/err"; then
        echo "FAIL: an upward include planted in util/jsonread.c passed the check" >&2
        exit 1
    fi
    grep -q 'util/jsonread.c (util) includes "views/render.h" (views), a layer above it' "$tmp/err" || {
        echo "FAIL: the planted include was not named:" >&2
        cat "$tmp/err" >&2
        exit 1
    }
fi
echo "PASS: $nfiles files include only their own layer or those below ($order)"
exit 0
