/*
 * libcdc._fast: reads binary batches (docs/output.md, "Binary batches")
 * into Python objects. It links nothing but Python: libcdc itself is
 * still called through ctypes; this only turns the bytes one call
 * returns into Record dicts with native values, which in pure Python
 * (libcdc/_binary.py, the fallback) costs several times more.
 *
 *     d = _fast.Decoder(Record, Decimal, json_loads, JSON_NULL, utc)
 *     records = d.decode(raw)      # raw: bytes of one batch
 *
 * A Decoder keeps the table records it has read: give it every batch of
 * one cdc_batch, in order.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    PyObject *db, *table, *names; /* names: a tuple of str */
} table_def;

#define MAX_SLOTS 64

typedef struct {
    PyObject_HEAD
    PyTypeObject *record;
    PyObject *decimal, *json_loads, *json_null, *utc;
    table_def tables[MAX_SLOTS];
    PyObject *file_b, *file_s; /* the last file name, as bytes and str */
    PyObject *gtid_b, *gtid_s; /* the last GTID */
} Decoder;

/* Interned keys and constants, made once. */
static PyObject *k_op, *k_db, *k_table, *k_before, *k_after, *k_pos, *k_file, *k_offset, *k_row, *k_gtid,
    *k_server_id, *k_ts_ms, *k_event, *k_sql, *k_checkpoint, *s_commit, *s_ddl, *s_ckpt, *s_snapdone, *empty_tuple;
static PyObject *op_str[4]; /* c u d r */

typedef struct {
    const uint8_t *p, *end;
} reader;

static int short_input(void)
{
    PyErr_SetString(PyExc_ValueError, "libcdc: truncated binary batch");
    return -1;
}

#define NEED(r, n)                                                                                              \
    do {                                                                                                       \
        if ((size_t)((r)->end - (r)->p) < (size_t)(n)) return short_input();                                   \
    } while (0)

#define NEEDP(r, n)                                                                                             \
    do {                                                                                                       \
        if ((size_t)((r)->end - (r)->p) < (size_t)(n)) {                                                       \
            short_input();                                                                                     \
            return NULL;                                                                                       \
        }                                                                                                      \
    } while (0)

#if PY_VERSION_HEX < 0x03090000
#define PyObject_CallOneArg(f, a) PyObject_CallFunctionObjArgs((f), (a), NULL)
#endif

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* A u32-length string: *s and *n point into the batch. */
static int rd_str(reader *r, const char **s, Py_ssize_t *n)
{
    NEED(r, 4);
    uint32_t len = rd32(r->p);
    r->p += 4;
    NEED(r, len);
    *s = (const char *)r->p;
    *n = len;
    r->p += len;
    return 0;
}

static PyObject *rd_unicode(reader *r)
{
    const char *s;
    Py_ssize_t n;
    if (rd_str(r, &s, &n)) return NULL;
    return PyUnicode_DecodeUTF8(s, n, "replace");
}

/* A str for s[0..n) reusing the last one when the bytes are the same
 * (file names and GTIDs repeat from row to row). */
static PyObject *cached(PyObject **cb, PyObject **cs, const char *s, Py_ssize_t n)
{
    if (*cb && PyBytes_GET_SIZE(*cb) == n && memcmp(PyBytes_AS_STRING(*cb), s, (size_t)n) == 0) {
        Py_INCREF(*cs);
        return *cs;
    }
    PyObject *b = PyBytes_FromStringAndSize(s, n);
    PyObject *u = b ? PyUnicode_DecodeUTF8(s, n, "replace") : NULL;
    if (!u) {
        Py_XDECREF(b);
        return NULL;
    }
    Py_XSETREF(*cb, b);
    Py_XSETREF(*cs, u);
    Py_INCREF(u);
    return u;
}

