package cdc

// Struct-like row access: Record.Scan fills a struct from a row image.

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"time"
)

// scanField is one settable field of a struct and the column it reads.
type scanField struct {
	index []int
	col   string
}

var scanPlans sync.Map // reflect.Type -> []scanField

// scanPlan lists the fields of struct type t that take a column: the name
// in a `cdc:"name"` tag, else the field's own name; `cdc:"-"` and
// unexported fields take none. Embedded structs are walked.
func scanPlan(t reflect.Type) []scanField {
	if p, ok := scanPlans.Load(t); ok {
		return p.([]scanField)
	}
	var out []scanField
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			tag := f.Tag.Get("cdc")
			if tag == "-" {
				continue
			}
			if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() {
				continue
			}
			name := tag
			if name == "" {
				name = f.Name
			}
			out = append(out, scanField{idx, name})
		}
	}
	walk(t, nil)
	scanPlans.Store(t, out)
	return out
}

// Scan copies the after image (after true) or the before image of a row
// change into the struct dst points to, column by column: a field takes
// the column named in its `cdc:"name"` tag, else the column with the
// field's name (an exact match first, then one that differs only in
// case); `cdc:"-"` skips a field. Columns without a field, and fields
// without a column in the image, are left alone.
//
// Values convert as they are typed (Record.Value; use a native stream,
// SetNative(true) or DecodeFileNative, for DECIMAL, temporal and binary
// types), and only without loss: integers into any integer field they
// fit (BIT and TINYINT(1) 0/1 into bool too), float64 into float64 (and
// float32 when exact), Decimal into Decimal, string or *big.Rat/big.Rat,
// time.Time and time.Duration into their own types, []byte and string
// into either, a JSON document (json.RawMessage) into json.RawMessage,
// []byte, or any type json.Unmarshal fills (map, slice, struct, ...), and
// anything into an interface{} field. SQL NULL sets a pointer, slice, map
// or interface field to nil; a pointer field otherwise gets a new value.
// A value that does not fit (a NULL into an int, 300 into an int8, a
// DECIMAL into a float64) is an error naming the column and the field;
// fields before it may have been set.
func (r *Record) Scan(after bool, dst interface{}) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Ptr || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("cdc: Scan needs a non-nil pointer to a struct, not %T", dst)
	}
	row := r.Before
	if after {
		row = r.After
	}
	if row == nil {
		return fmt.Errorf("cdc: Scan: the record has no %s image", map[bool]string{true: "after", false: "before"}[after])
	}
	sv := v.Elem()
	for _, f := range scanPlan(sv.Type()) {
		col, ok := f.col, false
		if _, ok = row[col]; !ok {
			for name := range row {
				if strings.EqualFold(name, f.col) {
					col, ok = name, true
					break
				}
			}
		}
		if !ok {
			continue
		}
		val, err := r.Value(after, col)
		if err != nil {
			return fmt.Errorf("cdc: Scan: column %q: %w", col, err)
		}
		field := sv.FieldByIndex(f.index)
		if err := assign(field, val); err != nil {
			return fmt.Errorf("cdc: Scan: column %q into field %s (%s): %w", col,
				sv.Type().FieldByIndex(f.index).Name, field.Type(), err)
		}
	}
	return nil
}

var (
	typeTime     = reflect.TypeOf(time.Time{})
	typeDuration = reflect.TypeOf(time.Duration(0))
	typeDecimal  = reflect.TypeOf(Decimal(""))
	typeRat      = reflect.TypeOf(big.Rat{})
)

