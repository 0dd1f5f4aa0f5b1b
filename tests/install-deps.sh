#!/bin/sh
# Installs the Debian packages libcdc's build and tests need, if missing.
# Usage: tests/install-deps.sh [build|test]   (default: test)
set -eu
what=${1:-test}
pkgs="build-essential meson ninja-build pkg-config libmbedtls-dev zlib1g-dev libzstd-dev"
if [ "$what" = test ]; then
    pkgs="$pkgs libcmocka-dev python3 python3-dev openssl mariadb-server mariadb-client debootstrap clang libclang-rt-14-dev golang-go libpq-dev postgresql libmariadb-dev sysbench valgrind"
    # cdc-kafka and its tests: librdkafka (with its mock cluster), kcat as an
    # independent consumer, node/npm for kafkajs (its partitioner)
    pkgs="$pkgs librdkafka-dev kcat"
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing" >&2
$SUDO apt-get update -q >&2
# The mariadb-server package would start the system service; we run our own
# instances, so keep the packaged service from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >&2
