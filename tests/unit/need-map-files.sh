#!/bin/sh
# The unit case that opens a mapping of the test itself through
# /proc/PID/map_files (safefile_open_mapped): the runner checks first that
# this process may, and skips (exit 77) saying why when it may not.
exec "${top_builddir:?run through make check}/tests/unit/runner" map-files
