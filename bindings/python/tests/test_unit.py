"""Python binding without servers: version, configuration errors, stop
before start, and every fixture binlog decoded through batches compared
with `cdc dump` of the same file ($CDC_TOOL), line by line."""
import json
import os
import subprocess
import unittest

import libcdc


def fixtures():
    root = os.environ.get("CDC_FIXTURES")
    if not root or not os.path.isdir(root):
        raise RuntimeError("CDC_FIXTURES is not set to the fixtures directory")
    out = []
    with open(os.path.join(root, "MANIFEST.tsv"), encoding="utf-8") as m:
        for line in m:
            dest = line.split("\t", 1)[0]
            p = os.path.join(root, dest)
            if dest != "dest" and os.path.isfile(p):
                out.append(p)
    return out


def cdc_dump(path):
    tool = os.environ.get("CDC_TOOL")
    if not tool:
        raise RuntimeError("CDC_TOOL is not set to the cdc program")
    p = subprocess.run([tool, "dump", path], capture_output=True)
    # Split at "\n" only: values may hold U+2028 and the like, which
    # str.splitlines() would also break at.
    lines = [ln for ln in p.stdout.decode("utf-8").split("\n") if ln]
    return p.returncode, lines, p.stderr.decode("utf-8", "replace")


class TestVersionAndConfig(unittest.TestCase):
    def test_version(self):
        want = os.environ.get("LIBCDC_VERSION")
        self.assertTrue(want, "LIBCDC_VERSION not set")
        self.assertEqual(libcdc.version(), want)

    def test_unknown_key(self):
        cfg = libcdc.Config()
        with self.assertRaises(libcdc.CdcError) as cm:
            cfg.set("no.such.key", "1")
        e = cm.exception
        self.assertEqual((e.code, e.name), (-3, "CDC_ERR_CONFIG"))
        self.assertIn("no.such.key", e.message)
        self.assertFalse(e.retriable)

    def test_bad_value_keeps_old(self):
        cfg = libcdc.Config({"port": 3307})
        with self.assertRaises(libcdc.CdcError) as cm:
            cfg["port"] = "not-a-port"
        self.assertEqual(cm.exception.name, "CDC_ERR_CONFIG")
        self.assertIn("port", cm.exception.message)
        self.assertIn("not-a-port", cm.exception.message)
        self.assertEqual(cfg["port"], "3307")
        cfg["port"] = None  # back to the default
        default = [k["default"] for k in libcdc.config_keys() if k["name"] == "port"]
        self.assertEqual([cfg["port"]], default)

    def test_values_and_secret(self):
        cfg = libcdc.Config(host="db1.example", **{"server.id": 4001})
        self.assertEqual(cfg.get("host"), "db1.example")
        self.assertEqual(cfg.get("server.id"), "4001")
        self.assertEqual(cfg.get("password"), "")
        cfg.set("password", "s3cret")
        self.assertEqual(cfg.get("password"), "********")
        with self.assertRaises(libcdc.CdcError) as cm:
            cfg.get("nope")
        self.assertEqual(cm.exception.code, -3)

    def test_config_keys(self):
        keys = {k["name"]: k for k in libcdc.config_keys()}
        self.assertIn("server.id", keys)
        self.assertEqual(keys["ssl.mode"]["type"], "enum")
        self.assertIn("verify_ca", keys["ssl.mode"]["choices"].split("|"))

    def test_stream_needs_server_id(self):
        with self.assertRaises(libcdc.CdcError) as cm:
            libcdc.Stream({"host": "127.0.0.1", "user": "cdc"})
        self.assertEqual(cm.exception.name, "CDC_ERR_CONFIG")
        self.assertIn("server.id", cm.exception.message)

    def test_stop_before_start_ends_iteration(self):
        # Port 9 on loopback: nothing there, so only the stop can end this
        # quickly and without an error.
        with libcdc.Stream({"host": "127.0.0.1", "port": 9, "user": "cdc", "server.id": 77}) as s:
            s.stop()
            self.assertEqual(list(s), [])
            self.assertIsNone(s.checkpoint)

    def test_connect_error_raises(self):
        with libcdc.Stream({"host": "127.0.0.1", "port": 9, "user": "cdc", "server.id": 77,
                            "connect.timeout.ms": 2000}) as s:
            with self.assertRaises(libcdc.CdcError) as cm:
                list(s)
            self.assertEqual(cm.exception.name, "CDC_ERR_CONNECT")
            self.assertTrue(cm.exception.retriable)
            self.assertIn("127.0.0.1", cm.exception.message)


