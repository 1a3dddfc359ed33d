package command

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

func TestNamespaceCommands(t *testing.T) {
	t.Setenv("ORCH_NAMESPACE", "")
	t.Setenv("NOMAD_NAMESPACE", "")
	a := startAgent(t)
	ok := func(args ...string) string {
		t.Helper()
		r := runCLI(t, args...)
		if r.code != 0 {
			t.Fatalf("orch %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	fails := func(want string, args ...string) {
		t.Helper()
		r := runCLI(t, args...)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("orch %s: exit %d, stderr %q; want a failure saying %q", strings.Join(args, " "), r.code, r.stderr, want)
		}
	}

	mustContain(t, "apply", ok("namespace", "apply", "-address", a.addr, "-description", "the web team", "-meta", "owner=web", "team-a"),
		`Successfully applied namespace "team-a"!`)
	ok("namespace", "apply", "-address", a.addr, "-meta", "owner=ops", "team-a") // keeps the description
	status := ok("namespace", "status", "-address", a.addr, "team-a")
	mustContain(t, "status", status, "Name        = team-a", "Description = the web team", "owner = ops")
	list := ok("namespace", "list", "-address", a.addr)
	mustContain(t, "list", list, "default", "team-a", "the web team")
	mustContain(t, "list -json", ok("namespace", "list", "-address", a.addr, "-json"), `"Name": "team-a"`)
	fails("not found", "namespace", "status", "-address", a.addr, "nope")
	fails("must be letters, digits or '-'", "namespace", "apply", "-address", a.addr, "no_underscores")

	// A job in team-a is seen through -namespace or the environment only.
	job := structstest.Job("web")
	job.Namespace = "team-a"
	a.register(t, job)
	if out := ok("job", "status", "-address", a.addr); strings.Contains(out, "web") {
		t.Errorf("default's jobs show team-a's:\n%s", out)
	}
	mustContain(t, "job status -namespace", ok("job", "status", "-address", a.addr, "-namespace", "team-a"), "web")
	mustContain(t, "job status -namespace *", ok("job", "status", "-address", a.addr, "-namespace", "*"), "Namespace", "team-a")
	t.Setenv("ORCH_NAMESPACE", "team-a")
	mustContain(t, "job status with ORCH_NAMESPACE", ok("job", "status", "-address", a.addr, "web"), "team-a")
	t.Setenv("ORCH_NAMESPACE", "")
	fails(`namespace "nope" not found`, "job", "status", "-address", a.addr, "-namespace", "nope")

	fails("non-terminal job", "namespace", "delete", "-address", a.addr, "team-a")
	fails("cannot be deleted", "namespace", "delete", "-address", a.addr, "default")
	ok("job", "stop", "-address", a.addr, "-namespace", "team-a", "-purge", "-detach", "web")
	mustContain(t, "delete", ok("namespace", "delete", "-address", a.addr, "team-a"), `Successfully deleted namespace "team-a"!`)
	if out := ok("namespace", "list", "-address", a.addr); strings.Contains(out, "team-a") {
		t.Errorf("team-a listed after its delete:\n%s", out)
	}
}

// A job file naming its namespace runs there, and `job run` monitors it
// there, without -namespace.
func TestJobRunInTheJobFilesNamespace(t *testing.T) {
	t.Setenv("ORCH_NAMESPACE", "")
	t.Setenv("NOMAD_NAMESPACE", "")
	a := startClientAgent(t)
	if err := a.API.Namespaces().Register(&structs.Namespace{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	job := structstest.Job("web")
	job.Namespace = "team-a"
	r := runCLI(t, "job", "run", "-json", "-address", a.addr, writeJSONJob(t, job, true))
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "job run", r.stdout, `Allocation "`, `created: node "`, `finished with status "complete"`)
	if a.job(t, "web") != nil {
		t.Error("the job went to default")
	}
	if j, _, err := a.API.Jobs().Info("web", &api.QueryOptions{Namespace: "team-a"}); err != nil || j.Namespace != "team-a" {
		t.Errorf("the job in team-a: %+v %v", j, err)
	}
}
