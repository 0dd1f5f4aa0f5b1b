// Package cdc is the Go binding of libcdc: change data capture from MySQL
// and MariaDB binary logs. It wraps the C library through cgo and moves
// changes across in batches (include/cdc/batch.h): one cgo call per
// batch, not per row. Batches are JSON lines, or, with SetNative(true) /
// DecodeFileNative, binary records read straight into typed values.
//
//	cfg, _ := cdc.NewConfig(map[string]string{"host": "db1", "user": "cdc",
//		"password": pw, "server.id": "4001", "start": saved})
//	s, err := cdc.NewStream(cfg, 0)
//	for {
//		r, err := s.Next()
//		if err == io.EOF { break }          // stop.at reached or Stop() called
//		if err != nil { return err }         // *cdc.Error
//		switch r.Kind() {
//		case cdc.KindChange: apply(r)
//		case cdc.KindCommit, cdc.KindDDL: save(r.Checkpoint)
//		}
//	}
//
// Build: cgo asks pkg-config for libcdc (libcdc.pc, installed with the
// library), so an installed libcdc just works, under any prefix with
// PKG_CONFIG_PATH; for a build tree see docs/bindings.md.
package cdc

/*
#cgo pkg-config: libcdc
#include <stdlib.h>
#include <cdc/cdc.h>
*/
import "C"

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Error codes the package acts on; every code comes with its name.
const (
	ErrConfig   = -3
	ErrState    = -4
	ErrTooLarge = -16
	ErrStopped  = -29
)

// Error is an error from libcdc: Code is the negative cdc_error value,
// Name its enum name ("CDC_ERR_AUTH"), Message says where and what.
type Error struct {
	Code    int
	Name    string
	Message string
}

func (e *Error) Error() string { return e.Name + ": " + e.Message }

// Retriable reports whether a stream may succeed after reconnecting.
func (e *Error) Retriable() bool { return C.cdc_is_retriable(C.int(e.Code)) != 0 }

func newError(code C.int, msg string) *Error {
	if msg == "" {
		msg = C.GoString(C.cdc_strerror(code))
	}
	return &Error{Code: int(code), Name: C.GoString(C.cdc_err_name(code)), Message: msg}
}

// Version is the version string of the libcdc in use.
func Version() string { return C.GoString(C.cdc_version()) }

// Config holds settings by string keys (docs/configuration.md), checked
// when set. Not safe for concurrent Set calls.
type Config struct {
	p *C.cdc_config
}

