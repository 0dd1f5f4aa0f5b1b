package cdc

// Reading binary batches (docs/output.md, "Binary batches"): the records
// of one cdc_batch_next/feed call, with typed values, straight from the
// bytes (nothing to parse as text, column names sent once per table).

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

type tableDef struct {
	db, table string
	names     []string
}

// binReader keeps what the records of one batch object refer to across
// calls: the table records, and the last file name and GTID (which
// repeat from row to row, so they are made into strings once).
type binReader struct {
	tables   [64]*tableDef
	lastFile string
	lastGTID *string // shared by the changes of one transaction
}

var errShort = errors.New("cdc: truncated binary batch")

type cursor struct {
	b   []byte
	i   int
	err error
}

func (c *cursor) take(n int) []byte {
	if c.err != nil || n < 0 || len(c.b)-c.i < n {
		c.err = errShort
		return nil
	}
	p := c.b[c.i : c.i+n]
	c.i += n
	return p
}

func (c *cursor) u8() byte {
	if p := c.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if p := c.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (c *cursor) u64() uint64 {
	if p := c.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// bytesRef is a string's bytes inside the batch (not copied).
func (c *cursor) bytesRef() []byte {
	n := c.u32()
	return c.take(int(n))
}

func (c *cursor) str() string { return string(c.bytesRef()) }

// cachedStr is s as a string, reusing *last when the bytes are equal.
func cachedStr(last *string, b []byte) string {
	if string(b) != *last { // no allocation for the comparison
		*last = string(b)
	}
	return *last
}

func (c *cursor) value() (interface{}, bool) {
	tag := c.u8()
	switch tag {
	case 0:
		return nil, false
	case 1:
		return nil, true
	case 2:
		return int64(c.u64()), true
	case 3:
		u := c.u64()
		if u <= math.MaxInt64 {
			return int64(u), true
		}
		return u, true
	case 4:
		return math.Float64frombits(c.u64()), true
	case 5:
		return Decimal(c.str()), true
	case 6:
		p := c.take(4)
		if p == nil {
			return nil, true
		}
		return time.Date(int(binary.LittleEndian.Uint16(p)), time.Month(p[2]), int(p[3]), 0, 0, 0, 0, time.UTC), true
	case 7, 8:
		p := c.take(11)
		if p == nil {
			return nil, true
		}
		return time.Date(int(binary.LittleEndian.Uint16(p)), time.Month(p[2]), int(p[3]), int(p[4]), int(p[5]),
			int(p[6]), int(binary.LittleEndian.Uint32(p[7:]))*1000, time.UTC), true
	case 9:
		return time.Duration(int64(c.u64())) * time.Microsecond, true
	case 10:
		b := c.bytesRef()
		return append([]byte{}, b...), true
	case 11:
		return c.str(), true
	case 12:
		b := c.bytesRef()
		return json.RawMessage(append([]byte{}, b...)), true
	case 13:
		v, err := jsonForm(c.bytesRef())
		if err != nil && c.err == nil {
			c.err = err
		}
		return v, true
	}
	if c.err == nil {
		c.err = fmt.Errorf("cdc: unknown value tag %d in a binary batch", tag)
	}
	return nil, true
}

// jsonForm is a value sent in its JSON form (docs/values.md): zero
// dates, SET, GEOMETRY and the like, as Value gives them for JSON lines.
func jsonForm(b []byte) (interface{}, error) {
	switch {
	case len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0:
		return string(b[1 : len(b)-1]), nil // a string without escapes
	case string(b) == "null":
		return nil, nil
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		return numberValue(json.Number(b))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v interface{}
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("cdc: bad value %q in a binary batch: %w", b, err)
	}
	if n, ok := v.(json.Number); ok {
		return numberValue(n)
	}
	return v, nil
}

func numberValue(n json.Number) (interface{}, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return u, nil
	}
	return strconv.ParseFloat(string(n), 64)
}

func (c *cursor) image(t *tableDef) map[string]interface{} {
	row := make(map[string]interface{}, len(t.names))
	for _, name := range t.names {
		if v, present := c.value(); present {
			row[name] = v
		}
		if c.err != nil {
			break
		}
	}
	return row
}

func (c *cursor) pos(r *Record) {
	r.Pos.File = c.str()
	r.Pos.Offset = c.u64()
	r.Checkpoint = c.str()
}

func (c *cursor) gtid() *string {
	b := c.bytesRef()
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// parse appends the records of one binary batch to out.
func (rd *binReader) parse(data []byte, out []Record) ([]Record, error) {
	c := &cursor{b: data}
	whole := len(out) // records before the one being read
	for c.i < len(c.b) && c.err == nil {
		whole = len(out)
		tag := c.u8()
		if tag == 'T' {
			slot := c.u32()
			t := &tableDef{db: c.str(), table: c.str()}
			n := c.u32()
			if c.err == nil && int(n) > (len(c.b)-c.i)/4 {
				c.err = errShort
			}
			if c.err != nil {
				break
			}
			t.names = make([]string, n)
			for i := range t.names {
				t.names[i] = c.str()
			}
			if slot >= uint32(len(rd.tables)) {
				c.err = fmt.Errorf("cdc: table slot %d out of range", slot)
				break
			}
			rd.tables[slot] = t
			continue
		}
		out = append(out, Record{native: true})
		r := &out[len(out)-1]
		switch tag {
		case 'C':
			op := c.u8()
			slot := c.u32()
			if c.err != nil {
				break
			}
			if slot >= uint32(len(rd.tables)) || rd.tables[slot] == nil {
				c.err = fmt.Errorf("cdc: change of unknown table slot %d", slot)
				break
			}
			t := rd.tables[slot]
			r.Op = opString(op)
			r.DB, r.Table = t.db, t.table
			r.Pos.File = cachedStr(&rd.lastFile, c.bytesRef())
			r.Pos.Offset = c.u64()
			r.Pos.Row = c.u64()
			if g := c.bytesRef(); len(g) > 0 {
				if rd.lastGTID == nil || *rd.lastGTID != string(g) {
					s := string(g)
					rd.lastGTID = &s
				}
				r.GTID = rd.lastGTID
			}
			r.ServerID = c.u32()
			r.TsMs = int64(c.u64())
			if op == 'u' || op == 'd' {
				r.Before = c.image(t)
			}
			if op != 'd' {
				r.After = c.image(t)
			}
		case 'K':
			r.Event = "commit"
			r.GTID = c.gtid()
			r.ServerID = c.u32()
			r.TsMs = int64(c.u64())
			c.pos(r)
		case 'D':
			r.Event = "ddl"
			r.DB = c.str()
			r.SQL = c.str()
			r.GTID = c.gtid()
			c.pos(r)
		case 'P':
			r.Event = "checkpoint"
			c.pos(r)
		case 'S':
			r.Event = "snapshot_done"
			c.pos(r)
		default:
			c.err = fmt.Errorf("cdc: unknown record tag %d in a binary batch", tag)
		}
	}
	if c.err != nil {
		return out[:whole], c.err
	}
	return out, nil
}

func opString(op byte) string {
	switch op {
	case 'c':
		return "c"
	case 'u':
		return "u"
	case 'd':
		return "d"
	case 'r':
		return "r"
	}
	return string(rune(op))
}
