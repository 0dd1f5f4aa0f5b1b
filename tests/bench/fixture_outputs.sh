#!/bin/sh
# Writes `cdc dump` and `cdc dump --events` output (stdout, stderr, exit
# status) for every file under the fixtures directory into OUTDIR, one
# file per fixture. Run it with the cdc of two builds and `diff -r` the
# two directories: a change meant to be invisible must give no diff.
#
# usage: tests/bench/fixture_outputs.sh CDC_BINARY OUTDIR [FIXTURES_DIR]
set -eu
cdc=$1
out=$2
fx=${3:-$(dirname "$0")/../../../shared/fixtures}
mkdir -p "$out"
find "$fx" -type f ! -name '*.md' ! -name '*.tsv' ! -name '*.txt' | LC_ALL=C sort |
while IFS= read -r f; do
    name=$(printf '%s' "${f#"$fx"/}" | tr '/' '_')
    for mode in plain events; do
        opt=
        [ "$mode" = events ] && opt=--events
        status=0
        "$cdc" dump $opt "$f" >"$out/$name.$mode.out" 2>"$out/$name.$mode.err" || status=$?
        echo "$status" >"$out/$name.$mode.status"
    done
done
echo "$(find "$out" -name '*.plain.out' | wc -l) fixtures written to $out"