// NewConfig makes a config and sets each pair of settings (in no
// particular order; the first bad one is returned).
func NewConfig(settings map[string]string) (*Config, error) {
	c := &Config{}
	if rc := C.cdc_config_new(&c.p, nil); rc != 0 {
		return nil, newError(rc, "")
	}
	for k, v := range settings {
		if err := c.Set(k, v); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Set sets key to value; the error (CDC_ERR_CONFIG) names both.
func (c *Config) Set(key, value string) error {
	ck, cv := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	var buf [1024]C.char
	if rc := C.cdc_config_set(c.p, ck, cv, &buf[0], C.size_t(len(buf))); rc != 0 {
		return newError(rc, C.GoString(&buf[0]))
	}
	return nil
}

// Reset restores key's default.
func (c *Config) Reset(key string) error {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	var buf [1024]C.char
	if rc := C.cdc_config_set(c.p, ck, nil, &buf[0], C.size_t(len(buf))); rc != 0 {
		return newError(rc, C.GoString(&buf[0]))
	}
	return nil
}

// Get returns key's value as text (secrets read back as "********").
func (c *Config) Get(key string) (string, error) {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	var need C.size_t
	rc := C.cdc_config_get(c.p, ck, nil, 0, &need)
	if rc != 0 && rc != ErrTooLarge {
		return "", newError(rc, fmt.Sprintf("unknown configuration key '%s'", key))
	}
	buf := make([]byte, need+1)
	if rc = C.cdc_config_get(c.p, ck, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), nil); rc != 0 {
		return "", newError(rc, "")
	}
	return string(buf[:need-1]), nil
}

// Close frees the config; streams made from it keep their own copy.
func (c *Config) Close() {
	if c.p != nil {
		C.cdc_config_free(c.p)
		c.p = nil
	}
}

// Kind of a Record: which line of docs/output.md it came from.
type Kind int

const (
	KindChange       Kind = iota // a row change: Op c/u/d, r for snapshot rows
	KindCommit                   // end of a transaction, with its Checkpoint
	KindDDL                      // a DDL statement, with its Checkpoint
	KindCheckpoint               // the safe position advanced without a commit
	KindSnapshotDone             // the snapshot is complete
	KindDebezium                 // a Debezium record (SetDebezium): Topic, KeyJSON, ValueJSON
)

// Position names a place in a binlog: a file and an offset; Row is the
// index of a change within its rows event (or transaction payload).
type Position struct {
	File   string `json:"file"`
	Offset uint64 `json:"offset"`
	Row    uint64 `json:"row"`
}

// Record is one record of a batch (docs/output.md): a row change (Op
// set) or a transaction line (Event "commit", "ddl", "checkpoint" or
// "snapshot_done", with Checkpoint). In a native stream (SetNative,
// DecodeFileNative) the values in Before and After are typed, as Value
// describes; otherwise they keep JSON's types with numbers as
// json.Number, so integers stay exact (DECIMAL comes as a string, see
// docs/values.md).
type Record struct {
	Op         string                 `json:"op"`
	Event      string                 `json:"event"`
	DB         string                 `json:"db"`
	Table      string                 `json:"table"`
	Before     map[string]interface{} `json:"before"`
	After      map[string]interface{} `json:"after"`
	Pos        Position               `json:"pos"`
	GTID       *string                `json:"gtid"` // nil: none (records of a transaction may share it)
	ServerID   uint32                 `json:"server_id"`
	TsMs       int64                  `json:"ts_ms"`
	SQL        string                 `json:"sql"` // of a DDL record
	Checkpoint string                 `json:"checkpoint"`
	// A Debezium record (Stream.SetDebezium, DecodeFileDebezium): its
	// topic, and its key and value as the exact JSON text Debezium's
	// JsonConverter would carry (nil: a table without a key, a tombstone).
	Topic     string          `json:"topic"`
	KeyJSON   json.RawMessage `json:"key"`
	ValueJSON json.RawMessage `json:"value"`
	native    bool            // values are typed already
}

// Decimal is a DECIMAL value as its exact text ("-12.30").
type Decimal string

// String is the exact text.
func (d Decimal) String() string { return string(d) }

// Rat is the exact value.
func (d Decimal) Rat() *big.Rat {
	r, _ := new(big.Rat).SetString(string(d))
	return r
}

// Float64 is the nearest float64 (not exact).
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(string(d), 64)
	return f
}

// Value is column col of the after image (after true) or the before image
// as a Go value: nil for SQL NULL (and for a column not in the image),
// int64 or uint64 for integers (unsigned BIGINT above MaxInt64, BIT),
// float64, Decimal, time.Time in UTC for DATE, DATETIME (no zone in the
// column: read as UTC) and TIMESTAMP, time.Duration for TIME, []byte for
// binary, json.RawMessage for JSON documents (json.RawMessage("null") for
// the document null), string for text, ENUM and SET. Zero and partial
// dates ("0000-00-00") come as their string. These types need a native
// record (Stream.SetNative(true), DecodeFileNative); from JSON lines,
// numbers become int64, uint64 or float64 and everything else stays as
// JSON has it (DECIMAL, temporal values and base64 binary as strings).
func (r *Record) Value(after bool, col string) (interface{}, error) {
	row := r.Before
	if after {
		row = r.After
	}
	v := row[col]
	if r.native {
		return v, nil
	}
	if n, ok := v.(json.Number); ok {
		return numberValue(n)
	}
	return v, nil
}

// Kind says which line the record came from.
func (r *Record) Kind() Kind {
	switch {
	case r.Topic != "":
		return KindDebezium
	case r.Op != "":
		return KindChange
	case r.Event == "commit":
		return KindCommit
	case r.Event == "ddl":
		return KindDDL
	case r.Event == "snapshot_done":
		return KindSnapshotDone
	}
	return KindCheckpoint
}

// CommitGTID is the GTID of a commit record ("" when anonymous).
func (r *Record) CommitGTID() string {
	if r.GTID == nil {
		return ""
	}
	return *r.GTID
}

