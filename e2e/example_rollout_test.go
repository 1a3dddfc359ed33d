package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestExampleRollout runs the README tour's deployments with
// examples/rollout.hcl on a dev agent: a rolling update and a canary that
// waits for promotion, each followed by `job run` to its end.
func TestExampleRollout(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	run := func(want string, args ...string) string {
		t.Helper()
		out, errOut, code := a.orch(append([]string{"job", "run"}, append(args, "examples/rollout.hcl")...)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("job run %v: exit %d, want 0 and %q in:\n%s%s", args, code, want, out, errOut)
		}
		return out
	}
	run("successful")
	rolled := run("successful", "-var", "version=v2")
	if !strings.Contains(rolled, "desired=4 placed=2 ") {
		t.Errorf("the rolling update did not place a batch of 2 first:\n%s", rolled)
	}
	run("waits for promotion", "-var", "version=v3", "-var", "canary=1")
	if out, errOut, code := a.orch("job", "promote", "rollout"); code != 0 {
		t.Fatalf("job promote: exit %d\n%s%s", code, out, errOut)
	}
	a.waitFor("version 2's deployment successful, 4 allocations of it running", 60*time.Second, func() (bool, error) {
		var d struct {
			Status     string
			JobVersion uint64
		}
		if err := a.get("/v1/job/rollout/deployment", &d); err != nil {
			return false, err
		}
		n := 0
		for _, al := range a.running(t, "rollout") {
			if al.JobVersion == 2 {
				n++
			}
		}
		return d.JobVersion == 2 && d.Status == "successful" && n == 4, nil
	})
	out, errOut, code := a.orch("job", "history", "rollout")
	if code != 0 || strings.Count(out, "Stable      = true") != 3 {
		t.Fatalf("job history: exit %d, want the 3 versions stable:\n%s%s", code, out, errOut)
	}
}
