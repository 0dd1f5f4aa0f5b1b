#!/usr/bin/env python3
"""Differential test of the binlog decoder against real servers.

usage: run.py CDC_BINARY [RUN...]

Runs the workload (workload.py) on MySQL 9.7 and MariaDB 10.11 under
several binlog settings, decodes the binlog files each run wrote with
`cdc dump`, and checks that
  (a) applying the decoded row changes in order rebuilds every table
      exactly as SELECT returns it (values rendered by the server in the
      canonical form, see canon.py), and
  (b) every decoded row change agrees with `mysqlbinlog -vv` /
      `mariadb-binlog -vv` for the same files, value by value, wherever
      those tools can print the value.
Each check prints "[       OK ] name" or "[  FAILED  ] name" with the
mismatches (table, column, row, expected, got). Needs the servers of
tests/servers/testenv.sh and its environment (CDC_TEST_*); fails, never
skips, when they are missing. docs/testing-differential.md has more.
"""
import copy
import json
import os
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import binlogtool  # noqa: E402
import canon  # noqa: E402
import workload  # noqa: E402

MAX_REPORT = 15  # mismatches printed per check


def die(msg):
    print("differential: " + msg, file=sys.stderr)
    print("[  FAILED  ] differential/setup")
    sys.exit(1)


def env(name):
    v = os.environ.get(name)
    if not v:
        die("%s is not set: start the servers with tests/servers/testenv.sh start and source "
            "the file `testenv.sh envfile` prints" % name)
    return v


