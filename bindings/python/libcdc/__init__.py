"""libcdc for Python: change data capture from MySQL and MariaDB binlogs.

A thin ctypes layer over the C library. Changes cross from C in batches
(include/cdc/batch.h), one call per batch, and come out as dicts in the
form of docs/output.md. With native=True (values as Python types) a batch
is binary and read by a small C extension (libcdc._fast, with a pure
Python fallback); without, it is JSON lines, parsed with json.loads:

    import libcdc
    cfg = libcdc.Config({"host": "db1", "user": "cdc", "password": pw,
                         "server.id": "4001", "start": saved_checkpoint})
    with libcdc.Stream(cfg, native=True) as stream:
        for rec in stream:
            if rec.op:                        # a row change
                apply(rec)
            elif rec.event in ("commit", "ddl"):  # end of a transaction
                save(rec.checkpoint)

    for change in libcdc.decode_file("binlog.000042"):
        print(change["op"], change["table"], change["after"])

The library is found through the LIBCDC_PATH environment variable (the
path of libcdc.so), else the system's loader search (libcdc.so.0).
See docs/bindings.md.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import datetime as _dt
import decimal
import gzip
import json
import os
import threading
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, Optional, Union

__all__ = ["CdcError", "Config", "Stream", "Record", "DebeziumRecord", "JSON_NULL", "decode_file", "version",
           "config_keys", "EXTENSION"]


class Record(dict):
    """One record of a batch (docs/output.md): a row change (op set), or
    a transaction line (event "commit", "ddl", "checkpoint" or
    "snapshot_done"). A dict (rec["after"]["id"]) with attributes for the
    common keys: op, event, db, table, before, after, position (the "pos"
    dict), gtid, checkpoint, ts (the commit time as an aware UTC
    datetime, None when unknown)."""

    __slots__ = ()

    op = property(lambda self: self.get("op"))
    event = property(lambda self: self.get("event"))
    db = property(lambda self: self.get("db"))
    table = property(lambda self: self.get("table"))
    before = property(lambda self: self.get("before"))
    after = property(lambda self: self.get("after"))
    position = property(lambda self: self.get("pos"))
    gtid = property(lambda self: self.get("gtid"))
    checkpoint = property(lambda self: self.get("checkpoint"))

    @property
    def ts(self) -> Optional[_dt.datetime]:
        ms = self.get("ts_ms")
        if not ms:
            return None
        return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=ms)


class _JsonNull:
    """The JSON document `null` in a JSON column (SQL NULL is None)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "libcdc.JSON_NULL"

    def __bool__(self) -> bool:
        return False


#: A JSON column holding the document `null`, told apart from SQL NULL
#: (None) in native mode.
JSON_NULL = _JsonNull()
_UTC = _dt.timezone.utc


def _reader_module():
    """libcdc._fast (the C extension) unless LIBCDC_PURE=1 or it was not
    built; else the pure Python reader. LIBCDC_EXT_DIR names an extra
    directory to look for the extension in (a build tree's)."""
    ext_dir = os.environ.get("LIBCDC_EXT_DIR")
    if ext_dir and ext_dir not in __path__:
        __path__.append(ext_dir)
    if os.environ.get("LIBCDC_PURE") != "1":
        try:
            from . import _fast
            return _fast, True
        except ImportError:
            pass
    from . import _binary
    return _binary, False


_reader, EXTENSION = _reader_module()
#: True when binary batches are read by the C extension (libcdc._fast).


def _decoder():
    return _reader.Decoder(Record, decimal.Decimal, json.loads, JSON_NULL, _UTC)


_c_int, _c_size, _c_char_p, _c_void_p = ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p
_c_ssize = ctypes.c_ssize_t  # ptrdiff_t on every platform libcdc builds for

_lib = None
_lib_lock = threading.Lock()

