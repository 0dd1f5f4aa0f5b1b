#!/bin/sh
# One libFuzzer campaign per target, all in parallel at nice 19, as the
# numbers in docs/testing.md were taken:
#   CC=clang meson setup build-fuzz -Dfuzzing=true -Dtests=false \
#       -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
#   ninja -C build-fuzz
#   fuzz/tools/campaign.sh build-fuzz OUTDIR [SECONDS] [TARGET...]
# Each target works on a copy of fuzz/corpus/<target> in OUTDIR/<target>/
# (log in fuzz-0.log, crashes in artifacts/). Afterwards minimise with
#   build-fuzz/fuzz/fuzz_T -merge=1 -use_counters=0 NEWDIR fuzz/corpus/T OUTDIR/T/corpus
set -eu
build=$(cd "$1" && pwd)
out=$2
secs=${3:-1800}
shift 2
[ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")/../.." && pwd)
targets=${*:-"json decimal rowvalue protocol decoder rows position ddl binlog client"}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for t in $targets; do
    d=$out/$t
    mkdir -p "$d/corpus" "$d/artifacts"
    cp "$src/fuzz/corpus/$t/"* "$d/corpus/"
    (
        cd "$d"
        date -u +%FT%TZ > start
        rc=0
        nice -n 19 "$build/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -jobs=1 -workers=1 \
            -timeout=10 -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$d/artifacts/" corpus \
            > log 2>&1 || rc=$?
        echo $rc > rc
        date -u +%FT%TZ > end
    ) &
done
wait
for t in $targets; do
    printf '%s: exit %s, %s\n' "$t" "$(cat "$out/$t/rc")" "$(grep -h 'DONE' "$out/$t/fuzz-0.log" | tail -1)"
done
