package engine

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/sipswitch/sipswitch/storage"
)

// The binder moves an object between its three forms: the struct the code
// uses, the canonical Values the specs validate, and the storage Record.
// Fields are matched by json tag, which is also the parameter and column
// name, so adding a parameter is one struct field, one spec line and one
// column.

type boundField struct {
	name  string
	index int
	kind  reflect.Kind
}

var fieldCache sync.Map // reflect.Type -> []boundField

func boundFields(t reflect.Type) []boundField {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]boundField)
	}
	var fields []boundField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		switch sf.Type.Kind() {
		case reflect.String, reflect.Int, reflect.Int64, reflect.Float64:
			fields = append(fields, boundField{name: name, index: i, kind: sf.Type.Kind()})
		}
	}
	fieldCache.Store(t, fields)
	return fields
}

func structValue(obj any) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("engine: bind needs a pointer to a struct, got %T", obj))
	}
	return v.Elem()
}

// bindValues sets the object's fields from canonical Values; fields absent
// from vals are left as they are.
func bindValues(obj any, vals Values) error {
	v := structValue(obj)
	for _, f := range boundFields(v.Type()) {
		s, ok := vals[f.name]
		if !ok {
			continue
		}
		fv := v.Field(f.index)
		switch f.kind {
		case reflect.String:
			fv.SetString(s)
		case reflect.Int, reflect.Int64:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil && s != "" {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			fv.SetInt(n)
		case reflect.Float64:
			x, err := strconv.ParseFloat(s, 64)
			if err != nil && s != "" {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			fv.SetFloat(x)
		}
	}
	return nil
}

// bindRecord sets the object's fields from a storage record.
func bindRecord(obj any, rec storage.Record) {
	v := structValue(obj)
	for _, f := range boundFields(v.Type()) {
		val, ok := rec[f.name]
		if !ok {
			continue
		}
		fv := v.Field(f.index)
		switch f.kind {
		case reflect.String:
			if s, ok := val.(string); ok {
				fv.SetString(s)
			}
		case reflect.Int, reflect.Int64:
			switch n := val.(type) {
			case int64:
				fv.SetInt(n)
			case float64:
				fv.SetInt(int64(n))
			}
		case reflect.Float64:
			switch n := val.(type) {
			case float64:
				fv.SetFloat(n)
			case int64:
				fv.SetFloat(float64(n))
			}
		}
	}
}

// recordOf converts canonical Values to a storage record typed by spec,
// keeping only parameters the table stores.
func recordOf(spec *Spec, vals Values, columns map[string]bool) storage.Record {
	rec := make(storage.Record, len(vals))
	for _, p := range spec.Params {
		if p.NotStored || !columns[p.Name] {
			continue
		}
		s, ok := vals[p.Name]
		if !ok {
			continue
		}
		switch p.Type {
		case Integer:
			n, _ := strconv.ParseInt(s, 10, 64)
			rec[p.Name] = n
		case Decimal:
			f, _ := strconv.ParseFloat(s, 64)
			rec[p.Name] = f
		default:
			rec[p.Name] = s
		}
	}
	return rec
}

// valuesOfRecord returns a record as canonical Values.
func valuesOfRecord(rec storage.Record) Values {
	out := make(Values, len(rec))
	for k, v := range rec {
		switch x := v.(type) {
		case int64:
			out[k] = strconv.FormatInt(x, 10)
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// columnSet is a struct's stored columns in field order, from the same
// json tags as bindValues and bindRecord: a scan or insert names them and
// passes the fields in that order, so no column list is written by hand.
// The fields are reached by offset: a snapshot scans a million routes, and
// reflect.Value per field per row cost 60 times the hand-written list
// (BenchmarkColumnTargets); the type parameter ties the offsets to T.
type columnSet[T any] struct {
	names  []string
	fields []columnField
}

type columnField struct {
	off  uintptr
	kind reflect.Kind
}

// columnsOf is the columns of T, less those in except.
func columnsOf[T any](except ...string) columnSet[T] {
	var cs columnSet[T]
	t := reflect.TypeFor[T]()
	for _, f := range boundFields(t) {
		if slices.Contains(except, f.name) {
			continue
		}
		cs.names = append(cs.names, f.name)
		cs.fields = append(cs.fields, columnField{off: t.Field(f.index).Offset, kind: f.kind})
	}
	return cs
}

// targets fills dst (len(cs.names)) with pointers to obj's fields, for a
// row scan.
func (cs columnSet[T]) targets(obj *T, dst []any) {
	base := unsafe.Pointer(obj)
	for i, f := range cs.fields {
		p := unsafe.Add(base, f.off)
		switch f.kind {
		case reflect.String:
			dst[i] = (*string)(p)
		case reflect.Int:
			dst[i] = (*int)(p)
		case reflect.Int64:
			dst[i] = (*int64)(p)
		case reflect.Float64:
			dst[i] = (*float64)(p)
		}
	}
}

// values fills dst (len(cs.names)) with obj's fields, for an insert. An
// int goes as an int64, the type the drivers take: database/sql would
// convert it, by reflection, value by value (call records: a dozen per
// row).
func (cs columnSet[T]) values(obj *T, dst []any) {
	base := unsafe.Pointer(obj)
	for i, f := range cs.fields {
		p := unsafe.Add(base, f.off)
		switch f.kind {
		case reflect.String:
			dst[i] = *(*string)(p)
		case reflect.Int:
			dst[i] = int64(*(*int)(p))
		case reflect.Int64:
			dst[i] = *(*int64)(p)
		case reflect.Float64:
			dst[i] = *(*float64)(p)
		}
	}
}