# The C API's functions: name -> (restype, argtypes).
_PROTOS = {
    "cdc_version": (_c_char_p, []),
    "cdc_strerror": (_c_char_p, [_c_int]),
    "cdc_err_name": (_c_char_p, [_c_int]),
    "cdc_is_retriable": (_c_int, [_c_int]),
    "cdc_config_new": (_c_int, [ctypes.POINTER(_c_void_p), _c_void_p]),
    "cdc_config_free": (None, [_c_void_p]),
    "cdc_config_set": (_c_int, [_c_void_p, _c_char_p, _c_char_p, _c_char_p, _c_size]),
    "cdc_config_get": (_c_int, [_c_void_p, _c_char_p, _c_char_p, _c_size, ctypes.POINTER(_c_size)]),
    "cdc_config_key_count": (_c_size, []),
    "cdc_config_key_name": (_c_char_p, [_c_size]),
    "cdc_config_key_type": (_c_char_p, [_c_size]),
    "cdc_config_key_default": (_c_char_p, [_c_size]),
    "cdc_config_key_doc": (_c_char_p, [_c_size]),
    "cdc_config_key_choices": (_c_char_p, [_c_size]),
    "cdc_stream_new": (_c_int, [ctypes.POINTER(_c_void_p), _c_void_p, _c_void_p, _c_char_p, _c_size]),
    "cdc_stream_free": (None, [_c_void_p]),
    "cdc_stream_stop": (None, [_c_void_p]),
    "cdc_stream_errmsg": (_c_char_p, [_c_void_p]),
    "cdc_stream_checkpoint": (_c_int, [_c_void_p, _c_char_p, _c_size, ctypes.POINTER(_c_size)]),
    "cdc_stream_metric": (ctypes.c_uint64, [_c_void_p, _c_int]),
    "cdc_decoder_new": (_c_int, [ctypes.POINTER(_c_void_p), _c_void_p, _c_char_p, _c_size]),
    "cdc_decoder_free": (None, [_c_void_p]),
    "cdc_decoder_set_position": (_c_int, [_c_void_p, _c_char_p, ctypes.c_uint64]),
    "cdc_decoder_set_verify_checksums": (None, [_c_void_p, _c_int]),
    "cdc_batch_new": (_c_int, [ctypes.POINTER(_c_void_p), _c_size, _c_void_p]),
    "cdc_batch_free": (None, [_c_void_p]),
    "cdc_batch_attach_stream": (_c_int, [_c_void_p, _c_void_p]),
    "cdc_batch_attach_decoder": (_c_int, [_c_void_p, _c_void_p]),
    "cdc_batch_next": (_c_int, [_c_void_p, ctypes.POINTER(_c_void_p), ctypes.POINTER(_c_size)]),
    "cdc_batch_feed": (_c_ssize, [_c_void_p, _c_void_p, _c_size, ctypes.POINTER(_c_void_p),
                                  ctypes.POINTER(_c_size)]),
    "cdc_batch_finish": (_c_int, [_c_void_p, ctypes.POINTER(_c_void_p), ctypes.POINTER(_c_size)]),
    "cdc_batch_errmsg": (_c_char_p, [_c_void_p]),
    "cdc_batch_set_types": (_c_int, [_c_void_p, _c_int]),
    "cdc_batch_set_format": (_c_int, [_c_void_p, _c_int]),
    "cdc_batch_set_debezium": (_c_int, [_c_void_p, _c_void_p]),
    "cdc_debezium_new": (_c_int, [ctypes.POINTER(_c_void_p), _c_void_p, _c_char_p, _c_size]),
    "cdc_debezium_free": (None, [_c_void_p]),
    "cdc_debezium_set": (_c_int, [_c_void_p, _c_char_p, _c_char_p, _c_char_p, _c_size]),
    "cdc_debezium_set_source": (_c_int, [_c_void_p, _c_void_p, _c_char_p, _c_size]),
}

CDC_BATCH_BINARY = 1

