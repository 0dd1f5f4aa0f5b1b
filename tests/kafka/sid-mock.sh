#!/bin/sh
# A librdkafka mock cluster from Debian unstable, for the one thing Debian
# 12's librdkafka 2.0.2 mock cannot show: broker-side fencing by
# transactional.id (docs/kafka.md, "One instance per name"). Builds a
# minimal sid chroot with gcc and librdkafka-dev, cached under
# ~/.cache/libcdc/kafka-sid (its own directory, not the MySQL chroot: apt
# there could upgrade libraries under the running mysqld), and compiles
# tests/kafka/mock_cluster.c in it.
#
#   tests/kafka/sid-mock.sh build     # build the chroot and the mock (idempotent); prints the chroot path
#   tests/kafka/sid-mock.sh run ARGS  # run the mock from the chroot on loopback (same arguments as kafka_mock)
#   tests/kafka/sid-mock.sh version   # librdkafka-dev's version in the chroot
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CDC_CACHE_DIR:-${HOME:-/root}/.cache/libcdc}
root=$cache/kafka-sid
mirror=${CDC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkgs=gcc,libc6-dev,librdkafka-dev,pkg-config

die() { echo "sid-mock: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || PATH=$PATH:/usr/sbin
command -v debootstrap >/dev/null || die "debootstrap missing (tests/install-deps.sh test)"

build_chroot() {
    [ -f "$root/usr/include/librdkafka/rdkafka_mock.h" ] && return 0
    mkdir -p "$cache"
    (
        exec 8>"$cache/kafka-sid.lock"
        flock -w 1800 8 || die "could not lock $cache/kafka-sid.lock"
        [ -f "$root/usr/include/librdkafka/rdkafka_mock.h" ] && exit 0
        t=$root.tmp
        grep -q " $t/" /proc/mounts && die "mounts remain under $t; unmount them first"
        rm -rf "$t"
        echo "sid-mock: building the Debian sid chroot in $t (several minutes)" >&2
        unshare -m --propagation private debootstrap --variant=minbase --include="$pkgs" \
            sid "$t" "$mirror" >"$cache/kafka-sid-debootstrap.log" 2>&1 ||
            { tail -20 "$cache/kafka-sid-debootstrap.log" >&2; die "debootstrap failed"; }
        mv "$t" "$root"
    )
}

build_mock() {
    # Rebuilt when the source changes (a copy of it sits next to the binary).
    if [ -x "$root/opt/cdc/kafka_mock" ] && cmp -s "$src/tests/kafka/mock_cluster.c" "$root/opt/cdc/mock_cluster.c"; then
        return 0
    fi
    mkdir -p "$root/opt/cdc/new"
    cp "$src/tests/kafka/mock_cluster.c" "$root/opt/cdc/new/mock_cluster.c"
    chroot "$root" /bin/sh -ec 'cd /opt/cdc
        gcc -O1 -Wall -o new/kafka_mock new/mock_cluster.c $(pkg-config --cflags --libs rdkafka)
        mv new/kafka_mock kafka_mock; mv new/mock_cluster.c mock_cluster.c' >&2 ||
        die "compiling mock_cluster.c against sid's librdkafka failed"
}

case ${1:-build} in
build) build_chroot; build_mock; echo "$root" ;;
version) chroot "$root" dpkg-query -W -f '${Version}\n' librdkafka-dev ;;
run) shift; exec chroot "$root" /opt/cdc/kafka_mock "$@" ;;
*) die "usage: $0 build|version|run ARGS" ;;
esac
