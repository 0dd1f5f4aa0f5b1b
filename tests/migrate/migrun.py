"""cdc-migrate from a workload.Source into a database of a pgserver.PG, as
migrate_pg.py and migrate_par.py run it: the source's root account (its
password in CDC_MIGRATE_SOURCE_PASSWORD), zero dates as NULL."""
import os
import signal
import subprocess


def env(extra=None):
    """The environment of a cdc-migrate process; extra: more variables."""
    e = dict(os.environ)
    e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
    e.update(extra or {})
    return e


def args(src, pg, pgdb, extra=()):
    return ["--source-host", "127.0.0.1", "--source-port", str(src.port), "--source-user",
            "root", "--database", src.db, "--target", pg.dsn(pgdb), "--zero-date", "null"] + list(extra)


def phase(pg, pgdb):
    """The migration's phase in the target's state table ("none" before)."""
    try:
        rows = pg.sql(pgdb, "SELECT phase FROM cdc_migrate.state")
        return rows[0][0] if rows else "none"
    except RuntimeError:
        return "none"


class Runner:
    def __init__(self, binary, server_id):
        """binary: cdc-migrate; server_id: the replica server id of `run`
        by source flavor."""
        self.binary, self.server_id = binary, server_id

    def start_run(self, src, pg, pgdb, log, extra=(), envx=None):
        """`cdc-migrate run` in the background, its output to log."""
        return subprocess.Popen([self.binary, "run"] + args(src, pg, pgdb, [
            "--server-id", self.server_id[src.flavor]] + list(extra)),
            env=env(envx), stdout=log, stderr=log)

    def migrate(self, cmd, src, pg, pgdb, extra=(), timeout=300):
        """Another command (status, verify, cutover...), to its end."""
        return subprocess.run([self.binary, cmd] + args(src, pg, pgdb, extra), env=env(),
                              capture_output=True, text=True, timeout=timeout)


def exit_status(p, timeout=60):
    """p's exit status, or "hung" (and p killed) when it has not exited
    within timeout seconds."""
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "hung"


def check_cutover(check, name, r, runlog):
    """`cdc-migrate cutover`'s result r must report the target equal to the
    source; on failure its output and the end of the run's log."""
    ok = r.returncode == 0 and "target equals source at cdc1:" in r.stdout
    check("%s: cutover reports the target equal to the source" % name, ok,
          r.stdout + r.stderr[-2000:] + "\nrun log:\n" + runlog[-3000:])


def check_stop(check, name, p):
    """A `cdc-migrate run` p must exit 0 within a minute of SIGTERM."""
    p.send_signal(signal.SIGTERM)
    rc = exit_status(p)
    check("%s: run exits 0 on SIGTERM" % name, rc == 0, "rc %s" % rc)
