package cdc

// Binary batches (DecodeFileNative) against JSON lines (DecodeFile, which
// TestUnitDecodeEveryFixture holds to `cdc dump`) for every fixture: the
// same changes, and every typed value the value of the line's JSON form,
// parsed here independently of the package.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func parseFrac(s string) (string, int64) {
	base, frac, _ := strings.Cut(s, ".")
	if frac == "" {
		return base, 0
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return base, us
}

// sameValue reports whether typed value n is the value whose JSON form
// (docs/values.md) is j.
func sameValue(n, j interface{}) bool {
	js, isStr := j.(string)
	switch v := n.(type) {
	case nil:
		return j == nil
	case int64:
		return j == json.Number(strconv.FormatInt(v, 10))
	case uint64:
		return j == json.Number(strconv.FormatUint(v, 10))
	case float64:
		num, ok := j.(json.Number)
		f, err := strconv.ParseFloat(string(num), 64)
		return ok && err == nil && f == v
	case Decimal:
		return isStr && js == string(v)
	case time.Time:
		if !isStr || v.Location() != time.UTC {
			return false
		}
		base, us := parseFrac(strings.TrimSuffix(js, "Z"))
		var y, mo, d, h, mi, s int
		if len(base) == 10 {
			fmt.Sscanf(base, "%d-%d-%d", &y, &mo, &d)
		} else {
			fmt.Sscanf(strings.Replace(base, "T", " ", 1), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s)
		}
		return v.Equal(time.Date(y, time.Month(mo), d, h, mi, s, int(us)*1000, time.UTC))
	case time.Duration:
		if !isStr {
			return false
		}
		neg := strings.HasPrefix(js, "-")
		base, us := parseFrac(strings.TrimPrefix(js, "-"))
		var h, m, s int64
		fmt.Sscanf(base, "%d:%d:%d", &h, &m, &s)
		want := time.Duration(((h*60+m)*60+s)*1000000+us) * time.Microsecond
		if neg {
			want = -want
		}
		return v == want
	case []byte:
		b, err := base64.StdEncoding.DecodeString(js)
		return isStr && err == nil && bytes.Equal(b, v)
	case json.RawMessage:
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		var doc interface{}
		return d.Decode(&doc) == nil && reflect.DeepEqual(doc, j)
	case string:
		return isStr && js == v
	}
	return reflect.DeepEqual(n, j)
}

func compareNative(t *testing.T, path string, batch int) (int, int) {
	var want, got []Record
	wantErr := DecodeFile(path, batch, func(r *Record) error { want = append(want, *r); return nil })
	gotErr := DecodeFileNative(path, batch, func(r *Record) error { got = append(got, *r); return nil })
	if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
		t.Fatalf("%s: errors differ: %v / %v", path, wantErr, gotErr)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d native records, %d lines", path, len(got), len(want))
	}
	values := 0
	for i := range got {
		g, w := got[i], want[i]
		if g.Op != w.Op || g.DB != w.DB || g.Table != w.Table || g.Pos != w.Pos || g.ServerID != w.ServerID ||
			g.TsMs != w.TsMs || !reflect.DeepEqual(g.GTID, w.GTID) {
			t.Fatalf("%s record %d:\n got %+v\nwant %+v", path, i, g, w)
		}
		for _, img := range [][2]map[string]interface{}{{g.Before, w.Before}, {g.After, w.After}} {
			if (img[0] == nil) != (img[1] == nil) || len(img[0]) != len(img[1]) {
				t.Fatalf("%s record %d: images %v / %v", path, i, img[0], img[1])
			}
			for col, jv := range img[1] {
				nv, ok := img[0][col]
				if !ok || !sameValue(nv, jv) {
					t.Fatalf("%s record %d column %s: native %#v, line %#v", path, i, col, nv, jv)
				}
				values++
			}
		}
	}
	return len(got), values
}

func TestUnitNativeEveryFixture(t *testing.T) {
	changes, values := 0, 0
	for _, p := range fixtureFiles(t) {
		c, v := compareNative(t, p, 0)
		changes += c
		values += v
	}
	if changes < 1000 || values < 10000 {
		t.Fatalf("only %d changes, %d values", changes, values)
	}
}

func TestUnitNativeTinyBatches(t *testing.T) {
	root := mustEnv(t, "CDC_FIXTURES")
	for _, rel := range []string{"mariadb-server-11.8.6/std_data/mdev6020-mysql-bin.000001",
		"rust_mysql_common/transaction_compression.000001",
		"mysql-binlog-connector-java/mysql-bin.sakila.gz"} {
		if n, _ := compareNative(t, filepath.Join(root, rel), 1); n == 0 {
			t.Fatalf("%s: no changes", rel)
		}
	}
}

func TestUnitBinaryTruncated(t *testing.T) {
	rd := &binReader{}
	if _, err := rd.parse([]byte("T\x00\x00\x00\x00\x05\x00\x00\x00ab"), nil); err == nil {
		t.Fatal("a cut table record parsed")
	}
	if _, err := rd.parse([]byte("Cc\x07\x00\x00\x00"), nil); err == nil {
		t.Fatal("a change of an unknown table parsed")
	}
}
