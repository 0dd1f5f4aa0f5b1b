#!/bin/sh
# Long fault soak of cdc-kafka (docs/kafka.md, "Soak"): the eos and alo
# parts of tests/kafka/run.py, RUNS times with ROUNDS kill -9 rounds each
# and a new seed per run. Needs the test servers started and sourced
# (tests/servers/testenv.sh) like the meson test `kafka`.
#   tests/kafka/soak.sh BUILD_DIR [RUNS] [ROUNDS]
set -u
build=${1:?usage: soak.sh BUILD_DIR [RUNS] [ROUNDS]}
runs=${2:-5}
rounds=${3:-60}
here=$(dirname "$0")
failed=0
i=1
while [ "$i" -le "$runs" ]; do
    seed=$(date +%s)$i
    echo "soak: run $i of $runs, seed $seed"
    # each run's connector logs and configurations stay in its own
    # directory when it fails (run.py removes it when all passed)
    out=$(CDC_KAFKA_WORK=${TMPDIR:-/tmp}/cdc-kafka-soak-$seed CDC_KAFKA_SEED=$seed python3 "$here/run.py" "$build/examples/cdc-kafka/cdc-kafka" \
            "$build/tests/kafka/kafka_mock" --only eos,alo --kill-rounds "$rounds" 2>&1)
    printf '%s\n' "$out" | grep -E "FAILED|passed|re-reads"
    printf '%s\n' "$out" | grep -q "passed, 0 failed" || failed=$((failed + 1))
    i=$((i + 1))
done
echo "soak: $runs runs, $failed failed"
[ "$failed" -eq 0 ]