static PyObject *json_doc(Decoder *d, const char *s, Py_ssize_t n, int document)
{
    PyObject *txt = PyUnicode_DecodeUTF8(s, n, "strict");
    if (!txt) return NULL;
    PyObject *v = PyObject_CallOneArg(d->json_loads, txt);
    Py_DECREF(txt);
    if (v == Py_None && document) {
        Py_DECREF(v);
        Py_INCREF(d->json_null);
        return d->json_null;
    }
    return v;
}

/* One value; *absent set for a column not in the image. */
static PyObject *rd_value(Decoder *d, reader *r, int *absent)
{
    NEEDP(r, 1);
    uint8_t tag = *r->p++;
    *absent = 0;
    const char *s;
    Py_ssize_t n;
    switch (tag) {
    case 0: *absent = 1; return NULL;
    case 1: Py_RETURN_NONE;
    case 2: NEEDP(r, 8); r->p += 8; return PyLong_FromLongLong((long long)rd64(r->p - 8));
    case 3: NEEDP(r, 8); r->p += 8; return PyLong_FromUnsignedLongLong((unsigned long long)rd64(r->p - 8));
    case 4: {
        NEEDP(r, 8);
        uint64_t bits = rd64(r->p);
        double v;
        memcpy(&v, &bits, sizeof v);
        r->p += 8;
        return PyFloat_FromDouble(v);
    }
    case 5: {
        if (rd_str(r, &s, &n)) return NULL;
        PyObject *txt = PyUnicode_DecodeUTF8(s, n, "strict");
        if (!txt) return NULL;
        PyObject *v = PyObject_CallOneArg(d->decimal, txt);
        Py_DECREF(txt);
        return v;
    }
    case 6:
        NEEDP(r, 4);
        r->p += 4;
        return PyDate_FromDate(rd16(r->p - 4), r->p[-2], r->p[-1]);
    case 7:
    case 8: {
        NEEDP(r, 11);
        const uint8_t *p = r->p;
        r->p += 11;
        return PyDateTimeAPI->DateTime_FromDateAndTime(rd16(p), p[2], p[3], p[4], p[5], p[6], (int)rd32(p + 7),
                                                       tag == 8 ? d->utc : Py_None, PyDateTimeAPI->DateTimeType);
    }
    case 9: {
        NEEDP(r, 8);
        int64_t us = (int64_t)rd64(r->p);
        r->p += 8;
        return PyDelta_FromDSU(0, (int)(us / 1000000), (int)(us % 1000000));
    }
    case 10:
        if (rd_str(r, &s, &n)) return NULL;
        return PyBytes_FromStringAndSize(s, n);
    case 11:
        if (rd_str(r, &s, &n)) return NULL;
        return PyUnicode_DecodeUTF8(s, n, "strict");
    case 12:
    case 13:
        if (rd_str(r, &s, &n)) return NULL;
        return json_doc(d, s, n, tag == 12);
    default: PyErr_Format(PyExc_ValueError, "libcdc: unknown value tag %u in a binary batch", tag); return NULL;
    }
}

static PyObject *rd_image(Decoder *d, reader *r, const table_def *t)
{
    PyObject *row = PyDict_New();
    if (!row) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(t->names);
    for (Py_ssize_t i = 0; i < n; i++) {
        int absent = 0;
        PyObject *v = rd_value(d, r, &absent);
        if (absent) continue;
        if (!v || PyDict_SetItem(row, PyTuple_GET_ITEM(t->names, i), v)) {
            Py_XDECREF(v);
            Py_DECREF(row);
            return NULL;
        }
        Py_DECREF(v);
    }
    return row;
}

static int set_steal(PyObject *dict, PyObject *key, PyObject *v)
{
    if (!v) return -1;
    int rc = PyDict_SetItem(dict, key, v);
    Py_DECREF(v);
    return rc;
}

static PyObject *new_record(Decoder *d)
{
    return d->record->tp_new(d->record, empty_tuple, NULL);
}

