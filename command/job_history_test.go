package command

import (
	"errors"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/structstest"
)

// TestJobHistoryAndRevert: versions are listed newest first with their
// diffs, a version is marked stable through the API, and a revert makes the
// old specification a new version.
func TestJobHistoryAndRevert(t *testing.T) {
	a := startAgent(t)
	a.register(t, structstest.Job("web"))
	v1 := structstest.Job("web")
	v1.TaskGroups[0].Count = 3
	a.register(t, v1)
	if _, err := a.API.Jobs().Stable("web", 0, true); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, "job", "history", "-p", "-address", a.addr, "web")
	if r.code != 0 {
		t.Fatalf("history: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "history", r.stdout, "Version     = 1\nStable      = false\n", "Version     = 0\nStable      = true\n",
		`+/- Job: "web"`, `Count: "1" => "3"`)

	if r := runCLI(t, "job", "history", "-version", "7", "-address", a.addr, "web"); r.code != 1 {
		t.Errorf("history of an unknown version: exit %d, %s", r.code, r.stdout)
	} else {
		mustContain(t, "stderr", r.stderr, `job "web" has no version 7 (kept: 1, 0)`)
	}

	if r := runCLI(t, "job", "revert", "-detach", "-address", a.addr, "web", "0"); r.code != 0 {
		t.Fatalf("revert: exit %d: %s", r.code, r.stderr)
	}
	job := a.job(t, "web")
	if job.Version != 2 || job.TaskGroups[0].Count != 1 || job.Stable {
		t.Fatalf("after revert: version %d count %d stable %v, want 2, 1, false", job.Version, job.TaskGroups[0].Count, job.Stable)
	}
	if _, err := a.API.Jobs().Revert("web", 2, nil); err == nil {
		t.Error("reverting to the current version succeeded")
	}
	prior := uint64(1)
	if _, err := a.API.Jobs().Revert("web", 0, &prior); statusOf(err) != 409 {
		t.Errorf("revert with a stale prior version: %v, want a 409", err)
	}
	if _, err := a.API.Jobs().Revert("web", 9, nil); !api.IsNotFound(err) {
		t.Errorf("revert to an unknown version: %v, want not found", err)
	}
}

// statusOf returns the HTTP status of an API error, 0 for anything else.
func statusOf(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}