func parseLines(data []byte, out []Record) ([]Record, error) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		line := data[:i]
		data = data[min(i+1, len(data)):]
		if len(line) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var r Record
		if err := d.Decode(&r); err != nil {
			return out, fmt.Errorf("cdc: bad batch line %q: %w", line, err)
		}
		if r.Topic != "" { // null key or value: nil, not the text "null"
			if string(r.KeyJSON) == "null" {
				r.KeyJSON = nil
			}
			if string(r.ValueJSON) == "null" {
				r.ValueJSON = nil
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// Stream is a change stream (include/cdc/stream.h) read in batches. The
// stream runs only inside Next/NextBatch: between calls nothing is read
// and nothing is lost (backpressure by not calling). Next and NextBatch
// belong to one goroutine; Stop, CheckpointNow, Metric and Close may be
// called from any goroutine. A snapshot arrives in batches of batchBytes
// too (the library pauses it at any row), so memory stays bounded.
type Stream struct {
	mu      sync.Mutex
	idle    *sync.Cond // signalled when a batch call ends
	s       *C.cdc_stream
	b       *C.cdc_batch
	busy    bool // a batch call is in flight
	closing bool
	ownStop bool // we stopped the stream for a cancelled context
	pending []Record
	done    error
	bin     *binReader      // SetNative: the batch is binary
	dz      *C.cdc_debezium // SetDebezium: the batch's renderer
	// Checkpoint of the last commit, DDL or checkpoint record returned.
	Checkpoint string
}

// NewStream makes a stream from cfg (copied). batchBytes is the batch
// size limit (0: the library's default, 1 MiB). Does not connect.
func NewStream(cfg *Config, batchBytes int) (*Stream, error) {
	st := &Stream{}
	st.idle = sync.NewCond(&st.mu)
	var buf [1024]C.char
	if rc := C.cdc_stream_new(&st.s, cfg.p, nil, &buf[0], C.size_t(len(buf))); rc != 0 {
		return nil, newError(rc, C.GoString(&buf[0]))
	}
	if rc := C.cdc_batch_new(&st.b, C.size_t(batchBytes), nil); rc != 0 {
		C.cdc_stream_free(st.s)
		return nil, newError(rc, "")
	}
	C.cdc_batch_attach_stream(st.b, st.s)
	return st, nil
}

// SetNative makes change records carry typed values (see Record.Value):
// the batches become binary (cdc_batch_set_format), read without any
// text parsing. Call it before the first Next.
func (st *Stream) SetNative(on bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.b != nil {
		f, bin := C.int(C.CDC_BATCH_JSON), (*binReader)(nil)
		if on {
			if st.dz != nil {
				return // Debezium records are JSON
			}
			f, bin = C.CDC_BATCH_BINARY, &binReader{}
		}
		if C.cdc_batch_set_format(st.b, f) == 0 {
			st.bin = bin
		}
	}
}

// newDebezium makes a renderer with options set (docs/debezium.md), its
// tableChanges read over a connection of its own made from source (nil:
// none, tableChanges stay empty).
func newDebezium(options map[string]string, source *Config) (*C.cdc_debezium, error) {
	var dz *C.cdc_debezium
	var eb [512]C.char
	if rc := C.cdc_debezium_new(&dz, nil, &eb[0], C.size_t(len(eb))); rc != 0 {
		return nil, newError(rc, C.GoString(&eb[0]))
	}
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same error for the same options
	for _, k := range keys {
		ck, cv := C.CString(k), C.CString(options[k])
		rc := C.cdc_debezium_set(dz, ck, cv, &eb[0], C.size_t(len(eb)))
		C.free(unsafe.Pointer(ck))
		C.free(unsafe.Pointer(cv))
		if rc != 0 {
			C.cdc_debezium_free(dz)
			return nil, newError(rc, C.GoString(&eb[0]))
		}
	}
	if source != nil {
		if rc := C.cdc_debezium_set_source(dz, source.p, &eb[0], C.size_t(len(eb))); rc != 0 {
			C.cdc_debezium_free(dz)
			return nil, newError(rc, C.GoString(&eb[0]))
		}
	}
	return dz, nil
}

// SetDebezium makes the stream return Debezium records (KindDebezium:
// Topic, KeyJSON, ValueJSON) instead of change lines, as cdc-kafka would produce
// them: each change's records (tombstones after deletes), each DDL
// statement's schema-change record (include.schema.changes), transaction
// BEGIN/END records (provide.transaction.metadata=true), snapshot rows
// with source.snapshot as Debezium marks them; commit, DDL, checkpoint
// and snapshot-done records still come, so checkpoints work as before.
// options are the renderer's (topic.prefix, decimal.handling.mode, ...;
// docs/debezium.md); source (may be nil) is the configuration whose
// server tableChanges are read from, over a connection of the
// renderer's own. An unknown option or bad value is an *Error naming it.
// Not with SetNative(true). Call it before the first Next.
func (st *Stream) SetDebezium(options map[string]string, source *Config) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.b == nil {
		return errClosed
	}
	if st.bin != nil {
		return &Error{Code: ErrState, Name: "CDC_ERR_STATE", Message: "SetDebezium: the stream is native (SetNative)"}
	}
	dz, err := newDebezium(options, source)
	if err != nil {
		return err
	}
	if rc := C.cdc_batch_set_debezium(st.b, dz); rc != 0 {
		C.cdc_debezium_free(dz)
		return newError(rc, "")
	}
	if st.dz != nil {
		C.cdc_debezium_free(st.dz)
	}
	st.dz = dz
	return nil
}

var errClosed = &Error{Code: ErrState, Name: "CDC_ERR_STATE", Message: "the stream is closed"}

// call runs one cdc_batch_next and copies its lines. A cancelled ctx
// stops the stream (cdc_stream_stop is thread-safe); the call then
// returns what it holds and the caller gets ctx.Err().
func (st *Stream) call(ctx context.Context) (C.int, []byte, string, error) {
	st.mu.Lock()
	if st.s == nil || st.closing {
		st.mu.Unlock()
		return 0, nil, "", errClosed
	}
	st.busy = true
	s, b := st.s, st.b
	st.mu.Unlock()

	// A watcher stops the stream when ctx is done; it reports whether it
	// did, so a stop it makes just after the call ended is still known.
	finished := make(chan struct{})
	var stoppedByUs chan bool
	if ctx.Done() != nil {
		stoppedByUs = make(chan bool, 1)
		go func() {
			select {
			case <-ctx.Done():
				C.cdc_stream_stop(s)
				stoppedByUs <- true
			case <-finished:
				stoppedByUs <- false
			}
		}()
	}
	var data *C.char
	var n C.size_t
	rc := C.cdc_batch_next(b, &data, &n)
	var raw []byte
	var msg string
	if rc == 0 && n > 0 {
		raw = C.GoBytes(unsafe.Pointer(data), C.int(n))
	} else if rc != 0 && rc != ErrStopped {
		msg = C.GoString(C.cdc_batch_errmsg(b))
	}
	close(finished)
	var ctxErr error
	if stoppedByUs != nil && <-stoppedByUs {
		ctxErr = ctx.Err()
	}

	st.mu.Lock()
	st.busy = false
	st.idle.Broadcast()
	closing := st.closing
	if ctxErr != nil && rc == ErrStopped && len(raw) == 0 {
		// the stop we made came back now; nothing to swallow later
	} else if ctxErr != nil {
		st.ownStop = true
	}
	st.mu.Unlock()
	if closing {
		return 0, nil, "", &Error{Code: ErrState, Name: "CDC_ERR_STATE", Message: "the stream was closed while in Next"}
	}
	return rc, raw, msg, ctxErr
}

// NextBatch runs the stream until a batch is ready and returns its
// records: the changes of whole transactions followed by their commit
// records (a transaction larger than the limit spans batches). io.EOF
// when the stream reached stop.at or was stopped; *Error otherwise.
func (st *Stream) NextBatch() ([]Record, error) { return st.NextBatchContext(context.Background()) }

// NextBatchContext is NextBatch that returns ctx.Err() soon after ctx is
// done, even while the stream waits for the server. Nothing is lost: the
// records the stream held come with the next call (which restarts the
// stream where it stopped).
func (st *Stream) NextBatchContext(ctx context.Context) ([]Record, error) {
	if len(st.pending) > 0 {
		recs := st.pending
		st.pending = nil
		return recs, nil
	}
	if st.done != nil {
		return nil, st.done
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rc, raw, msg, err := st.call(ctx)
		if _, ok := err.(*Error); ok { // closed
			return nil, err
		}
		var recs []Record
		if len(raw) > 0 {
			var perr error
			if st.bin != nil {
				recs, perr = st.bin.parse(raw, nil)
			} else {
				recs, perr = parseLines(raw, nil)
			}
			for i := range recs {
				if recs[i].Checkpoint != "" {
					st.Checkpoint = recs[i].Checkpoint
				}
			}
			if perr != nil {
				return recs, perr
			}
		}
		if err != nil { // ctx done: keep what came for the next call
			st.pending = recs
			return nil, err
		}
		if rc == 0 && len(raw) > 0 {
			return recs, nil
		}
		if rc == ErrStopped {
			st.mu.Lock()
			own := st.ownStop
			st.ownStop = false
			st.mu.Unlock()
			if own {
				continue // the stop we made for a cancelled context
			}
		}
		if rc == 0 || rc == ErrStopped {
			return nil, io.EOF
		}
		st.done = newError(rc, msg)
		return nil, st.done
	}
}

// Next returns the next record, batching underneath.
func (st *Stream) Next() (*Record, error) { return st.NextContext(context.Background()) }

// NextContext is Next with cancellation: it returns ctx.Err() soon after
// ctx is done, and a later call goes on without losing a record.
func (st *Stream) NextContext(ctx context.Context) (*Record, error) {
	for len(st.pending) == 0 {
		recs, err := st.NextBatchContext(ctx)
		if err != nil {
			return nil, err
		}
		st.pending = recs
	}
	r := &st.pending[0]
	st.pending = st.pending[1:]
	return r, nil
}

// Stop makes a running Next return io.EOF soon (after the complete
// transactions it holds). Safe from any goroutine. Calling Next again
// afterwards restarts the stream where it stopped, without a gap.
func (st *Stream) Stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s != nil {
		st.ownStop = false
		C.cdc_stream_stop(st.s)
	}
}