// assign sets field to val without loss, or says why it cannot.
func assign(field reflect.Value, val interface{}) error {
	ft := field.Type()
	if val == nil {
		switch ft.Kind() {
		case reflect.Ptr, reflect.Slice, reflect.Map, reflect.Interface:
			field.Set(reflect.Zero(ft))
			return nil
		}
		return fmt.Errorf("SQL NULL needs a pointer, slice, map or interface field")
	}
	if ft.Kind() == reflect.Interface {
		rv := reflect.ValueOf(val)
		if !rv.Type().AssignableTo(ft) {
			return fmt.Errorf("a %T does not implement %s", val, ft)
		}
		field.Set(rv)
		return nil
	}
	if ft.Kind() == reflect.Ptr && ft != reflect.TypeOf((*big.Rat)(nil)) {
		p := reflect.New(ft.Elem())
		if err := assign(p.Elem(), val); err != nil {
			return err
		}
		field.Set(p)
		return nil
	}
	switch x := val.(type) {
	case int64:
		return assignInt(field, x, x >= 0, uint64(x))
	case uint64:
		return assignInt(field, int64(x), true, x)
	case float64:
		switch ft.Kind() {
		case reflect.Float64:
			field.SetFloat(x)
			return nil
		case reflect.Float32:
			if float64(float32(x)) != x && !math.IsNaN(x) {
				return fmt.Errorf("%v is not exact as a float32", x)
			}
			field.SetFloat(x)
			return nil
		}
	case Decimal:
		switch {
		case ft == typeDecimal:
			field.Set(reflect.ValueOf(x))
			return nil
		case ft.Kind() == reflect.String:
			field.SetString(string(x))
			return nil
		case ft == typeRat:
			field.Set(reflect.ValueOf(*x.Rat()))
			return nil
		case ft == reflect.TypeOf((*big.Rat)(nil)):
			field.Set(reflect.ValueOf(x.Rat()))
			return nil
		}
		return fmt.Errorf("a DECIMAL goes into a Decimal, string or big.Rat field, exactly")
	case time.Time:
		if ft == typeTime {
			field.Set(reflect.ValueOf(x))
			return nil
		}
	case time.Duration:
		if ft == typeDuration {
			field.SetInt(int64(x))
			return nil
		}
	case json.RawMessage:
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8 {
			field.SetBytes(append([]byte(nil), x...))
			return nil
		}
		if ft.Kind() == reflect.String { // the document's text
			field.SetString(string(x))
			return nil
		}
		return unmarshalInto(field, x)
	case map[string]interface{}, []interface{}: // a document from JSON lines
		doc, err := json.Marshal(x)
		if err != nil {
			return err
		}
		return unmarshalInto(field, doc)
	case []byte:
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8 {
			field.SetBytes(append([]byte(nil), x...))
			return nil
		}
		if ft.Kind() == reflect.String {
			field.SetString(string(x))
			return nil
		}
	case string:
		if ft.Kind() == reflect.String {
			field.SetString(x)
			return nil
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8 {
			field.SetBytes([]byte(x))
			return nil
		}
	case bool:
		if ft.Kind() == reflect.Bool {
			field.SetBool(x)
			return nil
		}
	}
	return fmt.Errorf("a %T does not go into a %s field", val, ft)
}

// unmarshalInto fills field from a JSON document as json.Unmarshal does.
func unmarshalInto(field reflect.Value, doc []byte) error {
	p := reflect.New(field.Type())
	if err := json.Unmarshal(doc, p.Interface()); err != nil {
		return err
	}
	field.Set(p.Elem())
	return nil
}

// assignInt sets an integer (i, or u when nonneg) into an integer or
// bool field, checking its range.
func assignInt(field reflect.Value, i int64, nonneg bool, u uint64) error {
	ft := field.Type()
	switch ft.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if ft == typeDuration {
			break
		}
		if nonneg && u > math.MaxInt64 {
			return fmt.Errorf("%d does not fit a %s", u, ft)
		}
		if field.OverflowInt(i) {
			return fmt.Errorf("%d does not fit a %s", i, ft)
		}
		field.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !nonneg || field.OverflowUint(u) {
			if nonneg {
				return fmt.Errorf("%d does not fit a %s", u, ft)
			}
			return fmt.Errorf("%d does not fit a %s", i, ft)
		}
		field.SetUint(u)
		return nil
	case reflect.Bool:
		if nonneg && u <= 1 {
			field.SetBool(u == 1)
			return nil
		}
		return fmt.Errorf("only 0 and 1 go into a bool, not %d", i)
	case reflect.Float64, reflect.Float32:
		return fmt.Errorf("an integer goes into an integer field (a float may round it)")
	}
	if nonneg && u > math.MaxInt64 {
		return fmt.Errorf("a uint64 does not go into a %s field", ft)
	}
	return fmt.Errorf("an int64 does not go into a %s field", ft)
}
