#!/usr/bin/env python3
"""Benchmark of the Python and Go bindings on one binlog file (issue 13):
changes per second and peak RSS of each reader, run in the same session,
interleaved, each in a process of its own, so the ratios hold whatever
the machine's load. A program, not a test: it prints a table.

    python3 tests/bench/bindings_bench.py BUILD [--file BINLOG] [--runs N]

BUILD is a meson build directory (use -Dbuildtype=release; a sanitized
build measures the sanitizer). The default file is the 47,273 changes of
tests/fixtures/mysql-binlog-connector-java/mysql-bin.sakila.gz, inflated
once into a temporary file so every reader reads the same plain bytes.

Readers:
  cdc dump          the CLI: JSON lines to /dev/null (C)
  C API typed       tests/bench/bench_decode: every value read with the
                    typed getters of cdc/value.h (C, no text)
  py native ext     libcdc.decode_file(native=True), C extension reader
  py native pure    the same with LIBCDC_PURE=1 (pure Python reader)
  py json           libcdc.decode_file(): JSON lines through json.loads
  go native         cdc.DecodeFileNative (BenchmarkDecodeSakilaNative)
  go json           cdc.DecodeFile with encoding/json (BenchmarkDecodeSakila)

Each consumer touches every record (counts them) and drops it, as a
streaming consumer does. changes/s is reported against CPU time and
against wall time: for Python and Go the mean of 3 passes over the file
in one process (the interpreter's and runtime's start-up left out), for
the C programs their whole process; RSS is the child's peak
(ru_maxrss). Peers (python-mysql-replication, go-mysql) are not in
Debian's archive and cannot be fetched here; the C readers are the
reference instead (docs/bindings.md).
"""
import argparse
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import gotree

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "mysql-binlog-connector-java", "mysql-bin.sakila.gz")

PY_READER = r"""
import sys, time
import libcdc
libcdc.version()  # loads libcdc before the clock starts
PASSES = 3  # as the Go benchmarks' -test.benchtime 3x: the mean of 3 passes
n = 0
w0, c0 = time.perf_counter(), time.process_time()
for _ in range(PASSES):
    for rec in libcdc.decode_file(sys.argv[1], native=sys.argv[2] == "native"):
        n += 1
print(n // PASSES, libcdc.EXTENSION, (time.process_time() - c0) / PASSES, (time.perf_counter() - w0) / PASSES)
"""


def run(cmd, env=None, cwd=None):
    """(wall s, cpu s, peak RSS KiB, stdout) of one child process."""
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, err.decode()[-2000:]))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out.decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--file", default=FIXTURE)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--changes", type=int, default=0, help="changes in the file (default: counted)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    lib = os.path.join(build, "lib", "libcdc.so")
    tmp = tempfile.mkdtemp(prefix="bindings-bench-")
    try:
        plain = os.path.join(tmp, os.path.basename(a.file)[:-3] if a.file.endswith(".gz") else
                             os.path.basename(a.file))
        opener = gzip.open if a.file.endswith(".gz") else open
        with opener(a.file, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)

        # the Python extension, built as pip builds it, into tmp
        ext = os.path.join(tmp, "ext")
        py = sys.executable
        subprocess.run([py, os.path.join(ROOT, "bindings", "python", "_build_backend.py"), "build_ext", ext],
                       check=True)
        pyenv = dict(os.environ, LIBCDC_PATH=lib, LIBCDC_EXT_DIR=ext,
                     PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
        pyenv.pop("LD_PRELOAD", None)
        script = os.path.join(tmp, "reader.py")
        with open(script, "w") as f:
            f.write(PY_READER)

        # the Go test binary, against this build
        gowork = os.path.join(tmp, "go")
        goenv = gotree.go_env(ROOT, build, gowork, CDC_BENCH_FILE=plain)
        gobin = os.path.join(gowork, "cdc.test")
        have_go = shutil.which("go") is not None
        if have_go:
            subprocess.run(["go", "test", "-c", "-o", gobin, "."], check=True, env=goenv,
                           cwd=os.path.join(ROOT, "bindings", "go"))

        readers = [
            ("cdc dump (C, JSON lines)", ["sh", "-c", 'exec "$0" dump "$1" >/dev/null',
                                          os.path.join(build, "examples", "cdc", "cdc"), plain], None),
            ("C API typed (bench_decode)", [os.path.join(build, "tests", "bench", "bench_decode"), plain], None),
            ("Python native, C extension", [py, script, plain, "native"], pyenv),
            ("Python native, pure Python", [py, script, plain, "native"], dict(pyenv, LIBCDC_PURE="1")),
            ("Python JSON lines (json.loads)", [py, script, plain, "json"], pyenv),
        ]
        if have_go:
            readers += [
                ("Go native (DecodeFileNative)", [gobin, "-test.run", "XXX", "-test.bench",
                                                  "DecodeSakilaNative$", "-test.benchtime", "3x"], goenv),
                ("Go JSON lines (encoding/json)", [gobin, "-test.run", "XXX", "-test.bench",
                                                   "DecodeSakila$", "-test.benchtime", "3x"], goenv),
            ]
        changes = a.changes
        if not changes:
            out = run([py, script, plain, "native"], env=pyenv)[3]
            changes = int(out.split()[0])
            if out.split()[1] != "True":
                raise SystemExit("the C extension did not load")
        best = {name: [1e9, 1e9, 0] for name, _, _ in readers}

        def loop_times(name, out, wall, cpu):
            """The decode loop's own (wall, CPU) seconds where the
            reader reports them (interpreter and runtime start-up left
            out), else the process's."""
            if name.startswith("Python"):
                f = out.split()
                if int(f[0]) != changes:
                    raise SystemExit("%s: %s changes, want %d" % (name, f[0], changes))
                return float(f[3]), float(f[2])
            if name.startswith("Go"):
                f = out.split()
                per_wall = float(f[f.index("changes/s") - 1])
                per_cpu = float(f[f.index("changes/cpu-s") - 1])
                return changes / per_wall, changes / per_cpu
            return wall, cpu
        print("file: %s (%d changes), %d interleaved runs, best of each; load average %s"
              % (a.file, changes, a.runs, " ".join("%.1f" % x for x in os.getloadavg())), flush=True)
        for _ in range(a.runs):
            for name, cmd, env in readers:
                wall, cpu, rss, out = run(cmd, env=env)
                wall, cpu = loop_times(name, out, wall, cpu)
                b = best[name]
                b[0], b[1], b[2] = min(b[0], wall), min(b[1], cpu), max(b[2], rss)
        ref = best["cdc dump (C, JSON lines)"][1]
        print("%-34s %10s %12s %12s %10s %8s" % ("reader", "CPU s", "changes/s", "(wall)", "peak RSS", "CPU/dump"))
        for name, _, _ in readers:
            wall, cpu, rss = best[name]
            print("%-34s %10.3f %12.0f %12.0f %7.1f MiB %8.2f" % (name, cpu, changes / cpu, changes / wall,
                                                                 rss / 1024, cpu / ref))
        print("(Python and Go: the decode loop's own time, start-up left out; RSS is the whole process's)")
        print("load average after: %s" % " ".join("%.1f" % x for x in os.getloadavg()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
