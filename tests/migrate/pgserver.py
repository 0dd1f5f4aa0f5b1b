"""A throwaway PostgreSQL 15 for the cdc-migrate tests: initdb in a
temporary directory, its own port on 127.0.0.1, trust authentication,
stopped by PID. As root, the server runs as the `postgres` user (PostgreSQL
refuses to run as root)."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def _bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "postgres")):
            return d
    raise SystemExit("FAIL: PostgreSQL server binaries not found (apt-get install postgresql)")


def free_port(start):
    for p in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                continue
    raise SystemExit("FAIL: no free port for PostgreSQL")


class PG:
    def __init__(self, port=None):
        self.bin = _bindir()
        self.dir = tempfile.mkdtemp(prefix="cdc-migrate-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = port or free_port(55400)
        self.proc = None
        self.user = [] if os.getuid() != 0 else ["runuser", "-u", "postgres", "--"]
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        r = subprocess.run(self.user + [os.path.join(self.bin, "initdb"), "-D", self.data, "-U",
                                        "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"],
                           capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("FAIL: initdb: " + r.stderr)
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "postgres.log"), "a")
        self.proc = subprocess.Popen(
            self.user + [os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
                         "-k", self.dir, "-c", "listen_addresses=127.0.0.1",
                         "-c", "max_connections=50", "-c", "shared_buffers=64MB"],
            stdout=log, stderr=log, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                                "-Atc", "SELECT 1"], capture_output=True, text=True)
            if r.returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise SystemExit("FAIL: PostgreSQL did not start; log:\n" +
                         open(os.path.join(self.dir, "postgres.log")).read()[-3000:])

    def crash(self):
        """pg_ctl -m immediate: no shutdown checkpoint; recovery on start."""
        subprocess.run(self.user + [os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m",
                                    "immediate", "stop"], capture_output=True)
        if self.proc:
            self.proc.wait(timeout=60)
            self.proc = None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # the postmaster, by PID: smart shutdown
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGQUIT)
                self.proc.wait(timeout=30)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def dsn(self, db):
        return "host=127.0.0.1 port=%d user=postgres dbname=%s application_name=cdc-migrate" % (
            self.port, db)

    def sql(self, db, q, check=True):
        """Rows of q as lists of strings (None for NULL)."""
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
                            db, "-X", "-q", "-A", "-t", "-F", "\x1f", "-R", "\x1e", "-P",
                            "null=\x01", "-v", "ON_ERROR_STOP=1", "-c", q],
                           capture_output=True, text=True)
        if r.returncode and check:
            raise RuntimeError("psql: %s: %s" % (q[:200], r.stderr))
        out = r.stdout
        if out.endswith("\n"):
            out = out[:-1]
        rows = []
        for line in out.split("\x1e"):
            if line == "":
                continue
            rows.append([None if v == "\x01" else v for v in line.split("\x1f")])
        return rows
