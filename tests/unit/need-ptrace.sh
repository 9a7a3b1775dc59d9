#!/bin/sh
# The unit cases that stop, copy and unwind a thread of a real child
# process with ptrace (thread, unwind): the runner checks first that this
# machine allows it, and skips (exit 77) saying why when it does not.
exec "${top_builddir:?run through make check}/tests/unit/runner" ptrace