// CheckpointNow is the stream's own last safe checkpoint, which may be
// ahead of the records returned so far; "" before it knows one.
func (st *Stream) CheckpointNow() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s == nil {
		return ""
	}
	var need C.size_t
	C.cdc_stream_checkpoint(st.s, nil, 0, &need)
	if need == 0 {
		return ""
	}
	buf := make([]byte, need)
	if C.cdc_stream_checkpoint(st.s, (*C.char)(unsafe.Pointer(&buf[0])), need, nil) != 0 {
		return ""
	}
	return string(buf[:need-1])
}

// Metric names of Stream.Metric (enum cdc_metric).
var Metrics = map[string]int{"events": 0, "rows": 1, "transactions": 2, "bytes": 3,
	"reconnects": 4, "lag_ms": 5, "heartbeats": 6, "offset": 7, "snapshot_rows": 8, "rereads": 9}

// Metric returns a counter by name ("rows", "lag_ms", ...); 0 if unknown.
func (st *Stream) Metric(name string) uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	m, ok := Metrics[name]
	if !ok || st.s == nil {
		return 0
	}
	return uint64(C.cdc_stream_metric(st.s, C.cdc_metric(m)))
}

// Close frees the stream. Safe from any goroutine: a Next running in
// another goroutine is stopped first and returns an *Error with Code
// ErrState; later calls do too. Closing twice is fine.
func (st *Stream) Close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s == nil || st.closing {
		return
	}
	st.closing = true
	if st.busy {
		C.cdc_stream_stop(st.s)
	}
	for st.busy {
		st.idle.Wait()
	}
	if st.s != nil {
		C.cdc_stream_free(st.s)
		C.cdc_batch_free(st.b)
		if st.dz != nil {
			C.cdc_debezium_free(st.dz)
			st.dz = nil
		}
		st.s, st.b = nil, nil
	}
}

