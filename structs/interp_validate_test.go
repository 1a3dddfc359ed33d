package structs

import (
	"strings"
	"testing"
)

func TestMalformedInterpolation(t *testing.T) {
	for s, want := range map[string]string{
		"plain":                 "",
		"${NOMAD_PORT_http}":    "",
		"a ${x} b ${meta.rack}": "",
		"$$ and $ alone":        "",
		"${unterminated":        "unterminated",
		"ok ${x} then ${":       "unterminated",
		"${}":                   "empty",
		"${ }-x":                "empty",
		"${NOMAD_JOB_NAME}-${}": "empty",
	} {
		got := malformedInterpolation(s)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
}

func TestValidateReportsMalformedInterpolation(t *testing.T) {
	job := testJobForInterp()
	err := job.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`config.args[1] = "${NOMAD_PORT_http": has an unterminated`,
		`env["X"] = "${}": has an empty`, `meta["m"] = "a-${"`, `service[0].name = "${}-web"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func testJobForInterp() *Job {
	return &Job{ID: "j", Name: "j", Type: JobTypeService, Region: "global", Namespace: "default", Priority: 50,
		Datacenters: []string{"dc1"},
		TaskGroups: []*TaskGroup{{Name: "g", Count: 1, EphemeralDisk: &EphemeralDisk{SizeMB: 300},
			Services: []*Service{{Name: "${}-web", Provider: ServiceProviderNomad}},
			Tasks: []*Task{{Name: "t", Driver: "raw_exec", Resources: &Resources{CPU: 100, MemoryMB: 64},
				Config: map[string]any{"command": "/bin/echo", "args": []any{"ok ${NOMAD_ALLOC_ID}", "${NOMAD_PORT_http"}},
				Env:    map[string]string{"X": "${}"}, Meta: map[string]string{"m": "a-${"}}}}}}
}