# Error codes this module acts on (include/cdc/common.h).
CDC_OK = 0
CDC_ERR_INVALID = -2
CDC_ERR_CONFIG = -3
CDC_ERR_STATE = -4
CDC_ERR_PROTOCOL = -15
CDC_ERR_TOO_LARGE = -16
CDC_ERR_STOPPED = -29

# cdc_metric (include/cdc/stream.h).
class DebeziumRecord(Record):
    """A Debezium record (docs/debezium.md) of a stream or file read with
    debezium={...}: a dict {"topic": str, "key": ..., "value": ...} with
    key and value parsed from their JSON (None for a table without a key,
    and for a tombstone's value), and the exact JSON text of each in
    key_bytes and value_bytes (bytes, None when null), ready to hand to a
    Kafka producer as they are. op is the value's "op" (c, u, d, r), None
    for tombstones, schema-change, transaction and heartbeat records."""

    __slots__ = ("key_bytes", "value_bytes")

    topic = property(lambda self: self.get("topic"))
    key = property(lambda self: self.get("key"))
    value = property(lambda self: self.get("value"))

    @property
    def op(self) -> Optional[str]:  # type: ignore[override]
        v = self.get("value")
        return v.get("op") if isinstance(v, dict) else None


_json_decoder = json.JSONDecoder()


def _debezium_record(line: bytes) -> DebeziumRecord:
    """{"topic":"T","key":K,"value":V}, the line a batch with a renderer
    writes (include/cdc/batch.h): the topic, and K and V both parsed and
    as their exact bytes."""
    text = line.decode("utf-8")
    head = '{"topic":"'
    t_end = text.find('"', len(head))
    if not text.startswith(head) or t_end < 0 or not text.startswith('","key":', t_end):
        raise CdcError(CDC_ERR_PROTOCOL, "bad Debezium line from the batch: %r" % line[:80])
    k_at = t_end + len('","key":')
    key, k_end = _json_decoder.raw_decode(text, k_at)
    if not text.startswith(',"value":', k_end):
        raise CdcError(CDC_ERR_PROTOCOL, "bad Debezium line from the batch: %r" % line[:80])
    v_at = k_end + len(',"value":')
    value, v_end = _json_decoder.raw_decode(text, v_at)
    if text[v_end:] != "}":
        raise CdcError(CDC_ERR_PROTOCOL, "bad Debezium line from the batch: %r" % line[:80])
    rec = DebeziumRecord(topic=text[len(head):t_end], key=key, value=value)
    rec.key_bytes = None if key is None else text[k_at:k_end].encode("utf-8")
    rec.value_bytes = None if value is None else text[v_at:v_end].encode("utf-8")
    return rec


def _parse_debezium(raw: bytes) -> List[Record]:
    """A JSON-lines batch with a renderer set: Debezium records, and the
    commit, DDL, checkpoint and snapshot-done lines as Records."""
    out: List[Record] = []
    for line in raw.split(b"\n"):
        if line.startswith(b'{"topic":'):
            out.append(_debezium_record(line))
        elif line:
            out.append(Record(json.loads(line)))
    return out


def _debezium_new(lib, options: Mapping[str, Any], source):
    """A renderer with options set (cdc_debezium_set), its tableChanges read
    over a connection of its own made from source (a Config) when given."""
    dz = _c_void_p()
    err = ctypes.create_string_buffer(512)
    rc = lib.cdc_debezium_new(ctypes.byref(dz), None, err, len(err))
    if rc:
        raise CdcError(rc, _s(err.value) or None)
    try:
        for k, v in options.items():
            rc = lib.cdc_debezium_set(dz, str(k).encode("utf-8"), _text(v), err, len(err))
            if rc:
                raise CdcError(rc, _s(err.value) or None)
        if source is not None:
            rc = lib.cdc_debezium_set_source(dz, source._p, err, len(err))
            if rc:
                raise CdcError(rc, _s(err.value) or None)
    except BaseException:
        lib.cdc_debezium_free(dz)
        raise
    return dz