class TestDecodeFile(unittest.TestCase):
    def compare(self, path, **kw):
        status, want, err = cdc_dump(path)
        got = []
        raised = None
        try:
            for c in libcdc.decode_file(path, **kw):
                got.append(c)
        except libcdc.CdcError as e:
            raised = e
        self.assertEqual(len(got), len(want), path)
        for i, (g, w) in enumerate(zip(got, want)):
            self.assertEqual(g, json.loads(w), "%s line %d" % (path, i + 1))
        if status == 0:
            self.assertIsNone(raised, path)
        else:
            # cdc dump prints "cdc dump: FILE: <the decoder's message>".
            self.assertIsNotNone(raised, path)
            self.assertIn(raised.message, err, path)
        return len(got), status

    def test_every_fixture_equals_cdc_dump(self):
        files = fixtures()
        self.assertGreater(len(files), 15)
        total = 0
        failing = set()
        for p in files:
            n, status = self.compare(p)
            total += n
            if status != 0:
                failing.add(os.path.relpath(p, os.environ["CDC_FIXTURES"]))
        self.assertGreater(total, 1000)
        # Both paths were compared: the deliberately broken binlogs
        # (tests/fixtures/SOURCES.md, quirk 8) raise as cdc dump fails,
        # and most of the 145 binlogs decode (126 when this was written;
        # the manifest also lists notes and expected-output files).
        for broken in ("mysql-server-8.0.39/std_data/binlog_truncated_event.000001",
                       "mysql-server-8.0.39/std_data/binlog_no_fd_event.000001"):
            self.assertIn(broken, failing)
        self.assertNotIn("rust_mysql_common/transaction_compression.000001", failing)
        self.assertGreaterEqual(len(files) - len(failing), 120)

    def test_small_batches_same_lines(self):
        root = os.environ["CDC_FIXTURES"]
        for rel in ("mariadb-server-11.8.6/std_data/mdev6020-mysql-bin.000001",
                    "rust_mysql_common/transaction_compression.000001",
                    "mysql-binlog-connector-java/mysql-bin.sakila.gz"):
            n, status = self.compare(os.path.join(root, rel), batch_bytes=1, chunk=977)
            self.assertEqual(status, 0)
            self.assertGreater(n, 0)

    def test_missing_file(self):
        with self.assertRaises(FileNotFoundError):
            list(libcdc.decode_file("/nonexistent/binlog.000001"))


def _frac(text):
    base, _, frac = text.partition(".")
    return base, int((frac + "000000")[:6]) if frac else 0


