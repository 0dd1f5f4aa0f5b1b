#!/bin/sh
# The proof soaks of issue 12, one command, not in CI (docs/snapshot.md,
# "Soak"). Needs the servers of tests/servers/testenv.sh (started here if
# they are not running; never stopped) and a build directory with
# examples/cdc/cdc and tests/pause_stream (a release build is faster:
# `meson setup build-rel -Dbuildtype=release && ninja -C build-rel`).
#
# usage: tests/snapshot/soak.sh BUILD_DIR
#
# On both servers, under concurrent writers:
#   1. a snapshot of a table of SOAK_ROWS rows (default 5,000,000) paused
#      at SOAK_PAUSES random rows (default 1,000) and an unpaused one each
#      rebuild the state SELECT shows (resume.py --pauses);
#   2. a snapshot of the same size killed (-9) at SOAK_KILLS random points
#      (default 10; SOAK_KILL_ROWS rows, default SOAK_ROWS) and restarted
#      from its checkpoint converges to SELECT
#      with no row lost, and the rows read again stay within the bound of
#      docs/snapshot.md (resume.py --kills);
#   3. an incremental snapshot of a table of SOAK_INCR_ROWS rows (default
#      1,000,000) under heavy updates and deletes aimed at the chunk being
#      read equals SELECT and no snapshot row overwrites a newer change,
#      signal-table and read-only variants (incremental.py --soak).
# Each part prints peak RSS. Ends with "N passed, N failed" (parts).
# SOAK_PARTS (default "pauses kills incremental") picks parts, e.g. to run
# them as separate commands at the same time: their databases differ.
# Source the servers' environment first (`. "$(testenv.sh envfile)"`): then
# CDC_TEST_TESTENV names the running servers' testenv.sh, whatever
# checkout this script is in.
set -u
build=${1:?usage: tests/snapshot/soak.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cdc=$(cd "$build" && pwd)/examples/cdc/cdc
[ -x "$cdc" ] || { echo "soak: $cdc is not built" >&2; exit 2; }
[ -x "$(cd "$build" && pwd)/tests/pause_stream" ] || { echo "soak: tests/pause_stream is not built" >&2; exit 2; }
testenv=${CDC_TEST_TESTENV:-$root/tests/servers/testenv.sh}
"$testenv" start >&2 || { echo "soak: the test servers could not be started" >&2; exit 1; }
. "$("$testenv" envfile)"

rows=${SOAK_ROWS:-5000000}
pauses=${SOAK_PAUSES:-1000}
kills=${SOAK_KILLS:-10}
kill_rows=${SOAK_KILL_ROWS:-$rows}
incr_rows=${SOAK_INCR_ROWS:-1000000}
parts=${SOAK_PARTS:-pauses kills incremental}
# Names of their own (databases soak_*, the read-only account, replication
# server ids from 40000 up), so that the soak runs beside other sessions'
# tests on the shared servers; each part drops its database at its end.
export CDC_TEST_SERVER_ID_OFFSET=${CDC_TEST_SERVER_ID_OFFSET:-40000}
export SNAPINCR_TEST_DB=soak_incr SNAPINCR_TEST_RO_USER=soak_incr_ro
passed=0
failed=0
part() {
    name=$1
    shift
    case " $parts " in *" $name "*) ;; *) return 0 ;; esac
    echo "== $name: $*"
    start=$(date +%s)
    if nice -n 10 "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "== $name FAILED"; fi
    echo "== $name: $(($(date +%s) - start)) s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
part pauses env SNAPRES_TEST_DB=soak_pauses python3 -u "$here/resume.py" "$cdc" --rows "$rows" --pauses "$pauses" --only-pauses
part kills env SNAPRES_TEST_DB=soak_kills python3 -u "$here/resume.py" "$cdc" --rows "$kill_rows" --kills "$kills"
part incremental python3 -u "$here/incremental.py" "$cdc" --soak --rows "$incr_rows"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