static int rd_table(Decoder *d, reader *r)
{
    NEED(r, 4);
    uint32_t slot = rd32(r->p);
    r->p += 4;
    if (slot >= MAX_SLOTS) {
        PyErr_Format(PyExc_ValueError, "libcdc: table slot %u out of range", slot);
        return -1;
    }
    PyObject *db = rd_unicode(r), *tb = db ? rd_unicode(r) : NULL, *names = NULL;
    if (!tb) goto fail;
    if ((size_t)(r->end - r->p) < 4) {
        short_input();
        goto fail;
    }
    uint32_t n = rd32(r->p);
    r->p += 4;
    if (n > (size_t)(r->end - r->p) / 4) {
        short_input();
        goto fail;
    }
    names = PyTuple_New(n);
    if (!names) goto fail;
    for (uint32_t i = 0; i < n; i++) {
        PyObject *name = rd_unicode(r);
        if (!name) goto fail;
        PyUnicode_InternInPlace(&name);
        PyTuple_SET_ITEM(names, i, name);
    }
    PyUnicode_InternInPlace(&db);
    PyUnicode_InternInPlace(&tb);
    table_def *t = &d->tables[slot];
    Py_XSETREF(t->db, db);
    Py_XSETREF(t->table, tb);
    Py_XSETREF(t->names, names);
    return 0;
fail:
    Py_XDECREF(db);
    Py_XDECREF(tb);
    Py_XDECREF(names);
    return -1;
}

static PyObject *rd_change(Decoder *d, reader *r)
{
    NEEDP(r, 5);
    uint8_t op = r->p[0];
    uint32_t slot = rd32(r->p + 1);
    r->p += 5;
    if (slot >= MAX_SLOTS || !d->tables[slot].names) {
        PyErr_Format(PyExc_ValueError, "libcdc: change of unknown table slot %u", slot);
        return NULL;
    }
    const table_def *t = &d->tables[slot];
    const char *s;
    Py_ssize_t n;
    if (rd_str(r, &s, &n)) return NULL;
    PyObject *file = cached(&d->file_b, &d->file_s, s, n);
    if (!file) return NULL;
    if ((size_t)(r->end - r->p) < 16) {
        Py_DECREF(file);
        short_input();
        return NULL;
    }
    uint64_t off = rd64(r->p), row = rd64(r->p + 8);
    r->p += 16;
    PyObject *gtid = NULL;
    if (rd_str(r, &s, &n) == 0) {
        if (n) {
            gtid = cached(&d->gtid_b, &d->gtid_s, s, n);
        } else {
            gtid = Py_None;
            Py_INCREF(gtid);
        }
    }
    if (!gtid || (size_t)(r->end - r->p) < 12) {
        if (gtid) short_input();
        Py_DECREF(file);
        Py_XDECREF(gtid);
        return NULL;
    }
    uint32_t sid = rd32(r->p);
    int64_t ts = (int64_t)rd64(r->p + 4);
    r->p += 12;

    PyObject *rec = new_record(d), *pos = PyDict_New();
    int bad = !rec || !pos;
    const char *ops = "cudr";
    const char *which = op ? strchr(ops, op) : NULL;
    if (!bad) bad = set_steal(rec, k_op, which ? (Py_INCREF(op_str[which - ops]), op_str[which - ops])
                                               : PyUnicode_FromStringAndSize((const char *)&op, 1));
    if (!bad) bad = PyDict_SetItem(rec, k_db, t->db) || PyDict_SetItem(rec, k_table, t->table);
    if (!bad) bad = set_steal(rec, k_before, op == 'u' || op == 'd' ? rd_image(d, r, t) : (Py_INCREF(Py_None), Py_None));
    if (!bad) bad = set_steal(rec, k_after, op != 'd' ? rd_image(d, r, t) : (Py_INCREF(Py_None), Py_None));
    if (!bad) {
        bad = PyDict_SetItem(pos, k_file, file) || set_steal(pos, k_offset, PyLong_FromUnsignedLongLong(off)) ||
              set_steal(pos, k_row, PyLong_FromUnsignedLongLong(row)) || PyDict_SetItem(rec, k_pos, pos) ||
              PyDict_SetItem(rec, k_gtid, gtid) || set_steal(rec, k_server_id, PyLong_FromUnsignedLong(sid)) ||
              set_steal(rec, k_ts_ms, PyLong_FromLongLong(ts));
    }
    Py_DECREF(file);
    Py_DECREF(gtid);
    Py_XDECREF(pos);
    if (bad) {
        Py_XDECREF(rec);
        return NULL;
    }
    return rec;
}

