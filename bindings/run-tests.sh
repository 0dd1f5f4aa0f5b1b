#!/bin/sh
# Runs a binding's tests for meson (tests/meson.build):
#   bindings/run-tests.sh python|go unit|integration LIBCDC_SO SRC_ROOT BUILD_ROOT
# and prints one "[       OK ] name" / "[  FAILED  ] name" line per test,
# which tests/summary.py counts.
#
# A libcdc.so built with AddressSanitizer (tests/run.sh) can only be loaded
# by a process whose first library is the ASan runtime, so the Python
# interpreter or the Go test binary runs with that runtime preloaded and
# leak checking off (the interpreter's own allocations are not ours) and a
# small quarantine (every free of the interpreter would otherwise be kept
# back, up to 256 MiB, and the memory-bound tests would measure that).
set -eu
lang=$1 suite=$2 src=$4 build=$5
libdir=$(cd "$(dirname "$3")" && pwd)
so="$libdir/$(basename "$3")"
export LIBCDC_PATH="$so"

preload=$(ldd "$so" 2>/dev/null | awk '/libasan|libclang_rt\.asan/ { print $3; exit }')
run() {
    if [ -n "$preload" ]; then
        # Later ASan options win: ours come last.
        LD_PRELOAD="$preload" ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0:abort_on_error=1:quarantine_size_mb=16" "$@"
    else
        "$@"
    fi
}

case $lang in
python)
    # The interpreter itself, not a wrapper script (pyenv's shims are bash).
    py=$(python3 -c 'import sys; print(sys.executable)')
    # The C extension that reads binary batches (libcdc._fast), built the
    # way `pip install` builds it, into the build tree; the tests run the
    # pure Python reader too (LIBCDC_PURE).
    ext="$build/bindings-py"
    mkdir -p "$ext"
    "$py" "$src/bindings/python/_build_backend.py" build_ext "$ext" || {
        echo "[  FAILED  ] python/$suite (C extension build; Debian: python3-dev)"
        exit 1
    }
    export LIBCDC_EXT_DIR="$ext"
    run "$py" "$src/bindings/python/tests/run.py" "$suite"
    ;;
go)
    if ! command -v go >/dev/null 2>&1; then
        echo "go not found: tests/install-deps.sh test installs golang-go" >&2
        echo "[  FAILED  ] go/$suite (no Go toolchain)"
        exit 1
    fi
    # No network and no HOME needed: a local toolchain, a cache in the
    # build directory, no module downloads (the package uses the stdlib).
    work="$build/bindings-go"
    mkdir -p "$work"
    export GOCACHE="$work/cache" GOPATH="$work/path" GOENV=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS=
    # The package asks pkg-config for libcdc (#cgo pkg-config: libcdc), as
    # for an installed library; this .pc points at the build tree instead.
    mkdir -p "$work/pkgconfig"
    cat >"$work/pkgconfig/libcdc.pc" <<PC
Name: libcdc
Description: libcdc build tree
Version: ${LIBCDC_VERSION:-0}
Libs: -L$libdir -Wl,-rpath,$libdir -lcdc
Cflags: -I$src/include -I$build/include
PC
    export CGO_ENABLED=1 PKG_CONFIG_PATH="$work/pkgconfig" CGO_CFLAGS= CGO_LDFLAGS=
    bin="$work/cdc-$suite.test"
    # The race detector's runtime cannot share the process with ASan's:
    # with a sanitized libcdc the tests run without -race (run them against
    # a plain build for that, docs/bindings.md).
    race=-race
    [ -n "$preload" ] && race=
    (cd "$src/bindings/go" && go vet . && go test $race -c -o "$bin" .) || {
        echo "[  FAILED  ] go/$suite (build)"
        exit 1
    }
    case $suite in unit) pat='^TestUnit' ;; *) pat='^TestIntegration' ;; esac
    out="$work/$suite.out"
    status=0
    run "$bin" -test.v -test.count=1 -test.timeout=14m -test.run "$pat" >"$out" 2>&1 || status=$?
    awk '/^--- PASS: / { print "[       OK ] go." $3; next }
         /^--- FAIL: / { print "[  FAILED  ] go." $3; next }
         { print }' "$out"
    grep -q '^--- PASS: ' "$out" || status=1
    exit $status
    ;;
*)
    echo "usage: $0 python|go unit|integration LIBCDC_SO SRC_ROOT BUILD_ROOT" >&2
    exit 2
    ;;
esac
