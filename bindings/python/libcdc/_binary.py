"""Reads binary batches (docs/output.md, "Binary batches") in pure Python.

The fallback of libcdc._fast (the C extension, same interface and the
same records): used when the extension was not built, or when
LIBCDC_PURE=1 is set. Correct, several times slower.
"""
import datetime as _dt
import struct

_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_I64 = struct.Struct("<q").unpack_from
_F64 = struct.Struct("<d").unpack_from
_DT = struct.Struct("<HBBBBBI").unpack_from
_DATE = struct.Struct("<HBB").unpack_from
_CHANGE_HEAD = struct.Struct("<BI").unpack_from
_POS = struct.Struct("<QQ").unpack_from
_SID_TS = struct.Struct("<Iq").unpack_from


class Decoder:
    """Decoder(Record, Decimal, json_loads, JSON_NULL, utc).decode(raw):
    the records of one batch. Keeps the table records it has read: give
    it every batch of one cdc_batch, in order."""

    def __init__(self, record, decimal, json_loads, json_null, utc):
        self._record, self._decimal, self._loads = record, decimal, json_loads
        self._null, self._utc = json_null, utc
        self._tables = {}

    def _str(self, raw, i):
        (n,) = _U32(raw, i)
        i += 4
        if i + n > len(raw):
            raise ValueError("libcdc: truncated binary batch")
        return raw[i:i + n].decode("utf-8", "replace"), i + n

    def _value(self, raw, i):
        tag = raw[i]
        i += 1
        if tag == 0:
            return _ABSENT, i
        if tag == 1:
            return None, i
        if tag == 2:
            return _I64(raw, i)[0], i + 8
        if tag == 3:
            return _U64(raw, i)[0], i + 8
        if tag == 4:
            return _F64(raw, i)[0], i + 8
        if tag == 6:
            y, m, d = _DATE(raw, i)
            return _dt.date(y, m, d), i + 4
        if tag in (7, 8):
            y, mo, d, h, mi, s, us = _DT(raw, i)
            return _dt.datetime(y, mo, d, h, mi, s, us, tzinfo=self._utc if tag == 8 else None), i + 11
        if tag == 9:
            us = _I64(raw, i)[0]
            return _dt.timedelta(microseconds=us), i + 8
        (n,) = _U32(raw, i)
        i += 4
        if i + n > len(raw):
            raise ValueError("libcdc: truncated binary batch")
        b = raw[i:i + n]
        i += n
        if tag == 10:
            return b, i
        if tag == 11:
            return b.decode("utf-8"), i
        if tag == 5:
            return self._decimal(b.decode("ascii")), i
        if tag == 12:
            v = self._loads(b)
            return (self._null if v is None else v), i
        if tag == 13:
            return self._loads(b), i
        raise ValueError("libcdc: unknown value tag %d in a binary batch" % tag)

    def _image(self, raw, i, names):
        row = {}
        for name in names:
            v, i = self._value(raw, i)
            if v is not _ABSENT:
                row[name] = v
        return row, i

    def _pos(self, raw, i, rec):
        file, i = self._str(raw, i)
        (off,) = _U64(raw, i)
        ck, i = self._str(raw, i + 8)
        rec["pos"] = {"file": file, "offset": off}
        rec["checkpoint"] = ck
        return i

    def decode(self, raw):
        raw = bytes(raw)
        out = []
        i, end = 0, len(raw)
        try:
            while i < end:
                tag = raw[i]
                i += 1
                if tag == 0x54:  # 'T'
                    (slot,) = _U32(raw, i)
                    db, i = self._str(raw, i + 4)
                    table, i = self._str(raw, i)
                    (n,) = _U32(raw, i)
                    i += 4
                    names = []
                    for _ in range(n):
                        name, i = self._str(raw, i)
                        names.append(name)
                    self._tables[slot] = (db, table, tuple(names))
                    continue
                rec = self._record()
                if tag == 0x43:  # 'C'
                    op, slot = _CHANGE_HEAD(raw, i)
                    if slot not in self._tables:
                        raise ValueError("libcdc: change of unknown table slot %d" % slot)
                    db, table, names = self._tables[slot]
                    file, i = self._str(raw, i + 5)
                    off, row = _POS(raw, i)
                    gtid, i = self._str(raw, i + 16)
                    sid, ts = _SID_TS(raw, i)
                    i += 12
                    op = chr(op)
                    before = after = None
                    if op in "ud":
                        before, i = self._image(raw, i, names)
                    if op != "d":
                        after, i = self._image(raw, i, names)
                    rec.update(op=op, db=db, table=table, before=before, after=after,
                               pos={"file": file, "offset": off, "row": row}, gtid=gtid or None,
                               server_id=sid, ts_ms=ts)
                elif tag == 0x4B:  # 'K' commit
                    gtid, i = self._str(raw, i)
                    sid, ts = _SID_TS(raw, i)
                    rec.update(event="commit", gtid=gtid or None, server_id=sid, ts_ms=ts)
                    i = self._pos(raw, i + 12, rec)
                elif tag == 0x44:  # 'D' DDL
                    db, i = self._str(raw, i)
                    sql, i = self._str(raw, i)
                    gtid, i = self._str(raw, i)
                    rec.update(event="ddl", db=db, sql=sql, gtid=gtid or None)
                    i = self._pos(raw, i, rec)
                elif tag in (0x50, 0x53):  # 'P' checkpoint, 'S' snapshot done
                    rec["event"] = "checkpoint" if tag == 0x50 else "snapshot_done"
                    i = self._pos(raw, i, rec)
                else:
                    raise ValueError("libcdc: unknown record tag %d in a binary batch" % tag)
                out.append(rec)
        except (struct.error, IndexError):
            raise ValueError("libcdc: truncated binary batch") from None
        return out


_ABSENT = object()
