package cdc

// Issue 13.4 in Go: typed values from Record.Value on both servers, for
// rows whose values are written as literals below, read back exactly.

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"testing"
	"time"
)

func TestIntegrationNativeValues(t *testing.T) {
	for _, srv := range servers(t) {
		jsonType := "JSON"
		srv.sql(t, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %[1]s; DROP TABLE IF EXISTS %[1]s.nat;"+
			"CREATE TABLE %[1]s.nat (id INT PRIMARY KEY, i BIGINT, u BIGINT UNSIGNED, b BIT(64), f FLOAT, d DOUBLE,"+
			" dec65 DECIMAL(65,30), dt DATETIME(6), ts TIMESTAMP(6) NULL, da DATE, tm TIME(6), vb VARBINARY(10),"+
			" s VARCHAR(20) CHARACTER SET utf8mb4, j %[2]s, e ENUM('a','b'))", goDB, jsonType))
		start := srv.position(t)
		srv.sql(t, fmt.Sprintf("SET NAMES utf8mb4; SET time_zone = '+00:00'; INSERT INTO %s.nat VALUES"+
			" (1, -9223372036854775808, 18446744073709551615, b'1111111111111111111111111111111111111111111111111111111111111111',"+
			" 0, 0.1, '-12345678901234567890123456789012345.123456789012345678901234567890',"+
			" '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999999', '1000-01-01', '-838:59:58.999999',"+
			" X'00FF0001', 'h\u00e9llo \U0001F600', '{\"a\": [1, 2.5, 18446744073709551615]}', 'b'),"+
			" (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'null', NULL)", goDB))
		end := srv.position(t)
		st := srv.stream(t, map[string]string{"start": start, "stop.at": end, "table.include.list": goDB + ".nat"}, 0)
		st.SetNative(true)
		rows := map[int64]*Record{}
		for {
			r, err := st.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Op == "c" {
				id, _ := r.Value(true, "id")
				rows[id.(int64)] = r
			}
		}
		st.Close()
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows", srv.flavor, len(rows))
		}
		dec, _ := new(big.Rat).SetString("-12345678901234567890123456789012345.123456789012345678901234567890")
		jsonDoc := json.RawMessage(`{"a":[1,2.5,18446744073709551615]}`)
		want := map[string]interface{}{
			"i": int64(-9223372036854775808), "u": uint64(18446744073709551615), "b": uint64(18446744073709551615),
			"f": float64(0), "d": 0.1,
			"dt": time.Date(2024, 2, 29, 23, 59, 59, 123456000, time.UTC),
			"ts": time.Date(2038, 1, 19, 3, 14, 7, 999999000, time.UTC),
			"da": time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
			"tm": -(838*time.Hour + 59*time.Minute + 58*time.Second + 999999*time.Microsecond),
			"vb": []byte{0, 0xff, 0, 1}, "s": "h\u00e9llo \U0001F600", "e": "b",
		}
		r1 := rows[1]
		for col, w := range want {
			got, err := r1.Value(true, col)
			if err != nil || !reflect.DeepEqual(got, w) {
				t.Errorf("%s: %s = %#v (%v), want %#v", srv.flavor, col, got, err, w)
			}
		}
		if got, _ := r1.Value(true, "dec65"); got.(Decimal).Rat().Cmp(dec) != 0 || got.(Decimal).String() !=
			"-12345678901234567890123456789012345.123456789012345678901234567890" {
			t.Errorf("%s: dec65 = %v", srv.flavor, got)
		}
		// MariaDB's JSON is LONGTEXT in the binlog; its CHECK makes it a
		// document all the same (docs/values.md)
		if got, _ := r1.Value(true, "j"); !reflect.DeepEqual(got, jsonDoc) {
			t.Errorf("%s: j = %#v, want %s", srv.flavor, got, jsonDoc)
		}
		r2 := rows[2]
		for col := range want {
			if v, _ := r2.Value(true, col); v != nil {
				t.Errorf("%s: SQL NULL %s = %#v", srv.flavor, col, v)
			}
		}
		if v, _ := r2.Value(true, "j"); !reflect.DeepEqual(v, json.RawMessage("null")) {
			t.Errorf("%s: JSON null document = %#v", srv.flavor, v)
		}
	}
}

// Issue 13.4: a MariaDB column declared JSON (LONGTEXT with a json_valid
// CHECK) is a json.RawMessage from the binlog and from the snapshot,
// byte for byte the server's own JSON_COMPACT(); the null document is
// RawMessage("null"), SQL NULL is nil, and a plain LONGTEXT a string.
func TestIntegrationMariaDBJSON(t *testing.T) {
	var srv server
	for _, s := range servers(t) {
		if s.flavor == "mariadb" {
			srv = s
		}
	}
	const db = "mjson_go"
	srv.sql(t, fmt.Sprintf("DROP DATABASE IF EXISTS %[1]s; CREATE DATABASE %[1]s;"+
		" CREATE TABLE %[1]s.docs (id INT PRIMARY KEY, j JSON, lt LONGTEXT)", db))
	start := srv.position(t)
	srv.sql(t, fmt.Sprintf("SET NAMES utf8mb4; INSERT INTO %s.docs VALUES"+
		` (1, '{"a": {"b": [1, 2.50, -0.0, 1E3, 18446744073709551616, true, null]}, "s": "\\u00e9 \U0001F600 \\" x", "e": {}}', '[1]'),`+
		` (2, 'null', '[2]'), (3, NULL, '[3]'), (4, '[[{"deep": []}], "x\U0001F680"]', '[4]'), (5, ' -12.5e-3 ', '[5]')`, db))
	end := srv.position(t)
	want := map[int64]interface{}{}
	for _, r := range srv.sql(t, "SELECT id, HEX(JSON_COMPACT(j)) FROM "+db+".docs") {
		var id int64
		fmt.Sscan(r[0], &id)
		if r[1] == "NULL" {
			want[id] = nil
			continue
		}
		var b []byte
		if _, err := fmt.Sscanf(r[1], "%X", &b); err != nil {
			t.Fatal(err)
		}
		want[id] = json.RawMessage(b)
	}
	if len(want) != 5 || !reflect.DeepEqual(want[2], json.RawMessage("null")) {
		t.Fatalf("the server's rows: %v", want)
	}
	for _, mode := range []string{"never", "initial_only"} {
		cfg := map[string]string{"table.include.list": db + ".docs", "snapshot.mode": mode}
		if mode == "never" {
			cfg["start"], cfg["stop.at"] = start, end
		}
		st := srv.stream(t, cfg, 0)
		st.SetNative(true)
		seen := 0
		for _, r := range drain(t, st) {
			if r.Op != "c" && r.Op != "r" {
				continue
			}
			seen++
			v, _ := r.Value(true, "id")
			id := v.(int64)
			if j, _ := r.Value(true, "j"); !reflect.DeepEqual(j, want[id]) {
				t.Errorf("%s: id %d j = %#v (%s), JSON_COMPACT says %s", mode, id, j, j, want[id])
			}
			if lt, _ := r.Value(true, "lt"); lt != fmt.Sprintf("[%d]", id) {
				t.Errorf("%s: id %d lt = %#v, want a string", mode, id, lt)
			}
		}
		st.Close()
		if seen != len(want) {
			t.Errorf("%s: %d rows, want %d", mode, seen, len(want))
		}
	}
	srv.sql(t, "DROP DATABASE "+db)
}
