#!/bin/sh
# Builds libcdc against mbedtls 3.x (Debian 13 "trixie"'s libmbedtls-dev)
# in a debootstrap chroot cached under ~/.cache/libcdc/trixie-build, and
# runs the unit tests there. CI builds against Debian 12's mbedtls 2.28;
# this script shows the other major version still builds and passes.
# Slow the first time (the chroot takes minutes), so not part of CI.
#
#   tests/compat/mbedtls3.sh            # build the chroot if needed, then test HEAD's tree
#   tests/compat/mbedtls3.sh --chroot   # only build the chroot
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CDC_CACHE_DIR:-${HOME:-/root}/.cache/libcdc}
root=$cache/trixie-build
mirror=${CDC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkgs=gcc,libc6-dev,meson,ninja-build,pkg-config,libmbedtls-dev,zlib1g-dev,libzstd-dev,libcmocka-dev,python3

die() { echo "mbedtls3: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || PATH=$PATH:/usr/sbin
command -v debootstrap >/dev/null || die "debootstrap missing (tests/install-deps.sh test)"

if [ ! -x "$root/usr/bin/meson" ]; then
    mkdir -p "$cache"
    exec 8>"$cache/trixie-build.lock"
    flock -w 1800 8 || die "could not lock $cache/trixie-build.lock"
    if [ ! -x "$root/usr/bin/meson" ]; then
        t=$root.tmp
        grep -q " $t/" /proc/mounts && die "mounts remain under $t; unmount them first"
        rm -rf "$t"
        echo "mbedtls3: building the Debian trixie chroot in $t (several minutes)"
        unshare -m --propagation private debootstrap --variant=minbase --include="$pkgs" \
            trixie "$t" "$mirror" >"$cache/trixie-debootstrap.log" 2>&1 ||
            { tail -20 "$cache/trixie-debootstrap.log" >&2; die "debootstrap failed"; }
        mv "$t" "$root"
    fi
    exec 8>&-
fi
[ "${1:-}" = --chroot ] && exit 0

# The tree as committed plus what is in the work tree, copied in (no bind
# mounts to clean up).
# A fresh source copy and build directory every time: tar keeps the work
# tree's mtimes, which could make an old build look up to date.
rm -rf "$root/src" "$root/build" "$root/build.log"
mkdir -p "$root/src"
# One tar reading the list (xargs would split a long list into several
# archives, and tar xf stops at the first one's end).
(cd "$src" && git ls-files -z --cached --others --exclude-standard | tar cf - --no-recursion --null -T -) |
    tar xf - -C "$root/src"
ver=$(chroot "$root" sh -c "dpkg-query -W -f '\${Version}' libmbedtls-dev")
echo "mbedtls3: libmbedtls-dev $ver"
chroot "$root" /bin/sh -ec '
    cd /src
    meson setup /build -Dwerror=true -Dbuildtype=debug >/build.log 2>&1 || { tail -30 /build.log; exit 1; }
    ninja -C /build >>/build.log 2>&1 || { grep -E "error|warning" /build.log | head -40; exit 1; }
    meson test -C /build --suite unit --print-errorlogs 2>&1 | tail -25
'