def _json_form_of(native, j):
    """True when the native value `native` is the value whose JSON form
    (docs/values.md) is `j`, parsed here without the library's help."""
    import base64
    import datetime as dt
    import decimal
    if native is None or native is libcdc.JSON_NULL:
        return j is None
    if isinstance(native, bool):
        return False
    if isinstance(native, int):
        return type(j) is int and j == native
    if isinstance(native, float):
        return isinstance(j, (int, float)) and float(j) == native
    if isinstance(native, decimal.Decimal):
        return isinstance(j, str) and decimal.Decimal(j) == native and str(native) == j
    if isinstance(native, dt.datetime):
        if not isinstance(j, str):
            return False
        tz = None
        if j.endswith("Z"):
            j, tz = j[:-1], dt.timezone.utc
        base, us = _frac(j)
        d, t = base.split("T")
        y, mo, da = (int(x) for x in d.split("-"))
        h, mi, se = (int(x) for x in t.split(":"))
        want = dt.datetime(y, mo, da, h, mi, se, us, tzinfo=tz)
        return native == want and native.tzinfo == want.tzinfo
    if isinstance(native, dt.date):
        return j == "%04d-%02d-%02d" % (native.year, native.month, native.day)
    if isinstance(native, dt.timedelta):
        if not isinstance(j, str):
            return False
        neg = j.startswith("-")
        base, us = _frac(j.lstrip("-"))
        h, mi, se = (int(x) for x in base.split(":"))
        want = dt.timedelta(hours=h, minutes=mi, seconds=se, microseconds=us)
        return native == (-want if neg else want)
    if isinstance(native, bytes):
        return isinstance(j, str) and base64.b64decode(j) == native
    return native == j and type(native) is type(j)


def cdc_dump_debezium(path, opts):
    tool = os.environ["CDC_TOOL"]
    args = [tool, "dump", "--format=debezium"]
    for k, v in opts.items():
        args += ["-o", "%s=%s" % (k, v)]
    p = subprocess.run(args + [path], capture_output=True)
    lines = [ln for ln in p.stdout.decode("utf-8").split("\n") if ln]
    return p.returncode, lines, p.stderr.decode("utf-8", "replace")


def without_clock(value):
    """A record's value without the renderer's processing time (ts_ms,
    ts_us, ts_ns at its top: when the connector handled the event, which
    differs between two runs); with schemas, at the top of its payload."""
    if isinstance(value, dict) and "schema" in value and "payload" in value:
        return dict(value, payload=without_clock(value["payload"]))
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in ("ts_ms", "ts_us", "ts_ns")}
    return value


class TestDebeziumFile(unittest.TestCase):
    """decode_file(debezium=...) against `cdc dump --format=debezium` of the
    same file: every record (changes, tombstones, schema changes,
    transaction BEGIN/END) in the same order, the same topic, key and value
    (the processing time aside), and key_bytes/value_bytes the exact JSON
    of key and value."""

    OPTS = {"topic.prefix": "shop", "provide.transaction.metadata": "true", "schemas.enable": "false"}

    def compare(self, path, opts, **kw):
        status, want, err = cdc_dump_debezium(path, opts)
        got, raised = [], None
        try:
            for r in libcdc.decode_file(path, debezium=opts, **kw):
                got.append(r)
        except libcdc.CdcError as e:
            raised = e
        self.assertEqual(len(got), len(want), path)
        for i, (g, w) in enumerate(zip(got, want)):
            w = json.loads(w)
            where = "%s record %d" % (path, i + 1)
            self.assertIsInstance(g, libcdc.DebeziumRecord, where)
            self.assertEqual(g.topic, w["topic"], where)
            self.assertEqual(g.key, w["key"], where)
            self.assertEqual(without_clock(g.value), without_clock(w["value"]), where)
            self.assertEqual(g.key_bytes is None, g.key is None, where)
            self.assertEqual(g.value_bytes is None, g.value is None, where)
            if g.key_bytes is not None:
                self.assertEqual(json.loads(g.key_bytes), g.key, where)
            if g.value_bytes is not None:
                self.assertEqual(json.loads(g.value_bytes), g.value, where)
                self.assertEqual(g.op, g.value.get("op"), where)
        if status == 0:
            self.assertIsNone(raised, path)
        else:
            self.assertIsNotNone(raised, path)
        return got

    def test_every_fixture_equals_cdc_dump(self):
        kinds = set()
        for p in fixtures():
            for r in self.compare(p, self.OPTS):
                v = r.value
                if v is None:
                    kinds.add("tombstone")
                elif "op" in v:
                    kinds.add("op " + v["op"])
                elif "ddl" in v:
                    kinds.add("schema change")
                elif "status" in v:
                    kinds.add(v["status"])
        # every kind of record was compared at least once
        self.assertTrue({"op c", "op u", "op d", "tombstone", "schema change", "BEGIN", "END"} <= kinds, kinds)

    def test_options_and_small_batches(self):
        root = os.environ["CDC_FIXTURES"]
        opts = {"topic.prefix": "p", "schemas.enable": "true", "decimal.handling.mode": "string",
                "tombstones.on.delete": "false", "include.schema.changes": "false"}
        got = self.compare(os.path.join(root, "mysql-binlog-connector-java/mysql-bin.sakila.gz"), opts,
                           batch_bytes=1, chunk=977)
        self.assertGreater(len(got), 1000)
        self.assertTrue(all(r.value is not None and "schema" in r.value for r in got))

    def test_bad_option_names_it(self):
        with self.assertRaises(libcdc.CdcError) as cm:
            list(libcdc.decode_file(fixtures()[0], debezium={"topic.prefix": "p", "no.such.option": "1"}))
        self.assertEqual(cm.exception.name, "CDC_ERR_CONFIG")
        self.assertIn("no.such.option", cm.exception.message)
        with self.assertRaises(ValueError):
            list(libcdc.decode_file(fixtures()[0], native=True, debezium={"topic.prefix": "p"}))