// DecodeFile calls fn with each row change of a binlog file (plain or
// gzip), the lines of `cdc dump FILE`, in order; positions name the file
// by its base name without ".gz". The *Record is reused after fn
// returns: copy the struct (*r) to keep it (its maps are its own). It stops at fn's first error and
// returns it. A corrupt or truncated file gives an *Error after the
// changes before the fault. batchBytes: 0 for the default.
func DecodeFile(path string, batchBytes int, fn func(*Record) error) error {
	return decodeFile(path, batchBytes, false, nil, fn)
}

// DecodeFileNative is DecodeFile with typed values (Record.Value), read
// from binary batches.
func DecodeFileNative(path string, batchBytes int, fn func(*Record) error) error {
	return decodeFile(path, batchBytes, true, nil, fn)
}

// DecodeFileDebezium is DecodeFile with Debezium records (KindDebezium),
// the records of `cdc dump --format=debezium FILE`: each change's, each
// DDL statement's schema change (tableChanges empty: a file has no server
// to ask) and transaction BEGIN/END with provide.transaction.metadata.
// options are the renderer's (docs/debezium.md); an unknown one is an
// *Error naming it.
func DecodeFileDebezium(path string, batchBytes int, options map[string]string, fn func(*Record) error) error {
	if options == nil {
		options = map[string]string{}
	}
	return decodeFile(path, batchBytes, false, options, fn)
}

