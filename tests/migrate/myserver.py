"""A MariaDB server of the test's own (Debian's mariadbd, a temporary
datadir, its own port), for the tests that crash the target: the shared
test servers are never stopped. Killed and started again by PID."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PASSWORD = "migmy-target-pw"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class MyServer:
    def __init__(self, log_bin=False, extra=()):
        self.log_bin = log_bin  # a binlog (mariadb-bin.*) in the datadir, for binlog_text()
        self.extra = list(extra)  # more mariadbd options (a source: --binlog-format=ROW ...)
        self.dir = tempfile.mkdtemp(prefix="cdc-migrate-mariadb-")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "mariadbd.sock")
        self.port = free_port()
        self.proc = None
        for exe in ("mariadb-install-db", "mariadbd"):
            if not shutil.which(exe) and not os.path.exists("/usr/sbin/" + exe):
                raise RuntimeError("%s not found: install mariadb-server (tests/install-deps.sh)"
                                   % exe)
        r = subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.data,
                            "--user=root", "--auth-root-authentication-method=socket",
                            "--skip-test-db"], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("mariadb-install-db: " + r.stderr[-2000:])
        self.start()
        self.root_sql("CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '%s';"
                      "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" % PASSWORD)

    def start(self):
        mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.log = open(os.path.join(self.dir, "mariadbd.log"), "a")
        self.proc = subprocess.Popen(
            [mariadbd, "--no-defaults", "--user=root", "--datadir=" + self.data,
             "--port=%d" % self.port, "--bind-address=127.0.0.1", "--socket=" + self.sock,
             "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
             "--innodb-log-file-size=48M", "--character-set-server=utf8mb4",
             "--log-error=" + os.path.join(self.dir, "error.log")] +
            (["--log-bin=" + os.path.join(self.data, "mariadb-bin"), "--server-id=1"]
             if self.log_bin else []) + self.extra,
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited: " + self.errors())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                if os.path.exists(self.sock):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("mariadbd did not start: " + self.errors())

    def errors(self):
        try:
            return open(os.path.join(self.dir, "error.log")).read()[-2000:]
        except OSError:
            return ""

    def crash(self):
        """kill -9: InnoDB recovers on the next start."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def root_sql(self, q):
        r = subprocess.run(["mariadb", "--no-defaults", "-uroot", "--socket=" + self.sock],
                           input=q.encode(), capture_output=True)
        if r.returncode:
            raise RuntimeError("own mariadbd: %s: %s" % (q[:200], r.stderr.decode()[-500:]))

    def binlog_text(self):
        """The server's binlog as Debian's mariadb-binlog prints it (-v)."""
        idx = os.path.join(self.data, "mariadb-bin.index")
        files = [os.path.join(self.data, os.path.basename(f.strip()))
                 for f in open(idx) if f.strip()]
        r = subprocess.run(["mariadb-binlog", "--no-defaults", "-v",
                            "--base64-output=decode-rows"] + files, capture_output=True)
        if r.returncode:
            raise RuntimeError("mariadb-binlog: " + r.stderr.decode()[-500:])
        return r.stdout.decode("utf-8", "replace")

    def url(self):
        return "mariadb://root@127.0.0.1:%d" % self.port

    def cli(self, *extra):
        return ["mariadb", "--no-defaults", "-uroot", "-h127.0.0.1", "-P%d" % self.port,
                "-p" + PASSWORD, "--default-character-set=utf8mb4", "--batch", "--raw",
                "--skip-column-names"] + list(extra)
