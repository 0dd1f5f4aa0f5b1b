"""The Go binding built against a libcdc build tree, for the benchmarks
that time it (bindings_bench.py, snapshot_bench.py)."""
import os


def go_env(root, build, gowork, **extra):
    """Writes a libcdc.pc for the build tree (headers from root and build)
    under gowork and returns the environment in which `go test` builds
    against it: no network, no toolchain download, the build's Go cache;
    extra: more variables."""
    os.makedirs(os.path.join(gowork, "pkgconfig"))
    with open(os.path.join(gowork, "pkgconfig", "libcdc.pc"), "w") as f:
        f.write("Name: libcdc\nDescription: build tree\nVersion: 0\n"
                "Libs: -L%s/lib -Wl,-rpath,%s/lib -lcdc\nCflags: -I%s/include -I%s/include\n"
                % (build, build, root, build))
    return dict(os.environ, GOCACHE=os.path.join(build, "bindings-go", "cache"),
                GOPATH=os.path.join(gowork, "path"), GOENV="off", GOTOOLCHAIN="local", GOPROXY="off",
                GOFLAGS="", CGO_ENABLED="1", PKG_CONFIG_PATH=os.path.join(gowork, "pkgconfig"), **extra)
