package template

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/orch-io/orch/structs"
)

// ServiceQuery is what a render read of the registry: the instances of one
// service (or, for the list of services, Services), and the index they were
// read at.
type ServiceQuery struct {
	Instances []*structs.ServiceRegistration
	Services  []*structs.ServiceRegistrationListStub
	Index     uint64
}

// render is one render of one template: the functions it may call and what
// they read.
type render struct {
	m    *Manager
	deps map[string]bool // service names read ("" for the list of services)
}

// funcs returns the template functions, all of structs.TemplateFunctions.
func (r *render) funcs() template.FuncMap {
	return template.FuncMap{
		"nomadService":  r.nomadService,
		"nomadServices": r.nomadServices,
		"env":           func(k string) string { return r.m.cfg.Env[k] },
		"file":          r.file,
		"split":         func(sep, s string) []string { return strings.Split(s, sep) },
		"join":          func(sep string, ss []string) string { return strings.Join(ss, sep) },
		"toJSON":        toJSON(false),
		"toJSONPretty":  toJSON(true),
		"parseJSON": func(s string) (any, error) {
			var v any
			err := json.Unmarshal([]byte(s), &v)
			return v, err
		},
		"timestamp": func(layout ...string) string {
			l := time.RFC3339
			if len(layout) > 0 {
				l = layout[0]
			}
			if l == "unix" { // consul-template's: seconds since the epoch
				return strconv.FormatInt(r.m.cfg.Now().Unix(), 10)
			}
			return r.m.cfg.Now().UTC().Format(l)
		},
		"toLower":    strings.ToLower,
		"toUpper":    strings.ToUpper,
		"trimSpace":  strings.TrimSpace,
		"replaceAll": func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"parseInt":   func(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) },
		"parseBool":  func(s string) (bool, error) { return strconv.ParseBool(strings.TrimSpace(s)) },
		"parseFloat": func(s string) (float64, error) { return strconv.ParseFloat(strings.TrimSpace(s), 64) },
		"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		// consul-template's argument orders: the piped value comes last.
		"in":           func(l, v any) (bool, error) { return in(l, v) },
		"contains":     func(v, l any) (bool, error) { return in(l, v) },
		"containsAny":  func(vs, l any) (bool, error) { return containsCount(vs, l, false) },
		"containsAll":  func(vs, l any) (bool, error) { return containsCount(vs, l, true) },
		"base64Encode": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64Decode": func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			return string(b), err
		},
		"regexMatch": func(re, s string) (bool, error) { return regexp.MatchString(re, s) },
		"regexReplaceAll": func(re, repl, s string) (string, error) {
			rx, err := regexp.Compile(re)
			if err != nil {
				return "", err
			}
			return rx.ReplaceAllString(s, repl), nil
		},
		"add":      arith(func(a, b int64) int64 { return a + b }),
		"subtract": arith(func(a, b int64) int64 { return a - b }),
		"multiply": arith(func(a, b int64) int64 { return a * b }),
		"loop":     loop,
		"envOrDefault": func(k, def string) string {
			if v, ok := r.m.cfg.Env[k]; ok {
				return v
			}
			return def
		},
		"byTag": byTag,
	}
}

// in reports whether l (a string, or a list of anything) holds v: a
// substring or an element, as consul-template's in.
func in(l, v any) (bool, error) {
	if s, ok := l.(string); ok {
		sub, ok := v.(string)
		if !ok {
			return false, fmt.Errorf("in: looking for %v (%T) in a string", v, v)
		}
		return strings.Contains(s, sub), nil
	}
	lv := reflect.ValueOf(l)
	if lv.Kind() != reflect.Slice && lv.Kind() != reflect.Array {
		return false, fmt.Errorf("in: cannot look into %T", l)
	}
	for i := range lv.Len() {
		if reflect.DeepEqual(lv.Index(i).Interface(), v) {
			return true, nil
		}
	}
	return false, nil
}

// containsCount reports whether l holds all (with all) or any of the
// list vs, as consul-template's containsAll and containsAny.
func containsCount(vs, l any, all bool) (bool, error) {
	vv := reflect.ValueOf(vs)
	if vv.Kind() != reflect.Slice && vv.Kind() != reflect.Array {
		return false, fmt.Errorf("expected a list to look for, got %T", vs)
	}
	for i := range vv.Len() {
		found, err := in(l, vv.Index(i).Interface())
		if err != nil {
			return false, err
		}
		if found != all {
			return found, nil
		}
	}
	return all, nil
}

// arith is consul-template's integer arithmetic: the piped value comes
// last, so {{ 5 | subtract 2 }} is 5 - 2.
func arith(op func(a, b int64) int64) func(b, a any) (int64, error) {
	return func(b, a any) (int64, error) {
		x, err := toInt64(a)
		if err != nil {
			return 0, err
		}
		y, err := toInt64(b)
		if err != nil {
			return 0, err
		}
		return op(x, y), nil
	}
}

