#!/bin/sh
# Builds tasktrace from a fresh clone and runs the demo or the test suite.
#   ./build.sh demo    build everything, then dump the task tree of a live example
#   ./build.sh check   build everything and run the whole test suite
# Missing Debian packages are installed with apt-get (as root, or with sudo).
set -eu
cd "$(dirname "$0")"
what=${1:-demo}
case "$what" in demo|check|distcheck) ;; *) echo "usage: $0 demo|check|distcheck" >&2; exit 64 ;; esac

packages="build-essential autoconf automake libtool pkg-config libdw-dev libelf-dev libiberty-dev libdebuginfod-dev check elfutils python3"
# What the tests use beyond the build: groff renders the man pages, bash
# runs the completion, gdb and strace sit beside the tool in the tests that
# compare with them, clang and its runtimes build the fuzz targets, and
# clang-format checks the sources (.ci/check-format), and a local
# debuginfod serves a module to --symbolize.
[ "$what" = demo ] || packages="$packages groff-base bash gdb strace clang libclang-rt-14-dev clang-format debuginfod"
# cargo and Debian's packaged crates build the Rust bindings and their
# tests, offline (bindings/rust/README.md).
[ "$what" = demo ] || packages="$packages cargo librust-tokio-dev librust-pkg-config-dev librust-backtrace-dev"
missing=
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "build.sh: installing:$missing"
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || autoreconf -fi
[ -f Makefile ] && [ Makefile -nt configure ] || ./configure --enable-werror ${CONFIGURE_FLAGS:-}
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs"
case "$what" in
demo) make demo ;;
check) make -j"$jobs" check || { cat test-suite.log; exit 1; } ;;
distcheck) make -j"$jobs" distcheck ;;
esac
