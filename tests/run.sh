#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine:
#   installs what it needs, starts MariaDB 10.11 and MySQL 9.7 on loopback
#   (tests/servers/testenv.sh), builds with AddressSanitizer and
#   UndefinedBehaviorSanitizer and warnings as errors, runs the unit,
#   integration and fuzz-corpus suites, stops the servers, and ends with
#   the line "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
build=${CDC_TEST_BUILD:-$root/build-test}

tests/install-deps.sh test

tests/servers/testenv.sh start
trap 'tests/servers/testenv.sh stop' EXIT INT TERM
# shellcheck disable=SC1091
. "$(tests/servers/testenv.sh envfile)"

if [ ! -d "$build" ]; then
    CC=${CC:-gcc} meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dwerror=true -Dbuildtype=debug >/dev/null
fi
ninja -C "$build"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=$?
python3 tests/summary.py "$build/meson-logs/testlog.json" || status=1
exit $status
