#!/bin/sh
# The unit cases that read a real core file (core, corethreads): a child
# of the runner aborts and the kernel writes its core.  The runner checks
# first that this machine writes cores where the test finds them, and
# skips (exit 77) saying why when it does not.
exec "${top_builddir:?run through make check}/tests/unit/runner" core