func toInt64(v any) (int64, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return int64(rv.Float()), nil
	case reflect.String:
		return strconv.ParseInt(strings.TrimSpace(rv.String()), 10, 64)
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

// loop returns the integers from start (0 when only the end is given) up
// to, not including, end: {{ range loop 3 }} ranges over 0, 1, 2.
func loop(bounds ...any) ([]int64, error) {
	var start, end int64
	var err error
	switch len(bounds) {
	case 1:
		end, err = toInt64(bounds[0])
	case 2:
		if start, err = toInt64(bounds[0]); err == nil {
			end, err = toInt64(bounds[1])
		}
	default:
		return nil, fmt.Errorf("loop takes an end, or a start and an end; got %d arguments", len(bounds))
	}
	if err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	if end-start > 1<<16 {
		return nil, fmt.Errorf("loop: %d iterations, more than %d", end-start, 1<<16)
	}
	var out []int64
	for i := start; i < end; i++ {
		out = append(out, i)
	}
	return out, nil
}

// byTag groups instances by tag: {{ range $tag, $instances := nomadService
// "web" | byTag }}.
func byTag(instances []*Service) map[string][]*Service {
	out := map[string][]*Service{}
	for _, s := range instances {
		for _, tag := range s.Tags {
			out[tag] = append(out[tag], s)
		}
	}
	return out
}

// Service is one instance as templates see it: orch's registration
// (ServiceName, NodeID, Address, Port, Tags, ...) under the names Nomad's
// templates also use (consul-template's NomadService: Name, Node), so a
// template written for Nomad renders the same.
type Service struct {
	*structs.ServiceRegistration
	Name string
	Node string
	Tags ServiceTags
}

// ServiceSummary is one service of nomadServices: its name and the union
// of its instances' tags, as Nomad's (Name) and orch's API (ServiceName)
// name them.
type ServiceSummary struct {
	Name        string
	ServiceName string
	Tags        ServiceTags
}

// ServiceTags are tags; {{ if .Tags.Contains "v1" }} tests one, as in
// consul-template.
type ServiceTags []string

// Contains reports whether tag is one of t.
func (t ServiceTags) Contains(tag string) bool { return slices.Contains(t, tag) }

func serviceViews(regs []*structs.ServiceRegistration) []*Service {
	out := make([]*Service, len(regs))
	for i, r := range regs {
		out[i] = &Service{ServiceRegistration: r, Name: r.ServiceName, Node: r.NodeID, Tags: ServiceTags(r.Tags)}
	}
	return out
}

func toJSON(pretty bool) func(any) (string, error) {
	return func(v any) (string, error) {
		var b []byte
		var err error
		if pretty {
			b, err = json.MarshalIndent(v, "", "  ")
		} else {
			b, err = json.Marshal(v)
		}
		return string(b), err
	}
}

// nomadService returns the instances of a service, as Nomad's:
// `nomadService "name"`, `nomadService "tag.name"` (those with the tag),
// or `nomadService N "key" "name"` (N of them, chosen by rendezvous hashing
// on key).
func (r *render) nomadService(args ...any) ([]*Service, error) {
	var n int
	var key, query string
	switch len(args) {
	case 1:
		query, _ = args[0].(string)
	case 3:
		var err error
		if n, err = toInt(args[0]); err != nil {
			return nil, fmt.Errorf("nomadService: the count %v: %w", args[0], err)
		}
		key = fmt.Sprint(args[1])
		query, _ = args[2].(string)
	default:
		return nil, fmt.Errorf("nomadService takes a service name, or a count, a key and a service name; got %d arguments", len(args))
	}
	if query == "" {
		return nil, fmt.Errorf("nomadService: the service name must be a non-empty string")
	}
	// A service name holds no dot (an RFC 1123 label): "tag.name" splits
	// at the last one, so a tag may hold dots.
	name, tag := query, ""
	if i := strings.LastIndex(query, "."); i >= 0 {
		tag, name = query[:i], query[i+1:]
	}
	r.deps[name] = true
	q, err := r.m.service(name)
	if err != nil {
		return nil, err
	}
	regs := structs.ServicesWithTag(q.Instances, tag)
	if n > 0 {
		regs = structs.ChooseServices(regs, n, key)
	}
	return serviceViews(regs), nil
}

func toInt(v any) (int, error) {
	switch v := v.(type) {
	case int:
		return v, nil
	case string:
		return strconv.Atoi(v)
	}
	return 0, fmt.Errorf("not a number")
}

// nomadServices returns every service of the task's namespace, sorted by
// name, each with its instances' tags.
func (r *render) nomadServices() ([]*ServiceSummary, error) {
	r.deps[""] = true
	q, err := r.m.service("")
	if err != nil {
		return nil, err
	}
	out := make([]*ServiceSummary, len(q.Services))
	for i, s := range q.Services {
		out[i] = &ServiceSummary{Name: s.ServiceName, ServiceName: s.ServiceName, Tags: ServiceTags(s.Tags)}
	}
	slices.SortFunc(out, func(a, b *ServiceSummary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// file reads a file of the task's directory (a path relative to it) or an
// absolute path.
func (r *render) file(path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.m.cfg.TaskDir, path)
	}
	b, err := os.ReadFile(path)
	return string(b), err
}
