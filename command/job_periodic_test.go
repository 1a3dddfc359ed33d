package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

func TestJobDispatchAndPeriodicForce(t *testing.T) {
	a := startAgent(t)
	param := structstest.Job("enc")
	param.Type, param.Datacenters = structs.JobTypeBatch, []string{"nowhere"}
	param.ParameterizedJob = &structs.ParameterizedJobConfig{Payload: "optional", MetaRequired: []string{"in"}}
	a.register(t, param)
	per := structstest.Job("nightly")
	per.Type, per.Datacenters = structs.JobTypeBatch, []string{"nowhere"}
	per.Periodic = &structs.PeriodicConfig{Enabled: true, Specs: []string{"0 3 * * *"}}
	a.register(t, per)

	payload := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(payload, []byte(`{"x":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "job", "dispatch", "-detach", "-address", a.addr, "-meta", "in=a.mp4", "-idempotency-token", "t1", "enc", payload)
	if r.code != 0 || !strings.Contains(r.stdout, "Dispatched Job ID = enc/dispatch-") {
		t.Fatalf("dispatch: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	childID := strings.TrimSpace(strings.TrimPrefix(strings.Split(r.stdout, "\n")[0], "Dispatched Job ID ="))
	if c := a.job(t, childID); c == nil || string(c.Payload) != `{"x":1}` || c.Meta["in"] != "a.mp4" {
		t.Errorf("dispatched child: %+v", c)
	}
	r = runCLI(t, "job", "dispatch", "-detach", "-address", a.addr, "-meta", "in=a.mp4", "-idempotency-token", "t1", "enc")
	if r.code != 0 || !strings.Contains(r.stdout, childID) {
		t.Errorf("dispatch with the same token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-meta", "bad", "enc"}, `invalid -meta "bad": must be key=value`},
		{[]string{"-meta", "in=x", "-meta", "other=y", "enc"}, `meta "other": not allowed`},
		{[]string{"enc"}, `meta "in": required`},
	} {
		r := runCLI(t, append([]string{"job", "dispatch", "-detach", "-address", a.addr}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("dispatch %v: exit %d, stderr %q; want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}

	r = runCLI(t, "job", "periodic", "force", "-detach", "-address", a.addr, "nightly")
	if r.code != 0 || len(strings.TrimSpace(r.stdout)) != 36 {
		t.Fatalf("periodic force: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "job", "status", "-address", a.addr, "nightly")
	for _, want := range []string{"Periodic             = true", "Next Periodic Launch", "Children Job Summary", "Previously Launched Jobs", "nightly/periodic-"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("job status nightly lacks %q: exit %d\n%s%s", want, r.code, r.stdout, r.stderr)
		}
	}
	r = runCLI(t, "job", "status", "-address", a.addr, "enc")
	if r.code != 0 || !strings.Contains(r.stdout, "Dispatched Jobs") || !strings.Contains(r.stdout, childID) {
		t.Errorf("job status enc: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "job", "status", "-address", a.addr)
	if r.code != 0 || !strings.Contains(r.stdout, "batch/parameterized (children: ") {
		t.Errorf("job list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
