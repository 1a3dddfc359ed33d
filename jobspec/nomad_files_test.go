package jobspec

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
)

// Job files written as Nomad's users write them (from its tutorials and
// docs: native service discovery with checks, canary updates, templates
// reading the registry) parse and validate as `orch job validate` checks
// them, and keep what they say. testdata/nomad holds them.
func TestNomadStyleServiceJobFilesValidate(t *testing.T) {
	want := map[string]struct {
		services, checks, templates int
		sample                      string // one service's name, port and first check type
	}{
		"demo-webapp.nomad.hcl":    {services: 1, checks: 1, sample: "demo-webapp http http"},
		"nginx.nomad.hcl":          {services: 1, templates: 1, sample: "nginx http "},
		"redis.nomad.hcl":          {services: 1, checks: 2, sample: "redis-cache db tcp"},
		"product-api.nomad.hcl":    {services: 1, checks: 1, templates: 2, sample: "product-api product-api http"},
		"service-lookup.nomad.hcl": {templates: 2},
	}
	restarts := map[string]string{} // file → its first check's check_restart
	waits := map[string]string{}    // file → a template's wait
	files, err := filepath.Glob("testdata/nomad/*.hcl")
	if err != nil || len(files) != len(want) {
		t.Fatalf("testdata/nomad: %v %v, want the %d files of this test", files, err, len(want))
	}
	for _, path := range files {
		w, ok := want[filepath.Base(path)]
		if !ok {
			t.Errorf("%s: not known to this test", path)
			continue
		}
		job, err := ParseFile(path, Options{})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		c := job.Copy()
		c.Canonicalize()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		var services, checks, templates int
		var sample string
		for _, tg := range c.TaskGroups {
			all := tg.Services
			for _, task := range tg.Tasks {
				all = append(all, task.Services...)
				templates += len(task.Templates)
				for _, tm := range task.Templates {
					if tm.Wait != nil {
						waits[filepath.Base(path)] = fmt.Sprintf("%v %v", tm.Wait.Min, tm.Wait.Max)
					}
				}
			}
			for _, s := range all {
				services++
				checks += len(s.Checks)
				if sample == "" {
					first := ""
					if len(s.Checks) > 0 {
						first = s.Checks[0].Type
					}
					sample = strings.Join([]string{s.Name, s.PortLabel, first}, " ")
					if len(s.Checks) > 0 && s.Checks[0].CheckRestart != nil {
						r := s.Checks[0].CheckRestart
						restarts[filepath.Base(path)] = fmt.Sprintf("%d %v", r.Limit, r.Grace)
					}
				}
			}
		}
		if services != w.services || checks != w.checks || templates != w.templates || sample != w.sample {
			t.Errorf("%s: %d services, %d checks, %d templates, first %q; want %d, %d, %d, %q",
				path, services, checks, templates, sample, w.services, w.checks, w.templates, w.sample)
		}
	}
	// A service's check_restart is its checks' (demo-webapp's), a check's
	// own is kept (redis' script check has one, its tcp check none).
	if want := map[string]string{"demo-webapp.nomad.hcl": "3 10s"}; !maps.Equal(restarts, want) {
		t.Errorf("check_restart of the first checks %v, want %v", restarts, want)
	}
	if want := map[string]string{"nginx.nomad.hcl": "2s 10s"}; !maps.Equal(waits, want) {
		t.Errorf("template waits %v, want %v", waits, want)
	}
	if job, err := ParseFile("testdata/nomad/redis.nomad.hcl", Options{}); err != nil {
		t.Error(err)
	} else if s := job.TaskGroups[0].Services[0]; s.Meta["role"] != "cache" || s.CanaryMeta["role"] != "cache-canary" {
		t.Errorf("redis' meta %v, canary_meta %v", s.Meta, s.CanaryMeta)
	}
}
