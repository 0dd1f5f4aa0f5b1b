package cdc

// DecodeFileDebezium against `cdc dump --format=debezium` of the same
// file: every record (changes, tombstones, schema changes, transaction
// BEGIN/END) in the same order, with the same topic, key and value (the
// renderer's processing time aside: ts_ms, ts_us and ts_ns at the top of
// a value, or of its payload with schemas, differ between two runs).

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// withoutClock parses a value and drops the processing time.
func withoutClock(t *testing.T, raw json.RawMessage) interface{} {
	if raw == nil {
		return nil
	}
	var v interface{}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("value %s: %v", raw, err)
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return v
	}
	if p, ok := m["payload"].(map[string]interface{}); ok && m["schema"] != nil {
		m = p
	}
	delete(m, "ts_ms")
	delete(m, "ts_us")
	delete(m, "ts_ns")
	return v
}

func compareDebezium(t *testing.T, path string, batch int, opts map[string]string) map[string]int {
	args := []string{"--format=debezium"}
	for k, v := range opts {
		args = append(args, "-o", k+"="+v)
	}
	want, stderr, runErr := cdcDump(t, path, args...)
	var got []Record
	decErr := DecodeFileDebezium(path, batch, opts, func(r *Record) error {
		got = append(got, *r)
		return nil
	})
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, cdc dump printed %d", path, len(got), len(want))
	}
	kinds := map[string]int{}
	for i := range got {
		g, w := &got[i], &want[i]
		if g.Kind() != KindDebezium || g.Topic != w.Topic || !bytes.Equal(g.KeyJSON, w.KeyJSON) {
			t.Fatalf("%s record %d:\n got %s %s %s\nwant %s %s %s", path, i, g.Topic, g.KeyJSON, g.ValueJSON,
				w.Topic, w.KeyJSON, w.ValueJSON)
		}
		gv, wv := withoutClock(t, g.ValueJSON), withoutClock(t, w.ValueJSON)
		if !reflect.DeepEqual(gv, wv) {
			t.Fatalf("%s record %d:\n got %s\nwant %s", path, i, g.ValueJSON, w.ValueJSON)
		}
		m, _ := gv.(map[string]interface{})
		if p, ok := m["payload"].(map[string]interface{}); ok && m["schema"] != nil {
			m = p
		}
		switch {
		case g.ValueJSON == nil:
			kinds["tombstone"]++
		case m["op"] != nil:
			kinds["op "+m["op"].(string)]++
		case m["ddl"] != nil:
			kinds["schema change"]++
		case m["status"] != nil:
			kinds[m["status"].(string)]++
		}
	}
	if runErr == nil && decErr != nil {
		t.Fatalf("%s: DecodeFileDebezium: %v; cdc dump succeeded", path, decErr)
	}
	if runErr != nil && decErr == nil {
		t.Fatalf("%s: DecodeFileDebezium succeeded; cdc dump: %s", path, stderr)
	}
	return kinds
}

func TestUnitDebeziumEveryFixture(t *testing.T) {
	opts := map[string]string{"topic.prefix": "shop", "provide.transaction.metadata": "true",
		"schemas.enable": "false"}
	all := map[string]int{}
	for _, p := range fixtureFiles(t) {
		for k, n := range compareDebezium(t, p, 0, opts) {
			all[k] += n
		}
	}
	for _, k := range []string{"op c", "op u", "op d", "tombstone", "schema change", "BEGIN", "END"} {
		if all[k] == 0 {
			t.Fatalf("no %q record compared: %v", k, all)
		}
	}
}

func TestUnitDebeziumSchemasSmallBatches(t *testing.T) {
	root := mustEnv(t, "CDC_FIXTURES")
	opts := map[string]string{"topic.prefix": "p", "schemas.enable": "true", "decimal.handling.mode": "string",
		"tombstones.on.delete": "false", "include.schema.changes": "false"}
	kinds := compareDebezium(t, filepath.Join(root, "mysql-binlog-connector-java/mysql-bin.sakila.gz"), 1, opts)
	if kinds["op c"] == 0 || kinds["tombstone"] != 0 || kinds["schema change"] != 0 {
		t.Fatalf("kinds %v", kinds)
	}
}

func TestUnitDebeziumBadOption(t *testing.T) {
	root := mustEnv(t, "CDC_FIXTURES")
	err := DecodeFileDebezium(filepath.Join(root, "mysql-binlog-connector-java/mysql-bin.sakila.gz"), 0,
		map[string]string{"topic.prefix": "p", "no.such.option": "1"}, func(*Record) error { return nil })
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != ErrConfig || !strings.Contains(ce.Message, "no.such.option") {
		t.Fatalf("unknown option: %v", err)
	}
}
