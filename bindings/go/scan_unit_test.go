package cdc

// Record.Scan: every typed value into the fields it fits, and a clear
// error for those it does not.

import (
	"encoding/json"
	"math"
	"math/big"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type scanBase struct {
	ID int64 `cdc:"id"`
}

type scanRow struct {
	scanBase
	Small   int8
	Big     uint64          `cdc:"big"`
	Flag    bool            `cdc:"flag"`
	F       float32         `cdc:"f"`
	D       float64         `cdc:"d"`
	Amount  Decimal         `cdc:"amount"`
	AmtText string          `cdc:"amount2"`
	AmtRat  *big.Rat        `cdc:"amount3"`
	When    time.Time       `cdc:"when"`
	Took    time.Duration   `cdc:"took"`
	Blob    []byte          `cdc:"blob"`
	Name    string          `cdc:"name"`
	Doc     json.RawMessage `cdc:"doc"`
	DocMap  map[string]int  `cdc:"doc2"`
	Null    *int64          `cdc:"nullable"`
	Set     *int64          `cdc:"set"`
	Any     interface{}     `cdc:"any"`
	Skipped string          `cdc:"-"`
	Missing string          `cdc:"not_in_row"`
	hidden  int
}

func TestUnitScan(t *testing.T) {
	when := time.Date(2026, 12, 6, 12, 0, 0, 123456000, time.UTC)
	r := &Record{Op: "c", native: true, After: map[string]interface{}{
		"id": int64(7), "SMALL": int64(-128), "big": uint64(math.MaxUint64), "flag": uint64(1),
		"f": 1.5, "d": 0.1, "amount": Decimal("-12.30"), "amount2": Decimal("99999999.99"),
		"amount3": Decimal("0.10"), "when": when, "took": 90 * time.Minute, "blob": []byte{0, 0xff},
		"name": "😀", "doc": json.RawMessage(`{"a":1}`), "doc2": json.RawMessage(`{"a":1,"b":2}`),
		"nullable": nil, "set": int64(5), "any": Decimal("1"), "Skipped": "x", "hidden": int64(1),
	}}
	var got scanRow
	got.Skipped, got.Missing = "keep", "keep"
	if err := r.Scan(true, &got); err != nil {
		t.Fatal(err)
	}
	five := int64(5)
	want := scanRow{scanBase: scanBase{7}, Small: -128, Big: math.MaxUint64, Flag: true, F: 1.5, D: 0.1,
		Amount: "-12.30", AmtText: "99999999.99", AmtRat: big.NewRat(1, 10), When: when, Took: 90 * time.Minute,
		Blob: []byte{0, 0xff}, Name: "😀", Doc: json.RawMessage(`{"a":1}`), DocMap: map[string]int{"a": 1, "b": 2},
		Null: nil, Set: &five, Any: Decimal("1"), Skipped: "keep", Missing: "keep"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Scan:\n got %+v\nwant %+v", got, want)
	}

	// what does not fit is an error naming the column and the field
	bad := []struct {
		val  interface{}
		dst  interface{}
		says string
	}{
		{int64(300), &struct{ X int8 }{}, "300 does not fit a int8"},
		{uint64(math.MaxUint64), &struct{ X int64 }{}, "does not fit a int64"},
		{int64(-1), &struct{ X uint32 }{}, "-1 does not fit a uint32"},
		{int64(2), &struct{ X bool }{}, "only 0 and 1"},
		{nil, &struct{ X int }{}, "SQL NULL needs a pointer"},
		{Decimal("1.5"), &struct{ X float64 }{}, "a DECIMAL goes into"},
		{0.1, &struct{ X float32 }{}, "not exact as a float32"},
		{int64(1), &struct{ X float64 }{}, "an integer goes into an integer field"},
		{"text", &struct{ X time.Time }{}, "a string does not go into a time.Time field"},
		{json.RawMessage(`[1]`), &struct{ X map[string]int }{}, "cannot unmarshal"},
	}
	for _, b := range bad {
		rec := &Record{Op: "c", native: true, After: map[string]interface{}{"X": b.val}}
		err := rec.Scan(true, b.dst)
		if err == nil || !strings.Contains(err.Error(), b.says) || !strings.Contains(err.Error(), `column "X" into field X`) {
			t.Fatalf("%T %v into %T: %v", b.val, b.val, b.dst, err)
		}
	}
	if err := r.Scan(true, got); err == nil { // not a pointer
		t.Fatal("Scan into a struct value succeeded")
	}
	if err := r.Scan(false, &got); err == nil || !strings.Contains(err.Error(), "no before image") {
		t.Fatalf("Scan of a missing image: %v", err)
	}
}

// Every row of a fixture, read natively, scans into a struct of
// interface{} fields holding exactly Record.Value's values, and into typed
// fields where the column's type is known.
func TestUnitScanFixture(t *testing.T) {
	root := mustEnv(t, "CDC_FIXTURES")
	// this binlog has no column names (binlog_row_metadata=MINIMAL): the
	// columns are @1, @2, ... (film_id, title, description, ..., rental_rate
	// @8, ..., last_update @13)
	type film struct {
		FilmID      uint16    `cdc:"@1"`
		Title       string    `cdc:"@2"`
		Description *string   `cdc:"@3"`
		RentalRate  Decimal   `cdc:"@8"`
		LastUpdate  time.Time `cdc:"@13"`
	}
	n := 0
	err := DecodeFileNative(filepath.Join(root, "mysql-binlog-connector-java/mysql-bin.sakila.gz"), 0,
		func(r *Record) error {
			if r.Op == "" || r.After == nil {
				return nil
			}
			if r.Table == "film" {
				var f film
				if err := r.Scan(true, &f); err != nil {
					return err
				}
				id, _ := r.Value(true, "@1")
				rate, _ := r.Value(true, "@8")
				when, _ := r.Value(true, "@13")
				desc, _ := r.Value(true, "@3")
				if int64(f.FilmID) != id.(int64) || f.RentalRate != rate.(Decimal) || f.Title == "" ||
					!f.LastUpdate.Equal(when.(time.Time)) || f.Description == nil || *f.Description != desc.(string) {
					t.Fatalf("film %+v from %v", f, r.After)
				}
				n++
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no film rows scanned")
	}
}
