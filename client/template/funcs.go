package template

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
			return r.m.cfg.Now().UTC().Format(l)
		},
		"toLower":    strings.ToLower,
		"toUpper":    strings.ToUpper,
		"trimSpace":  strings.TrimSpace,
		"replaceAll": func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"parseInt":   func(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) },
		"parseBool":  func(s string) (bool, error) { return strconv.ParseBool(strings.TrimSpace(s)) },
	}
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
func (r *render) nomadService(args ...any) ([]*structs.ServiceRegistration, error) {
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
	return regs, nil
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
func (r *render) nomadServices() ([]*structs.ServiceRegistrationListStub, error) {
	r.deps[""] = true
	q, err := r.m.service("")
	if err != nil {
		return nil, err
	}
	out := slices.Clone(q.Services)
	slices.SortFunc(out, func(a, b *structs.ServiceRegistrationListStub) int {
		return strings.Compare(a.ServiceName, b.ServiceName)
	})
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
