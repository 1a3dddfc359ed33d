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

// serverFieldsNomadSends are fields Nomad's own server sends (its structs
// have them) that its client's types lack, as paths without list indices or
// map keys, matched at the end of a field's path: an allocation list entry's
// DesiredTransition, the Delay of each reschedule event, and a deployment
// group's AutoPromote.
var serverFieldsNomadSends = []string{"DesiredTransition", "RescheduleTracker.Events.Delay", "TaskGroups.AutoPromote"}

// orchExtensions are the paths of fields orch sends that Nomad's types do
// not have: orch's own settings, documented where they are defined. Nomad's
// client ignores them. client.node_id is the agent's node in
// /v1/agent/health (structs.AgentHealth), which `orch node drain -self` reads.
var orchExtensions = []string{"SchedulerConfig.SampleSize", "client.node_id"}

// isServerField reports whether the field at path (as unknownKeys builds
// it) is one of serverFieldsNomadSends.
func isServerField(path string) bool {
	var b strings.Builder
	depth := 0
	for _, r := range path { // drop [i] and ["key"]
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	p := strings.TrimPrefix(b.String(), ".")
	return slices.ContainsFunc(serverFieldsNomadSends, func(f string) bool { return p == f || strings.HasSuffix(p, "."+f) })
}

// strictGet GETs path from the agent and decodes its JSON into a new T (a
// type of Nomad's client) strictly: a JSON type that does not fit fails, and
// so does a key T has no field for (unknownKeys).
func strictGet[T any](t *testing.T, base, path string) *T {
	t.Helper()
	return strictGetAuth[T](t, base, "", path)
}

// strictGetAuth is strictGet with a token.
func strictGetAuth[T any](t *testing.T, base, token, path string) *T {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
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
				case slices.Contains(bodyFieldsNomadSends, k), slices.Contains(orchExtensions, strings.TrimPrefix(path+"."+k, ".")),
					isServerField(path + "." + k):
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
	// Fields Nomad's server sends are allowed where they belong, not elsewhere.
	raw = map[string]any{"List": []any{map[string]any{"A": 1.0, "DesiredTransition": map[string]any{"Migrate": true},
		"RescheduleTracker": map[string]any{"Events": []any{map[string]any{"Delay": 1.0}}}, "Delay": 2.0}}}
	if got := unknownKeys("", raw, reflect.TypeFor[outer]()); !slices.Equal(got, []string{"List[0].Delay", "List[0].RescheduleTracker"}) {
		t.Errorf("unknown keys with Nomad's server fields: %q", got)
	}
	if err := json.Unmarshal([]byte(`{"In": {"A": "1"}}`), new(outer)); err == nil {
		t.Error("a string decoded into an int")
	}
}