/* "pos":{"file","offset"},"checkpoint" into rec. */
static int rd_pos(reader *r, PyObject *rec)
{
    PyObject *file = rd_unicode(r);
    if (!file) return -1;
    if ((size_t)(r->end - r->p) < 8) {
        Py_DECREF(file);
        return short_input();
    }
    uint64_t off = rd64(r->p);
    r->p += 8;
    PyObject *pos = PyDict_New();
    int bad = !pos || set_steal(pos, k_file, file) || set_steal(pos, k_offset, PyLong_FromUnsignedLongLong(off)) ||
              PyDict_SetItem(rec, k_pos, pos) || set_steal(rec, k_checkpoint, rd_unicode(r));
    Py_XDECREF(pos);
    return bad ? -1 : 0;
}

static PyObject *gtid_or_none(reader *r)
{
    const char *s;
    Py_ssize_t n;
    if (rd_str(r, &s, &n)) return NULL;
    if (!n) Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, n, "replace");
}

static PyObject *rd_boundary(Decoder *d, reader *r, uint8_t tag)
{
    PyObject *rec = new_record(d);
    if (!rec) return NULL;
    int bad = 0;
    if (tag == 'K') {
        bad = PyDict_SetItem(rec, k_event, s_commit) || set_steal(rec, k_gtid, gtid_or_none(r));
        if (!bad && (size_t)(r->end - r->p) < 12) bad = short_input();
        if (!bad) {
            uint32_t sid = rd32(r->p);
            int64_t ts = (int64_t)rd64(r->p + 4);
            r->p += 12;
            bad = set_steal(rec, k_server_id, PyLong_FromUnsignedLong(sid)) ||
                  set_steal(rec, k_ts_ms, PyLong_FromLongLong(ts));
        }
    } else if (tag == 'D') {
        bad = PyDict_SetItem(rec, k_event, s_ddl) || set_steal(rec, k_db, rd_unicode(r)) ||
              set_steal(rec, k_sql, rd_unicode(r)) || set_steal(rec, k_gtid, gtid_or_none(r));
    } else {
        bad = PyDict_SetItem(rec, k_event, tag == 'P' ? s_ckpt : s_snapdone);
    }
    if (!bad) bad = rd_pos(r, rec);
    if (bad) {
        Py_DECREF(rec);
        return NULL;
    }
    return rec;
}

static PyObject *Decoder_decode(Decoder *d, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE)) return NULL;
    reader r = {view.buf, (const uint8_t *)view.buf + view.len};
#if PY_VERSION_HEX >= 0x030A0000
    /* No cyclic collections while a batch's objects are made (they hold
     * no cycles, and each collection would walk the young ones again):
     * one pass over them afterwards instead of dozens. */
    int gc_was = PyGC_Disable();
#endif
    PyObject *out = PyList_New(0);
    while (out && r.p < r.end) {
        uint8_t tag = *r.p++;
        PyObject *rec = NULL;
        if (tag == 'T') {
            if (rd_table(d, &r) == 0) continue;
        } else if (tag == 'C') {
            rec = rd_change(d, &r);
        } else if (tag == 'K' || tag == 'D' || tag == 'P' || tag == 'S') {
            rec = rd_boundary(d, &r, tag);
        } else {
            PyErr_Format(PyExc_ValueError, "libcdc: unknown record tag %u in a binary batch", tag);
        }
        if (!rec || PyList_Append(out, rec)) {
            Py_XDECREF(rec);
            Py_CLEAR(out);
            break;
        }
        Py_DECREF(rec);
    }
    PyBuffer_Release(&view);
#if PY_VERSION_HEX >= 0x030A0000
    if (gc_was) PyGC_Enable();