METRICS = {"events": 0, "rows": 1, "transactions": 2, "bytes": 3, "reconnects": 4,
           "lag_ms": 5, "heartbeats": 6, "offset": 7, "snapshot_rows": 8, "rereads": 9}


def _load():
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = os.environ.get("LIBCDC_PATH") or ctypes.util.find_library("cdc") or "libcdc.so.0"
        lib = ctypes.CDLL(path)
        for name, (res, args) in _PROTOS.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        _lib = lib
        return lib


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else None


class CdcError(Exception):
    """An error from libcdc: code (negative int), name ("CDC_ERR_AUTH"),
    message (where and what, from the library)."""

    code: int
    name: str
    message: str
    retriable: bool

    def __init__(self, code: int, message: Optional[str] = None):
        lib = _load()
        self.code = code
        self.name = _s(lib.cdc_err_name(code))
        self.message = message or _s(lib.cdc_strerror(code))
        self.retriable = bool(lib.cdc_is_retriable(code))
        super().__init__(f"{self.name}: {self.message}")


def version() -> str:
    """The version string of the loaded libcdc."""
    return _s(_load().cdc_version())


def config_keys() -> List[Dict[str, Optional[str]]]:
    """Every configuration key: a list of dicts name, type, default, doc,
    choices (docs/configuration.md)."""
    lib = _load()
    out = []
    for i in range(lib.cdc_config_key_count()):
        out.append({"name": _s(lib.cdc_config_key_name(i)), "type": _s(lib.cdc_config_key_type(i)),
                    "default": _s(lib.cdc_config_key_default(i)), "doc": _s(lib.cdc_config_key_doc(i)),
                    "choices": _s(lib.cdc_config_key_choices(i))})
    return out


def _text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return str(value).encode("utf-8")


class Config:
    """Settings by string keys, checked when set. Config(mapping) sets each
    pair in turn. Values may be str, int, bool or a list (joined by
    commas); None restores the default. Not thread-safe while being set."""

    def __init__(self, settings: Optional[Mapping[str, Any]] = None, **kw: Any):
        self._lib = _load()
        p = _c_void_p()
        rc = self._lib.cdc_config_new(ctypes.byref(p), None)
        if rc:
            raise CdcError(rc)
        self._p = p
        for k, v in dict(settings or {}, **kw).items():
            self.set(k, v)

    def set(self, key: str, value: Any) -> "Config":
        """Sets key; raises CdcError(CDC_ERR_CONFIG) naming the key and the
        value when either is wrong (the old value is kept)."""
        err = ctypes.create_string_buffer(1024)
        rc = self._lib.cdc_config_set(self._p, key.encode("utf-8"), _text(value), err, len(err))
        if rc:
            raise CdcError(rc, _s(err.value) or None)
        return self

    def get(self, key: str) -> Optional[str]:
        """The value of key as text (secrets read back as "********")."""
        need = _c_size(0)
        k = key.encode("utf-8")
        rc = self._lib.cdc_config_get(self._p, k, None, 0, ctypes.byref(need))
        if rc not in (CDC_OK, CDC_ERR_TOO_LARGE):
            raise CdcError(rc, f"unknown configuration key '{key}'" if rc == CDC_ERR_CONFIG else None)
        buf = ctypes.create_string_buffer(max(need.value, 1))
        rc = self._lib.cdc_config_get(self._p, k, buf, len(buf), None)
        if rc:
            raise CdcError(rc)
        return _s(buf.value)

    __setitem__ = set
    __getitem__ = get

    def close(self) -> None:
        if self._p:
            self._lib.cdc_config_free(self._p)
            self._p = None

    def __del__(self):
        if getattr(self, "_p", None):
            self.close()


def _lines(data, n):
    """JSON lines at data (n bytes) to Records; copied before the next call."""
    if not n:
        return []
    raw = ctypes.string_at(data, n)
    return [Record(json.loads(line)) for line in raw.split(b"\n") if line]


