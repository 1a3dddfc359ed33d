package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// bodyFieldsNomadSends are keys Nomad's own server puts in answers whose
// types in Nomad's client lack them (the client reads the same values from
// headers): allowed in every object.
var bodyFieldsNomadSends = []string{"Index"}

// orchExtensions are the paths of fields orch sends that Nomad's types do
// not have: orch's own settings, documented where they are defined. Nomad's
// client ignores them.
var orchExtensions = []string{"SchedulerConfig.SampleSize"}

// strictGet GETs path from the agent and decodes its JSON into a new T (a
// type of Nomad's client) strictly: a JSON type that does not fit fails, and
// so does a key T has no field for (unknownKeys).
func strictGet[T any](t *testing.T, base, path string) *T {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, raw, err)
	}
	return strictDecode[T](t, "GET "+path, raw)
}

// strictDecode decodes raw into a new T strictly (see strictGet).
func strictDecode[T any](t *testing.T, what string, raw []byte) *T {
	t.Helper()
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: Nomad's %T does not decode the answer: %v\n%s", what, out, err, raw)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	if unknown := unknownKeys("", generic, reflect.TypeFor[T]()); len(unknown) > 0 {
		t.Errorf("%s: fields Nomad's %T does not have: %s", what, out, strings.Join(unknown, ", "))
	}
	return out
}

// unknownKeys walks JSON value v alongside Go type typ and returns the paths
// of object keys that encoding/json would drop (no field of that name, case
// folded as encoding/json matches them).
func unknownKeys(path string, v any, typ reflect.Type) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		switch typ.Kind() {
		case reflect.Map:
			for k, e := range v {
				out = append(out, unknownKeys(fmt.Sprintf("%s[%q]", path, k), e, typ.Elem())...)
			}
		case reflect.Struct:
			fields := jsonFields(typ)
			for k, e := range v {
				ft, ok := fields[strings.ToLower(k)]
				switch {
				case ok:
					out = append(out, unknownKeys(path+"."+k, e, ft)...)
				case slices.Contains(bodyFieldsNomadSends, k), slices.Contains(orchExtensions, strings.TrimPrefix(path+"."+k, ".")):
				default:
					out = append(out, strings.TrimPrefix(path+"."+k, "."))
				}
			}
		}
	case []any:
		if typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array {
			for i, e := range v {
				out = append(out, unknownKeys(fmt.Sprintf("%s[%d]", path, i), e, typ.Elem())...)
			}
		}
	}
	slices.Sort(out)
	return out
}

// jsonFields maps the lower-cased JSON name of every field of struct type
// typ (embedded structs' fields included) to its type.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, t := range jsonFields(ft) {
					out[k] = t
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[strings.ToLower(name)] = f.Type
	}
	return out
}

// The strict decoder itself: a key Nomad's type lacks is reported with its
// path, and a wrong JSON type fails.
func TestUnknownKeys(t *testing.T) {
	type inner struct{ A int }
	type outer struct {
		In   *inner
		List []inner
		M    map[string]inner
	}
	raw := map[string]any{"In": map[string]any{"A": 1.0, "B": 2.0}, "List": []any{map[string]any{"C": 1.0}},
		"M": map[string]any{"k": map[string]any{"a": 1.0, "D": 1.0}}, "Index": 3.0, "E": true}
	got := unknownKeys("", raw, reflect.TypeFor[outer]())
	want := []string{"E", "In.B", "List[0].C", `M["k"].D`}
	if !slices.Equal(got, want) {
		t.Errorf("unknown keys %q, want %q", got, want)
	}
	if err := json.Unmarshal([]byte(`{"In": {"A": "1"}}`), new(outer)); err == nil {
		t.Error("a string decoded into an int")
	}
}