#endif
    return out;
}

static int Decoder_init(Decoder *d, PyObject *args, PyObject *kw)
{
    PyObject *record, *decimal, *loads, *jnull, *utc;
    (void)kw;
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyType_Type, &record, &decimal, &loads, &jnull, &utc)) return -1;
    if (!PyType_IsSubtype((PyTypeObject *)record, &PyDict_Type)) {
        PyErr_SetString(PyExc_TypeError, "record type must be a dict subclass");
        return -1;
    }
    Py_INCREF(record);
    Py_XSETREF(d->record, (PyTypeObject *)record);
    Py_INCREF(decimal);
    Py_XSETREF(d->decimal, decimal);
    Py_INCREF(loads);
    Py_XSETREF(d->json_loads, loads);
    Py_INCREF(jnull);
    Py_XSETREF(d->json_null, jnull);
    Py_INCREF(utc);
    Py_XSETREF(d->utc, utc);
    return 0;
}

static void Decoder_dealloc(Decoder *d)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        Py_XDECREF(d->tables[i].db);
        Py_XDECREF(d->tables[i].table);
        Py_XDECREF(d->tables[i].names);
    }
    Py_XDECREF(d->record);
    Py_XDECREF(d->decimal);
    Py_XDECREF(d->json_loads);
    Py_XDECREF(d->json_null);
    Py_XDECREF(d->utc);
    Py_XDECREF(d->file_b);
    Py_XDECREF(d->file_s);
    Py_XDECREF(d->gtid_b);
    Py_XDECREF(d->gtid_s);
    Py_TYPE(d)->tp_free((PyObject *)d);
}

static PyMethodDef Decoder_methods[] = {
    {"decode", (PyCFunction)Decoder_decode, METH_O, "decode(raw) -> list of records of one binary batch"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "libcdc._fast.Decoder",
    .tp_basicsize = sizeof(Decoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Decoder(Record, Decimal, json_loads, JSON_NULL, utc): reads binary batches",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Decoder_init,
    .tp_dealloc = (destructor)Decoder_dealloc,
    .tp_methods = Decoder_methods,
};

static struct PyModuleDef fastmodule = {
    PyModuleDef_HEAD_INIT, "libcdc._fast", "Binary batch reader of libcdc (docs/bindings.md)", -1, NULL,
    NULL, NULL, NULL, NULL,
};

#define INTERN(var, text)                                                                                       \
    do {                                                                                                       \
        if (!((var) = PyUnicode_InternFromString(text))) return NULL;                                          \
    } while (0)

PyMODINIT_FUNC PyInit__fast(void)
{
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI) return NULL;
    INTERN(k_op, "op");
    INTERN(k_db, "db");
    INTERN(k_table, "table");
    INTERN(k_before, "before");
    INTERN(k_after, "after");
    INTERN(k_pos, "pos");
    INTERN(k_file, "file");
    INTERN(k_offset, "offset");
    INTERN(k_row, "row");
    INTERN(k_gtid, "gtid");
    INTERN(k_server_id, "server_id");
    INTERN(k_ts_ms, "ts_ms");
    INTERN(k_event, "event");
    INTERN(k_sql, "sql");
    INTERN(k_checkpoint, "checkpoint");
    INTERN(s_commit, "commit");
    INTERN(s_ddl, "ddl");
    INTERN(s_ckpt, "checkpoint");
    INTERN(s_snapdone, "snapshot_done");
    INTERN(op_str[0], "c");
    INTERN(op_str[1], "u");
    INTERN(op_str[2], "d");
    INTERN(op_str[3], "r");
    if (!(empty_tuple = PyTuple_New(0))) return NULL;
    if (PyType_Ready(&DecoderType) < 0) return NULL;
    PyObject *m = PyModule_Create(&fastmodule);
    if (!m) return NULL;
    Py_INCREF(&DecoderType);
    if (PyModule_AddObject(m, "Decoder", (PyObject *)&DecoderType) < 0) {
        Py_DECREF(&DecoderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