class _Caller:
    """Runs cdc_batch_next on a thread of its own, so the thread that
    iterates waits in an interruptible way (Ctrl-C raises KeyboardInterrupt
    at once, not when the next event wakes the C call). One thread per
    stream, started on first use, ended by close()."""

    def __init__(self, lib, b):
        self._lib, self._b = lib, b
        self._go = threading.Event()
        self._done = threading.Event()
        self._quit = False
        self._result = None
        self._thread = threading.Thread(target=self._main, name="libcdc-batch", daemon=True)
        self._thread.start()

    def _main(self):
        data, n = _c_void_p(), _c_size(0)
        while True:
            self._go.wait()
            self._go.clear()
            if self._quit:
                return
            try:
                rc = self._lib.cdc_batch_next(self._b, ctypes.byref(data), ctypes.byref(n))
                raw = ctypes.string_at(data, n.value) if rc == CDC_OK and n.value else b""
                msg = None if rc in (CDC_OK, CDC_ERR_STOPPED) else _s(self._lib.cdc_batch_errmsg(self._b))
                self._result = (rc, raw, msg)
            except BaseException as e:  # never leave the waiter hanging
                self._result = (CDC_ERR_STATE, b"", "batch call failed: %r" % (e,))
            self._done.set()

    def start(self):
        self._done.clear()
        self._go.set()

    def wait(self, timeout):
        """True once the call started by start() returned."""
        return self._done.wait(timeout)

    def result(self):
        r, self._result = self._result, None
        return r

    def quit(self):
        self._quit = True
        self._go.set()
        self._thread.join()