class TestNativeFile(unittest.TestCase):
    """Binary batches (native=True) against `cdc dump`'s JSON lines of
    every fixture: the same changes in the same order, and every value
    the native form of the line's JSON value, read by the C extension and
    by the pure Python reader."""

    def compare_native(self, path, reader, **kw):
        status, want, err = cdc_dump(path)
        got, raised = [], None
        saved = libcdc._reader
        libcdc._reader = reader
        try:
            for c in libcdc.decode_file(path, native=True, **kw):
                got.append(c)
        except libcdc.CdcError as e:
            raised = e
        finally:
            libcdc._reader = saved
        self.assertEqual(len(got), len(want), path)
        values = 0
        for i, (g, w) in enumerate(zip(got, want)):
            w = json.loads(w)
            where = "%s line %d" % (path, i + 1)
            self.assertIsInstance(g, libcdc.Record, where)
            self.assertEqual(list(g.keys()), list(w.keys()), where)
            for k in w:
                if k not in ("before", "after"):
                    self.assertEqual(g[k], w[k], where + " " + k)
                elif w[k] is None:
                    self.assertIsNone(g[k], where + " " + k)
                else:
                    self.assertEqual(list(g[k]), list(w[k]), where + " " + k)
                    for col, jv in w[k].items():
                        values += 1
                        self.assertTrue(_json_form_of(g[k][col], jv),
                                        "%s %s.%s: native %r, line %r" % (where, k, col, g[k][col], jv))
        self.assertEqual(raised is None, status == 0, path)
        if raised is not None:
            self.assertIn(raised.message, err, path)
        return len(got), values

    def readers(self):
        from libcdc import _binary
        out = [_binary]
        if os.environ.get("LIBCDC_EXT_DIR"):  # bindings/run-tests.sh built the extension
            self.assertTrue(libcdc.EXTENSION, "libcdc._fast did not load")
            from libcdc import _fast
            out.append(_fast)
        return out

    def test_every_fixture_native(self):
        for reader in self.readers():
            changes = values = 0
            for p in fixtures():
                n, v = self.compare_native(p, reader)
                changes += n
                values += v
            self.assertGreater(changes, 1000)
            self.assertGreater(values, 10000)

    def test_tiny_batches_native(self):
        # a batch per rows event: table records come once and stay valid
        # in later batches
        root = os.environ["CDC_FIXTURES"]
        for reader in self.readers():
            for rel in ("mariadb-server-11.8.6/std_data/mdev6020-mysql-bin.000001",
                        "rust_mysql_common/transaction_compression.000001",
                        "mysql-binlog-connector-java/mysql-bin.sakila.gz"):
                n, _ = self.compare_native(os.path.join(root, rel), reader, batch_bytes=1, chunk=977)
                self.assertGreater(n, 0)

    def test_truncated_batch_raises(self):
        from libcdc import _binary
        for reader in self.readers():
            d = reader.Decoder(libcdc.Record, __import__("decimal").Decimal, json.loads, libcdc.JSON_NULL, None)
            # a table record cut inside its first name
            with self.assertRaises(ValueError):
                d.decode(b"T\x00\x00\x00\x00\x05\x00\x00\x00ab")
            # a change of a table never sent
            with self.assertRaises(ValueError):
                d.decode(b"Cc\x07\x00\x00\x00")
        del _binary