func decodeFile(path string, batchBytes int, native bool, dzOptions map[string]string, fn func(*Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	}
	var d *C.cdc_decoder
	var eb [512]C.char
	if rc := C.cdc_decoder_new(&d, nil, &eb[0], C.size_t(len(eb))); rc != 0 {
		return newError(rc, C.GoString(&eb[0]))
	}
	defer C.cdc_decoder_free(d)
	var b *C.cdc_batch
	if rc := C.cdc_batch_new(&b, C.size_t(batchBytes), nil); rc != 0 {
		return newError(rc, "")
	}
	defer C.cdc_batch_free(b)
	if dzOptions != nil {
		dz, err := newDebezium(dzOptions, nil)
		if err != nil {
			return err
		}
		defer C.cdc_debezium_free(dz)
		defer C.cdc_batch_set_debezium(b, nil) // runs first: the batch lets go of dz before it is freed
		C.cdc_batch_set_debezium(b, dz)
	}
	name := C.CString(strings.TrimSuffix(filepath.Base(path), ".gz"))
	defer C.free(unsafe.Pointer(name))
	C.cdc_decoder_set_position(d, name, 0)
	C.cdc_batch_attach_decoder(b, d)
	var bin *binReader
	if native {
		C.cdc_batch_set_format(b, C.CDC_BATCH_BINARY)
		bin = &binReader{}
	}

	var recs []Record // reused from batch to batch
	emit := func(data *C.char, n C.size_t) error {
		if n == 0 {
			return nil
		}
		var err error
		for i := range recs {
			recs[i] = Record{} // drop what the last batch's records held
		}
		if bin != nil {
			// read in place: every value is copied out of C memory
			recs, err = bin.parse(unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n)), recs[:0])
		} else {
			recs, err = parseLines(C.GoBytes(unsafe.Pointer(data), C.int(n)), recs[:0])
		}
		if err != nil {
			return err
		}
		for i := range recs {
			if err := fn(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	// C memory for the chunks: the decoder may keep pointing into the
	// bytes of a paused feed, which Go memory must not be (cgo rules).
	const chunk = 1 << 20
	cbuf := (*[chunk]byte)(C.malloc(chunk))
	defer C.free(unsafe.Pointer(cbuf))
	for {
		n, rerr := io.ReadFull(r, cbuf[:])
		for off := 0; off < n; {
			var data *C.char
			var ln C.size_t
			used := C.cdc_batch_feed(b, (*C.uint8_t)(unsafe.Pointer(&cbuf[off])), C.size_t(n-off), &data, &ln)
			if err := emit(data, ln); err != nil {
				return err
			}
			if used < 0 {
				return newError(C.int(used), C.GoString(C.cdc_batch_errmsg(b)))
			}
			off += int(used)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	var data *C.char
	var ln C.size_t
	rc := C.cdc_batch_finish(b, &data, &ln)
	if err := emit(data, ln); err != nil {
		return err
	}
	if rc != 0 {
		return newError(rc, C.GoString(C.cdc_batch_errmsg(b)))
	}
	return nil
}