class Stream:
    """A change stream (include/cdc/stream.h) read in batches.

    Iterating yields Records (dicts) in the order the server committed
    them: row changes ("op": "c"/"u"/"d", "r" for snapshot rows), then
    the transaction's commit ("event": "commit", "gtid", "checkpoint",
    ...), DDL ("event": "ddl", "sql"), positions without a commit
    ("event": "checkpoint": heartbeats, filtered transactions) and the
    end of a snapshot ("event": "snapshot_done"); docs/output.md,
    "Transaction lines". Iteration ends at stop.at, or after stop() was
    called from another thread; errors raise CdcError.

    native=True yields values as Python types (Decimal, date, datetime,
    timedelta, bytes, JSON documents, JSON_NULL; docs/bindings.md) instead
    of their JSON forms, read from binary batches (the C extension, or
    the pure Python reader without it).

    debezium={"topic.prefix": ..., ...} (the renderer's options,
    docs/debezium.md) yields DebeziumRecords in place of change lines:
    the records a Debezium connector would produce (changes, tombstones,
    transaction BEGIN/END, schema changes with tableChanges read from
    this configuration's server, snapshot rows marked as Debezium marks
    them), with the commit, DDL and checkpoint lines between them as
    before. Not with native=True.

    Iteration can be abandoned and resumed: the stream is its own
    iterator and keeps the records of a batch not yet yielded, so
    `for rec in stream: break` followed by another `for` loop goes on
    with the very next record. A snapshot is handed over in batches of
    batch_bytes (the library pauses it at any row), so memory stays
    bounded whatever the table size.

    Pausing: the stream does not run between batches. While the host
    processes one batch, or stops iterating for a while, nothing is read
    and nothing is lost (the server keeps the binlog; a connection it
    dropped meanwhile is reopened at the next batch, from the last commit).

    Threads: iterate on one thread; stop(), checkpoint_now(), metric() and
    close() may be called from any thread. The C call that waits for a
    batch runs on a helper thread while the iterating thread waits for it
    in short, interruptible slices: Ctrl-C (KeyboardInterrupt) stops the
    stream and is raised within about 100 ms even on an idle server, with
    nothing lost (iterating again restarts where it stopped). close() from
    another thread stops a running iteration, which then raises CdcError
    (CDC_ERR_STATE) instead of touching freed memory.
    """

    _SLICE = 0.05  # seconds between checks for signals while waiting

    def __init__(self, config: Union[Config, Mapping[str, Any]], batch_bytes: int = 0, native: bool = False,
                 debezium: Optional[Mapping[str, Any]] = None):
        self._lib = _load()
        self._s = self._b = self._dz = None
        self._caller = None
        if native and debezium is not None:
            raise ValueError("native=True and debezium= exclude each other: Debezium records are JSON")
        if not isinstance(config, Config):
            config = Config(config)
        err = ctypes.create_string_buffer(1024)
        s = _c_void_p()
        rc = self._lib.cdc_stream_new(ctypes.byref(s), config._p, None, err, len(err))
        if rc:
            raise CdcError(rc, _s(err.value) or None)
        b = _c_void_p()
        rc = self._lib.cdc_batch_new(ctypes.byref(b), batch_bytes, None)
        if rc:
            self._lib.cdc_stream_free(s)
            raise CdcError(rc)
        self._lib.cdc_batch_attach_stream(b, s)
        self._decoder = None
        if native:
            self._lib.cdc_batch_set_format(b, CDC_BATCH_BINARY)
            self._decoder = _decoder()
        if debezium is not None:
            try:
                self._dz = _debezium_new(self._lib, debezium, config)
            except BaseException:
                self._lib.cdc_batch_free(b)
                self._lib.cdc_stream_free(s)
                raise
            self._lib.cdc_batch_set_debezium(b, self._dz)
        self._native = native
        self._s, self._b = s, b
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = False        # a batch call is in flight
        self._closing = False
        self._pending = []        # records of the last batch not yet yielded
        self._next_i = 0
        self._ended = False       # the last call ended the iteration (stop.at / stop())
        self._own_stop = False    # we stopped it for a KeyboardInterrupt: its STOPPED is ours
        self._afill = None        # the asyncio fill running in an executor, if any
        self.checkpoint: Optional[str] = None  # of the last commit/ddl/position line yielded

    # -- the batch call ----------------------------------------------------

    def _call(self):
        """One cdc_batch_next: (rc, raw lines, message). Raises
        KeyboardInterrupt (after stopping the stream and keeping what the
        call returned) and CdcError(CDC_ERR_STATE) when closed."""
        with self._lock:
            if self._s is None or self._closing:
                raise CdcError(CDC_ERR_STATE, "the stream is closed")
            self._busy = True
            if self._caller is None:
                self._caller = _Caller(self._lib, self._b)
            caller = self._caller
        try:
            caller.start()
            interrupted = None
            while True:
                try:
                    while not caller.wait(self._SLICE):
                        pass
                    break
                except KeyboardInterrupt as e:
                    # stop the C call (thread-safe) and wait for it to
                    # return what it holds, then raise
                    interrupted = e
                    self._own_stop = True
                    self._lib.cdc_stream_stop(self._s)
            rc, raw, msg = caller.result()
        finally:
            with self._lock:
                self._busy = False
                self._idle.notify_all()
        if self._closing:
            raise CdcError(CDC_ERR_STATE, "the stream was closed while iterating")
        if interrupted is not None:
            if raw:
                self._pending, self._next_i = self._parse(raw), 0
            elif rc == CDC_ERR_STOPPED:
                self._own_stop = False  # the STOPPED of our stop came now
            elif rc != CDC_OK:
                self._error = (rc, msg)
            raise interrupted
        return rc, raw, msg

    def _parse(self, raw):
        if self._decoder is not None:
            return self._decoder.decode(raw)
        if self._dz is not None:
            return _parse_debezium(raw)
        return [Record(json.loads(line)) for line in raw.split(b"\n") if line]

    def _fill(self):
        """Loads the next batch into _pending; False at the end."""
        err = getattr(self, "_error", None)
        if err:
            self._error = None
            raise CdcError(err[0], err[1])
        while True:
            rc, raw, msg = self._call()
            if rc == CDC_OK and raw:
                self._pending, self._next_i = self._parse(raw), 0
                return True
            if rc == CDC_ERR_STOPPED and self._own_stop:
                # the stop we made for a KeyboardInterrupt: go on
                self._own_stop = False
                continue
            if rc in (CDC_OK, CDC_ERR_STOPPED):
                return False
            raise CdcError(rc, msg or None)

    # -- iteration ---------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        return self

    def _take(self) -> Record:
        rec = self._pending[self._next_i]
        self._next_i += 1
        if "checkpoint" in rec:
            self.checkpoint = rec["checkpoint"]
        return rec

    def __next__(self) -> Record:
        while self._next_i >= len(self._pending):
            self._pending, self._next_i = [], 0
            if not self._fill():
                raise StopIteration
        return self._take()

    # -- asyncio -----------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        """The next record without blocking the event loop: the batch call
        runs in the loop's default executor. Cancelling the awaiting task
        stops the stream; what the call returned is kept, and the next
        __anext__ goes on from there (nothing lost)."""
        while self._next_i >= len(self._pending):
            if self._afill is None:
                self._pending, self._next_i = [], 0
                self._afill = asyncio.get_running_loop().run_in_executor(None, self._fill)
            try:
                more = await asyncio.shield(self._afill)
            except asyncio.CancelledError:
                with self._lock:
                    if self._s is not None and self._busy:
                        self._own_stop = True
                        self._lib.cdc_stream_stop(self._s)
                raise
            finally:
                if self._afill is not None and self._afill.done():
                    self._afill = None
            if not more:
                raise StopAsyncIteration
        return self._take()

    async def __aenter__(self) -> "Stream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._afill is not None:
            self.stop()
            try:
                await asyncio.shield(self._afill)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            self._afill = None
        self.close()

    def batches(self) -> Iterator[List[Record]]:
        """Yields each batch as a list of dicts: one C call per list (the
        records of a partly iterated batch come first)."""
        while True:
            if self._next_i < len(self._pending):
                rest = self._pending[self._next_i:]
                self._pending, self._next_i = [], 0
            else:
                if not self._fill():
                    return
                rest = self._pending
                self._pending, self._next_i = [], 0
            for rec in rest:
                if "checkpoint" in rec:
                    self.checkpoint = rec["checkpoint"]
            yield rest

    def changes(self) -> Iterator[Record]:
        """Only the row changes (the checkpoint still follows commits)."""
        for rec in self:
            if "op" in rec:
                yield rec

    # -- from any thread ---------------------------------------------------

    def stop(self) -> None:
        """Ends the iteration soon; safe from any thread (and signal
        handlers). Complete transactions already read are still yielded.
        Iterating again restarts the stream where it stopped, without a
        gap (the lines of a transaction the stop cut come then)."""
        with self._lock:
            if self._s:
                self._own_stop = False
                self._lib.cdc_stream_stop(self._s)

    def checkpoint_now(self) -> Optional[str]:
        """The stream's own last safe checkpoint (may be ahead of what the
        iteration has yielded); None before it knows one."""
        with self._lock:
            if not self._s:
                return None
            need = _c_size(0)
            self._lib.cdc_stream_checkpoint(self._s, None, 0, ctypes.byref(need))
            if not need.value:
                return None
            buf = ctypes.create_string_buffer(need.value)
            if self._lib.cdc_stream_checkpoint(self._s, buf, len(buf), None):
                return None
            return _s(buf.value)

    def metric(self, name: str) -> int:
        """A counter of METRICS ("rows", "lag_ms", ...)."""
        with self._lock:
            return self._lib.cdc_stream_metric(self._s, METRICS[name]) if self._s else 0

    def close(self) -> None:
        """Frees the stream; safe from any thread. An iteration running
        on another thread is stopped first and raises CdcError
        (CDC_ERR_STATE)."""
        with self._lock:
            if self._s is None or self._closing:
                return
            self._closing = True
            if self._busy:
                self._lib.cdc_stream_stop(self._s)
            while self._busy:
                self._idle.wait()
            caller, self._caller = self._caller, None
        if caller is not None:
            caller.quit()
        with self._lock:
            self._lib.cdc_stream_free(self._s)
            self._lib.cdc_batch_free(self._b)
            if self._dz is not None:
                self._lib.cdc_debezium_free(self._dz)
            self._s = self._b = self._dz = None

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_s", None):
            self.close()


def decode_file(path: Union[str, "os.PathLike[str]"], verify_checksums: bool = True, chunk: int = 1 << 20,
                batch_bytes: int = 0, native: bool = False,
                debezium: Optional[Mapping[str, Any]] = None) -> Iterator[Record]:
    """Yields the row changes of a binlog file (plain or gzip) as dicts,
    the lines of `cdc dump FILE` (native=False), or with values as Python
    types (native=True, as Stream's). Positions name the file by its base
    name without ".gz". Raises CdcError on a corrupt or truncated file,
    after yielding the changes before the fault.

    debezium={"topic.prefix": ..., ...} (the renderer's options,
    docs/debezium.md) yields DebeziumRecords instead, the records of `cdc
    dump --format=debezium FILE`: each change's, each DDL statement's
    schema change (tableChanges empty: a file has no server to ask), and
    transaction BEGIN/END with provide.transaction.metadata=true."""
    if native and debezium is not None:
        raise ValueError("native=True and debezium= exclude each other: Debezium records are JSON")
    lib = _load()
    with open(path, "rb") as f:
        magic = f.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    name = os.path.basename(path)
    if name.endswith(".gz"):
        name = name[:-3]
    d, b, dz = _c_void_p(), _c_void_p(), None
    if debezium is not None:
        dz = _debezium_new(lib, debezium, None)
    err = ctypes.create_string_buffer(512)
    rc = lib.cdc_decoder_new(ctypes.byref(d), None, err, len(err))
    if rc:
        if dz is not None:
            lib.cdc_debezium_free(dz)
        raise CdcError(rc, _s(err.value) or None)
    try:
        rc = lib.cdc_batch_new(ctypes.byref(b), batch_bytes, None)
        if rc:
            raise CdcError(rc)
        lib.cdc_decoder_set_position(d, name.encode("utf-8"), 0)
        lib.cdc_decoder_set_verify_checksums(d, 1 if verify_checksums else 0)
        lib.cdc_batch_attach_decoder(b, d)
        parse = _lines
        if dz is not None:
            lib.cdc_batch_set_debezium(b, dz)

            def parse(data, n):
                return _parse_debezium(ctypes.string_at(data, n)) if n else []
        if native:
            lib.cdc_batch_set_format(b, CDC_BATCH_BINARY)
            reader = _decoder()

            def parse(data, n):
                return reader.decode(ctypes.string_at(data, n)) if n else []
        data, n = _c_void_p(), _c_size(0)
        with opener(path, "rb") as f:
            while True:
                block = f.read(chunk)
                if not block:
                    break
                buf = ctypes.create_string_buffer(block, len(block))
                base, off = ctypes.addressof(buf), 0
                while off < len(block):
                    used = lib.cdc_batch_feed(b, base + off, len(block) - off, ctypes.byref(data),
                                              ctypes.byref(n))
                    yield from parse(data, n.value)
                    if used < 0:
                        raise CdcError(used, _s(lib.cdc_batch_errmsg(b)) or None)
                    off += used
        rc = lib.cdc_batch_finish(b, ctypes.byref(data), ctypes.byref(n))
        yield from parse(data, n.value)
        if rc:
            raise CdcError(rc, _s(lib.cdc_batch_errmsg(b)) or None)
    finally:
        lib.cdc_batch_free(b)
        lib.cdc_decoder_free(d)
        if dz is not None:
            lib.cdc_debezium_free(dz)
