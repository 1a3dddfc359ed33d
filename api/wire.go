package api

// The wire: the JSON of the HTTP API, shaped as Nomad's (github.com/hashicorp/
// nomad/api's types): the same names and nesting, time.Time where Nomad has
// it (RFC3339 text), durations as integer nanoseconds, pointers where Nomad
// tells "absent" from "zero" (a group's Count, a task's KillTimeout). The
// types in wire_*.go are that JSON and nothing else; the conversions to and
// from orch's domain model (structs) in convert_*.go are the one place the
// two meet. The agent's HTTP layer encodes its answers with them and decodes
// request bodies into them; this package's client decodes its answers with
// them and hands structs to its callers (the CLI), so both sides speak the
// same JSON.
//
// Rules the types keep (the conformance tests in internal/conformance check
// them against Nomad's own client):
//   - every field orch sends is a field of Nomad's type of the same name, of
//     the same JSON type, so that Nomad's client decodes every answer, even
//     strictly;
//   - every field Nomad's client sends in a request body is known here: the
//     fields orch acts on are typed, the others are Unsupported, and a body
//     that sets one is refused with an error naming it (UnsupportedFields),
//     never silently dropped.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Unsupported is a field of Nomad's JSON that orch does not act on. It keeps
// the raw JSON it was decoded from, so that a request that sets it (anything
// but absent, null or the zero value of its type) can be refused by name. It
// encodes as null.
type Unsupported json.RawMessage

// MarshalJSON encodes the field as null: orch has no value for it.
func (Unsupported) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// UnmarshalJSON keeps the raw value.
func (u *Unsupported) UnmarshalJSON(b []byte) error {
	*u = append((*u)[:0], b...)
	return nil
}

// Set reports whether the field carries a value: not absent, null, false, 0,
// "", [] or {}. Zero values count as unset because Nomad's client sends every
// field of its structs, set or not.
func (u Unsupported) Set() bool {
	b := bytes.TrimSpace(u)
	if len(b) == 0 {
		return false
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return true
	}
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

var unsupportedType = reflect.TypeFor[Unsupported]()

// UnsupportedFields returns the path of every Unsupported field that is set
// in v (a wire value, or a pointer to one), as "Job.TaskGroups[0].Tasks[1].Vault"
// under the name root, in field order.
func UnsupportedFields(root string, v any) []string {
	var out []string
	walkUnsupported(root, reflect.ValueOf(v), &out)
	return out
}

func walkUnsupported(path string, v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkUnsupported(path, v.Elem(), out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fp := f.Name
			switch {
			case f.Anonymous:
				fp = path
			case path != "":
				fp = path + "." + f.Name
			}
			if f.Type == unsupportedType {
				if v.Field(i).Interface().(Unsupported).Set() {
					*out = append(*out, fp)
				}
				continue
			}
			walkUnsupported(fp, v.Field(i), out)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			walkUnsupported(fmt.Sprintf("%s[%d]", path, i), v.Index(i), out)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			walkUnsupported(fmt.Sprintf("%s[%q]", path, k.String()), v.MapIndex(k), out)
		}
	}
}

// nanosTime is a unix-nanosecond time of structs as Nomad's time.Time: the
// zero time for 0.
func nanosTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// timeNanos is nanosTime's inverse.
func timeNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// deref returns *p, or def when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