class TestPackaging(unittest.TestCase):
    """Issue 13.5: the package builds offline (no index: requires = [] and
    an in-tree backend), with and without build isolation; the wheel holds
    the module, the compiled batch reader and py.typed with a RECORD whose
    hashes match; with LIBCDC_NO_EXT=1 it is pure Python."""

    def test_wheel_builds_offline(self):
        import sys
        import sysconfig
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        self.check_wheel({}, r"^libcdc-[0-9.]+-cp%d%d-[a-z0-9_]+-[a-z0-9_]+\.whl$" % sys.version_info[:2],
                         "libcdc/_fast" + suffix)
        self.check_wheel({"LIBCDC_NO_EXT": "1"}, r"^libcdc-[0-9.]+-py3-none-any\.whl$", None)

    def check_wheel(self, extra_env, pattern, ext):
        import base64
        import hashlib
        import sys
        import tempfile
        import zipfile
        src = os.path.dirname(os.path.dirname(os.path.abspath(libcdc.__file__)))
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra_env)
        for isolation in (["--no-build-isolation"], []):
            with tempfile.TemporaryDirectory() as d:
                p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", d] + isolation + [src],
                                   capture_output=True, env=env)
                self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace")[-2000:])
                whl = [f for f in os.listdir(d) if f.endswith(".whl")]
                self.assertEqual(len(whl), 1)
                self.assertRegex(whl[0], pattern)
                with zipfile.ZipFile(os.path.join(d, whl[0])) as z:
                    names = z.namelist()
                    self.assertIn("libcdc/__init__.py", names)
                    self.assertIn("libcdc/_binary.py", names)
                    self.assertIn("libcdc/py.typed", names)
                    self.assertEqual([n for n in names if n.endswith(".so")], [ext] if ext else [])
                    # the wheel's package imports and picks its reader
                    tgt = os.path.join(d, "site")
                    z.extractall(tgt)
                    env2 = dict(env, PYTHONPATH=tgt)
                    env2.pop("LIBCDC_EXT_DIR", None)
                    p = subprocess.run([sys.executable, "-c", "import libcdc; print(libcdc.EXTENSION)"],
                                       capture_output=True, env=env2, cwd=d)
                    self.assertEqual(p.stdout.decode().strip(), str(ext is not None), p.stderr.decode()[-2000:])
                    record = [n for n in names if n.endswith(".dist-info/RECORD")][0]
                    for line in z.read(record).decode().splitlines():
                        arc, h, size = line.rsplit(",", 2)
                        if not h:
                            continue
                        data = z.read(arc)
                        want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                        self.assertEqual((h, int(size)), (want, len(data)), arc)


class TestAsyncioOffline(unittest.TestCase):
    def test_async_iteration_ends_after_stop(self):
        import asyncio

        async def main():
            async with libcdc.Stream({"host": "127.0.0.1", "port": 9, "user": "cdc", "server.id": 77}) as s:
                s.stop()
                return [r async for r in s]

        self.assertEqual(asyncio.run(main()), [])