class Server:
    def __init__(self, flavor):
        self.flavor = flavor
        self.testenv = env("CDC_TEST_TESTENV")
        up = env("CDC_TEST_SERVERS").split()
        if flavor not in up:
            die("CDC_TEST_SERVERS=%r: %s is not running" % (" ".join(up), flavor))
        self.datadir = env("CDC_TEST_%s_DATADIR" % flavor.upper())
        self.tool = "mysqlbinlog" if flavor == "mysql" else "mariadb-binlog"

    def sql(self, script, db=None):
        """Runs statements; returns result rows as lists of str/None."""
        cmd = [self.testenv, self.flavor, "--batch", "--skip-column-names",
               "--default-character-set=utf8mb4"]
        if db:
            cmd.append(db)
        p = subprocess.run(cmd, input=script.encode("utf-8"), capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("%s client failed (%d): %s" % (
                self.flavor, p.returncode, p.stderr.decode("utf-8", "replace")[-2000:]))
        rows = []
        for line in p.stdout.decode("utf-8").split("\n"):
            if line:
                rows.append([None if f == "NULL" else f for f in line.split("\t")])
        return rows

    def binlogs(self):
        return [r[0] for r in self.sql("SHOW BINARY LOGS")]

    def path(self, name):
        p = os.path.join(self.datadir, name)
        if not os.path.exists(p):
            raise RuntimeError("binlog %s not found in %s" % (name, self.datadir))
        return p

    def decode_tool(self, paths):
        """[(file name, tool output)] for each path."""
        out = []
        env = dict(os.environ, TZ="UTC")  # header times print in local time
        for p in paths:
            r = subprocess.run([self.testenv, self.tool, "-vv", "--base64-output=DECODE-ROWS", p],
                               capture_output=True, env=env)
            if r.returncode != 0:
                raise RuntimeError("%s %s failed: %s" % (self.tool, p,
                                   r.stderr.decode("utf-8", "replace")[-1000:]))
            out.append((os.path.basename(p), r.stdout))
        return out


class Run:
    """One workload run under one set of binlog settings."""

    def __init__(self, name, flavor, session=(), global_set=(), marker=None, alter=True):
        self.name, self.flavor = name, flavor
        self.session, self.global_set = list(session), list(global_set)
        self.marker = marker  # text the tool output must contain: proves the setting took
        self.alter = alter
        self.image = next((x.split("= ")[1] for x in self.session if "binlog_row_image" in x), "FULL")
        self.db = "cdc_diff_" + name.replace("-", "_")


RUNS = [
    Run("mysql-full", "mysql", session=["SET SESSION binlog_row_image = FULL"]),
    Run("mysql-compressed", "mysql",
        session=["SET SESSION binlog_row_image = FULL",
                 "SET SESSION binlog_transaction_compression = ON"],
        marker=b"Transaction_Payload"),
    Run("mysql-full-partial-json", "mysql",
        session=["SET SESSION binlog_row_image = FULL",
                 "SET SESSION binlog_row_value_options = 'PARTIAL_JSON'"],
        marker=b"Update_rows_partial"),
    Run("mysql-minimal-partial-json", "mysql",
        session=["SET SESSION binlog_row_image = MINIMAL",
                 "SET SESSION binlog_row_value_options = 'PARTIAL_JSON'"],
        marker=b"Update_rows_partial", alter=False),
    Run("mysql-noblob", "mysql", session=["SET SESSION binlog_row_image = NOBLOB"], alter=False),
    Run("mariadb-full", "mariadb", session=["SET SESSION binlog_row_image = FULL"]),
    Run("mariadb-minimal", "mariadb", session=["SET SESSION binlog_row_image = MINIMAL"], alter=False),
    Run("mariadb-compressed", "mariadb", session=["SET SESSION binlog_row_image = FULL"],
        global_set=[("log_bin_compress", "ON"), ("log_bin_compress_min_len", "10")],
        marker=b"_compressed_rows"),
]


class Check:
    def __init__(self, name):
        self.name = name
        self.problems = []
        self.notes = []

    def bad(self, msg):
        self.problems.append(msg)

    def finish(self):
        ok = not self.problems
        for n in self.notes:
            print("  note: " + n)
        for p in self.problems[:MAX_REPORT]:
            print("  " + p)
        if len(self.problems) > MAX_REPORT:
            print("  ... and %d more" % (len(self.problems) - MAX_REPORT))
        print("[       OK ] %s" % self.name if ok else "[  FAILED  ] %s" % self.name)
        sys.stdout.flush()
        return ok


def table_columns(srv, db):
    """{table: [Column...]} in table order, from information_schema."""
    rows = srv.sql("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME,"
                   " COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s'"
                   " ORDER BY TABLE_NAME, ORDINAL_POSITION" % db)
    json_cols = set()
    if srv.flavor == "mariadb":
        # MariaDB's JSON columns are LONGTEXT with a json_valid() check.
        for t, clause in srv.sql("SELECT TABLE_NAME, CHECK_CLAUSE FROM"
                                 " information_schema.CHECK_CONSTRAINTS WHERE"
                                 " CONSTRAINT_SCHEMA = '%s'" % db):
            if clause and clause.startswith("json_valid("):
                json_cols.add((t, clause[len("json_valid("):].strip("`)")))
    out = {}
    for t, name, dt, ct, cs, key in rows:
        out.setdefault(t, []).append(canon.Column(name, dt, ct, cs, key, (t, name) in json_cols))
    return out


def select_table(srv, db, table, cols):
    exprs = ", ".join(c.select_expr() for c in cols)
    rows = srv.sql("SET time_zone = '+00:00';\nSELECT %s FROM `%s`.`%s`" % (exprs, db, table))
    return [{c.name: c.expected(v) for c, v in zip(cols, r)} for r in rows]


# ------------------------------------------------------------------ replay

def freeze(v):
    """Hashable form of a cdc JSON value, for matching rows."""
    return json.dumps(v, sort_keys=True, default=float)


class Replay:
    """Rebuilds tables from decoded row changes."""

    def __init__(self, check):
        self.tables = {}  # table -> list of row dicts (cdc JSON values)
        self.order = {}   # table -> column order of the last full image
        self.check = check

    def _find(self, rows, before, ev):
        key = {k: freeze(v) for k, v in before.items()}
        for i, r in enumerate(rows):
            if all(k in r and freeze(r[k]) == fv for k, fv in key.items()):
                return i
        self.check.bad("%s: %s %s: no row matches the before image %s" % (
            ev["table"], ev["op"], pos(ev), canon.json_text(before)[:200]))
        return None

    def apply(self, ev):
        t, op = ev["table"], ev["op"]
        rows = self.tables.setdefault(t, [])
        before, after = ev.get("before"), ev.get("after")
        for img in (before, after):
            if isinstance(img, dict) and any(k.startswith("@") for k in img):
                self.check.bad("%s: %s %s has no column names (%s): its TABLE_MAP carried none; was"
                               " binlog_row_metadata changed by another client meanwhile?" % (
                                   t, op, pos(ev), ",".join(img)))
                return
        if op == "c":
            if before is not None or not isinstance(after, dict):
                self.check.bad("%s: insert %s with before=%s after=%s" % (t, pos(ev), before, type(after)))
                return
            cols = list(after)
            if self.order.get(t) not in (None, cols):
                # ALTER TABLE between events: existing rows lose dropped
                # columns and get NULL in added ones (the workload adds
                # only nullable columns without defaults).
                for r in rows:
                    for k in list(r):
                        if k not in after:
                            del r[k]
                    for k in cols:
                        r.setdefault(k, None)
            self.order[t] = cols
            rows.append(copy.deepcopy(after))  # events stay as decoded for check (b)
        elif op == "u":
            if not isinstance(before, dict) or not isinstance(after, dict):
                self.check.bad("%s: update %s without before/after images" % (t, pos(ev)))
                return
            i = self._find(rows, before, ev)
            if i is None:
                return
            for k, v in after.items():
                if isinstance(v, dict) and set(v) == {"json_diff"}:
                    try:
                        v = canon.apply_json_diff(copy.deepcopy(rows[i].get(k)), v["json_diff"])
                    except (KeyError, IndexError, TypeError, ValueError) as e:
                        self.check.bad("%s: update %s column %s: cannot apply json_diff %s: %s" % (
                            t, pos(ev), k, canon.json_text(v)[:200], e))
                        continue
                rows[i][k] = copy.deepcopy(v)
        elif op == "d":
            if not isinstance(before, dict) or after is not None:
                self.check.bad("%s: delete %s with before=%s after=%s" % (t, pos(ev), type(before), after))
                return
            i = self._find(rows, before, ev)
            if i is not None:
                del rows[i]
        else:
            self.check.bad("%s: unknown op %r at %s" % (t, op, pos(ev)))


def pos(ev):
    p = ev.get("pos") or {}
    return "%s:%s#%s" % (p.get("file"), p.get("offset"), p.get("row"))


def compare_tables(check, replay, selected, columns):
    for table, cols in sorted(columns.items()):
        want_rows = selected[table]
        got_rows = replay.tables.get(table, [])
        names = [c.name for c in cols]
        if table in replay.order and replay.order[table] != names:
            check.bad("%s: column order of the last insert %s, table has %s" % (
                table, replay.order[table], names))
        keys = [c for c in cols if c.key]

        def conv(r, where):
            out = {}
            for c in cols:
                if c.name not in r:
                    check.bad("%s %s: column %s missing" % (table, where, c.name))
                    out[c.name] = ("missing",)
                    continue
                try:
                    out[c.name] = c.got(r[c.name])
                except canon.FormError as e:
                    check.bad("%s %s column %s: %s" % (table, where, c.name, e))
                    out[c.name] = ("bad form",)
            extra = set(r) - set(names)
            if extra:
                check.bad("%s %s: columns not in the table: %s" % (table, where, sorted(extra)))
            return out

        got_rows = [conv(r, "row %d" % i) for i, r in enumerate(got_rows)]
        if keys:
            def k(r):
                return tuple(r[c.name] for c in keys)
            want = {k(r): r for r in want_rows}
            got = {}
            for r in got_rows:
                if k(r) in got:
                    check.bad("%s: key %s twice in the rebuilt table" % (table, show_key(k(r))))
                got[k(r)] = r
            for kk in sorted(set(want) | set(got), key=repr):
                where = "%s row %s" % (table, show_key(kk))
                if kk not in got:
                    check.bad("%s: missing from cdc output" % where)
                elif kk not in want:
                    check.bad("%s: in cdc output but not in the table" % where)
                else:
                    for c in cols:
                        a, b = want[kk][c.name], got[kk][c.name]
                        if a == ("json", None) and b is None:
                            check.notes.append("%s column %s: JSON null document prints as null,"
                                               " the same as SQL NULL" % (where, c.name))
                        elif a != b:
                            check.bad("%s column %s: expected %s, got %s" % (
                                where, c.name, canon.show(a), canon.show(b)))
        else:
            def frz(r):
                return tuple(repr(r[n]) for n in names)
            want = sorted(frz(r) for r in want_rows)
            got = sorted(frz(r) for r in got_rows)
            if want != got:
                w, g = list(want), list(got)
                for r in want:
                    if r in g:
                        g.remove(r)
                        w.remove(r)
                for r in w:
                    check.bad("%s (no PK): row %s in the table, not in cdc output" % (table, r))
                for r in g:
                    check.bad("%s (no PK): row %s in cdc output, not in the table" % (table, r))
        check.notes.append("%s: %d rows, %d columns compared" % (table, len(want_rows), len(cols)))
        for c in cols:
            if c.printed_as_bytes:
                check.notes.append("%s.%s: %d %s values printed as base64 of their stored bytes, not as"
                                   " text (no such metadata in the binlog); bytes compared" % (
                                       table, c.name, c.printed_as_bytes, c.data_type.upper()))


def show_key(k):
    return ",".join(canon.show(x) for x in k)


# ------------------------------------------------------------------ tool check

def compare_tool(check, tool_changes, events, columns, by_position_ok, flavor):
    skipped = {}
    compared = 0
    if len(tool_changes) != len(events):
        check.bad("row change count: %s printed %d, cdc dump %d" % (
            "tool", len(tool_changes), len(events)))
    for n, (tc, ev) in enumerate(zip(tool_changes, events)):
        where = "change %d (%s %s %s)" % (n, ev.get("op"), ev.get("table"), pos(ev))
        if tc.table != ev.get("table") or tc.op != ev.get("op"):
            check.bad("%s: tool has %s %s" % (where, tc.op, tc.table))
            if len(check.problems) > 50:
                return
            continue
        cols = {c.name: c for c in columns.get(tc.table, [])}
        order = [c.name for c in columns.get(tc.table, [])]
        for img in ("before", "after"):
            tvals, cimg = getattr(tc, img), ev.get(img)
            if tvals is None:
                if cimg is not None and not tc.truncated:
                    check.bad("%s: %s image in cdc output, not in the tool's" % (where, img))
                continue
            if not isinstance(cimg, dict):
                check.bad("%s: no %s image in cdc output" % (where, img))
                continue
            ckeys = list(cimg)
            if tc.truncated:
                # The tool gave up at a type it cannot print (mysqlbinlog:
                # GEOMETRY) and printed only the columns before it.
                key = "type %s (tool stops the row there)" % tc.truncated
                skipped[key] = skipped.get(key, 0) + 1
            if len(tvals) == len(ckeys) and not tc.truncated:
                names = ckeys
            elif by_position_ok:
                # @N is the N-th column of the table (no ALTER in this run).
                names = [order[i - 1] if i - 1 < len(order) else "@%d" % i for i, _, _ in tvals]
            elif tc.truncated:
                names = ckeys[:len(tvals)]
            else:
                check.bad("%s %s: tool has %d columns, cdc %d" % (where, img, len(tvals), len(ckeys)))
                continue
            extra = [] if tc.truncated else [k for k in ckeys if k not in names]
            if extra:
                check.bad("%s %s: cdc has columns the tool's image lacks: %s" % (where, img, extra))
            for (idx, raw, typ), name in zip(tvals, names):
                if name not in cimg:
                    check.bad("%s %s: @%d (%s) missing in cdc output" % (where, img, idx, name))
                    continue
                col = cols.get(name)
                if col is None:
                    continue  # a dropped column: its type is no longer known
                tb = None
                if img == "after" and tc.before:
                    tb = next((r for i, r, _ in tc.before if i == idx), None)
                r = binlogtool.compare(col, raw, typ, cimg[name], flavor, tb)
                if r is None:
                    compared += 1
                elif r[0] == "skip":
                    skipped[r[1]] = skipped.get(r[1], 0) + 1
                else:
                    check.bad("%s %s column %s (@%d %s): tool %s, cdc %s" % (
                        where, img, name, idx, typ.split(" meta")[0], r[0], r[1]))
    check.notes.append("%d values compared with the tool" % compared)
    if skipped:
        check.notes.append("not comparable (tool prints no value): %s" % ", ".join(
            "%s x%d" % kv for kv in sorted(skipped.items())))


def compare_positions(check, tool_changes, events):
    """pos (file, offset, row), gtid, server_id and ts_ms of every row
    change against where the tool puts it. Where the tool lists the rows
    of several events of one statement together, it gives the events'
    offsets: the cdc rows must walk through exactly those, in order, with
    row numbers restarting at 0 in each event."""
    n = 0
    prev = None  # (offsets tuple, offset, row) of the previous change in a group
    for i, (tc, ev) in enumerate(zip(tool_changes, events)):
        p = ev.get("pos") or {}
        got = {"file": p.get("file"), "offset": p.get("offset"), "row": p.get("row"),
               "gtid": ev.get("gtid"), "server_id": ev.get("server_id"), "ts_ms": ev.get("ts_ms")}
        where = "change %d (%s %s %s)" % (i, ev.get("op"), ev.get("table"), pos(ev))
        meta = dict(tc.meta)
        offs = meta.pop("offset", None)
        if meta.get("row") is None:
            del meta["row"]
        if prev is not None and prev[0] != offs and prev[1] != prev[0][-1]:
            check.bad("%s: the previous statement's rows end in event %s, not in the last of %s" % (
                where, prev[1], list(prev[0])))
        if isinstance(offs, tuple):
            off, row = got["offset"], got["row"]
            if prev is not None and prev[0] == offs and off == prev[1]:
                ok = row == prev[2] + 1
            elif prev is not None and prev[0] == offs:
                ok = (off in offs and prev[1] in offs and
                      offs.index(off) == offs.index(prev[1]) + 1 and row == 0)
            else:
                ok = off == offs[0] and row == 0
            if not ok:
                check.bad("%s: offset/row %s/%s does not follow the tool's rows events %s" % (
                    where, off, row, list(offs)))
            prev = (offs, off, row)
            n += 2
        else:
            meta["offset"] = offs
            prev = None
        for k, want in sorted(meta.items()):
            if got.get(k) != want:
                check.bad("%s: %s: tool %r, cdc %r" % (where, k, want, got.get(k)))
            n += 1
    if prev is not None and prev[1] != prev[0][-1]:
        check.bad("last statement's rows end in event %s, not in the last of %s" % (prev[1], list(prev[0])))
    if not tool_changes:
        check.bad("no row changes to compare")
    check.notes.append("%d fields compared" % n)


# ------------------------------------------------------------------ driver

def do_run(run, servers, cdc):
    srv = servers[run.flavor]
    ok = True
    setup = Check("%s/workload" % run.name)
    saved = []
    try:
        for var, val in run.global_set:
            old = srv.sql("SELECT @@GLOBAL.%s" % var)[0][0]
            saved.append((var, old))
            srv.sql("SET GLOBAL %s = %s" % (var, val))
        fmt, meta = srv.sql("SELECT @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_metadata")[0]
        if (fmt, meta) != ("ROW", "FULL"):
            raise RuntimeError("binlog_format=%s binlog_row_metadata=%s: the test needs ROW and FULL"
                               " (column names, signedness, charsets, labels)" % (fmt, meta))
        srv.sql("FLUSH BINARY LOGS")
        first = srv.binlogs()[-1]
        t0 = time.time()
        srv.sql(";\n".join(run.session + workload.statements(run.flavor, run.db, run.alter)) + ";\n")
        srv.sql("FLUSH BINARY LOGS")
        logs = srv.binlogs()
        if first not in logs:
            raise RuntimeError("binlog %s vanished during the run (%s): another client purged the"
                               " binary logs or reset the server" % (first, ", ".join(logs)))
        files = logs[logs.index(first):-1]
        setup.notes.append("%d statements in %.1fs, binlogs %s" % (
            len(workload.statements(run.flavor, run.db, run.alter)), time.time() - t0, ", ".join(files)))
    except (RuntimeError, ValueError, IndexError) as e:
        setup.bad(str(e))
        return setup.finish()
    finally:
        for var, old in saved:
            try:
                srv.sql("SET GLOBAL %s = %s" % (var, old if old.isdigit() else "'%s'" % old))
            except RuntimeError as e:
                setup.bad("restoring %s: %s" % (var, e))
    ok &= setup.finish()

    paths = [srv.path(f) for f in files]
    dump = Check("%s/cdc-dump" % run.name)
    p = subprocess.run([cdc, "dump"] + paths, capture_output=True)
    events = []
    if p.returncode != 0:
        dump.bad("cdc dump exited %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-1500:]))
    for i, line in enumerate(p.stdout.decode("utf-8", "replace").split("\n")):
        if not line:
            continue
        try:
            ev = canon.load_json_line(line)
        except ValueError as e:
            dump.bad("output line %d is not JSON (%s): %s" % (i + 1, e, line[:200]))
            continue
        if ev.get("db") == run.db:
            events.append(ev)
    dump.notes.append("%d row changes in %s" % (len(events), run.db))
    # The row image setting must show: FULL runs have whole before images,
    # MINIMAL/NOBLOB runs leave columns out of some.
    partial = sum(1 for ev in events if ev.get("op") == "u" and isinstance(ev.get("before"), dict)
                  and isinstance(ev.get("after"), dict) and set(ev["before"]) != set(ev["after"]))
    if run.image == "FULL" and partial:
        dump.bad("%d updates with before and after images of different columns under FULL" % partial)
    if run.image != "FULL" and not partial:
        dump.bad("no update left columns out: binlog_row_image=%s did not take effect" % run.image)
    if not events:
        dump.bad("no row changes for %s decoded" % run.db)
    ok &= dump.finish()

    columns = table_columns(srv, run.db)
    selected = {t: select_table(srv, run.db, t, cols) for t, cols in columns.items()}

    rebuild = Check("%s/rebuild-vs-select" % run.name)
    replay = Replay(rebuild)
    for ev in events:
        replay.apply(ev)
    compare_tables(rebuild, replay, selected, columns)
    ok &= rebuild.finish()

    tool = Check("%s/vs-%s" % (run.name, srv.tool))
    try:
        outs = srv.decode_tool(paths)
    except RuntimeError as e:
        tool.bad(str(e))
        return tool.finish() and ok
    if run.marker and not any(run.marker in o for _, o in outs):
        tool.bad("%s output lacks %r: the run's setting did not take effect" % (srv.tool, run.marker))
    changes = [c for f, o in outs for c in binlogtool.parse(o, f) if c.db == run.db]
    compare_tool(tool, changes, events, columns, not run.alter, run.flavor)
    ok &= tool.finish()

    where = Check("%s/positions-vs-%s" % (run.name, srv.tool))
    compare_positions(where, changes, events)
    ok &= where.finish()
    return ok


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cdc = os.path.abspath(sys.argv[1])
    if not os.access(cdc, os.X_OK):
        die("%s is not an executable cdc binary" % cdc)
    wanted = sys.argv[2:]
    runs = [r for r in RUNS if not wanted or r.name in wanted]
    if not runs:
        die("no run named %s; runs: %s" % (wanted, ", ".join(r.name for r in RUNS)))
    servers = {}
    for f in sorted({r.flavor for r in runs}):
        servers[f] = Server(f)
    failed = 0
    for run in runs:
        try:
            good = do_run(run, servers, cdc)
        except Exception:  # a bug here must fail loudly, not stop the other runs
            traceback.print_exc(file=sys.stdout)
            print("[  FAILED  ] %s/internal-error" % run.name)
            good = False
        if not good:
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
