package command

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

func TestAllocStopCLIReplacesTheAllocation(t *testing.T) {
	a := startClientAgent(t)
	a.register(t, structstest.Job("web"))
	var first *structs.AllocListStub
	waitFor(t, "web running", func() bool {
		allocs, _, _ := a.API.Jobs().Allocations("web", nil)
		for _, al := range allocs {
			if al.ClientStatus == structs.AllocClientStatusRunning {
				first = al
				return true
			}
		}
		return false
	})
	r := runCLI(t, "alloc", "stop", "-address", a.addr, first.ID[:8])
	if r.code != 0 {
		t.Fatalf("alloc stop: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "alloc stop", r.stdout, "Monitoring evaluation", `finished with status "complete"`)
	waitFor(t, "a replacement running and the old allocation stopped", func() bool {
		allocs, _, _ := a.API.Jobs().Allocations("web", nil)
		for _, al := range allocs {
			if al.ID == first.ID || al.ClientStatus != structs.AllocClientStatusRunning {
				continue
			}
			// A list entry does not name its predecessor (as in Nomad); the
			// allocation does.
			if full, _, _ := a.API.Allocations().Info(al.ID, nil); full != nil && full.PreviousAllocation == first.ID {
				old, _, _ := a.API.Allocations().Info(first.ID, nil)
				return old != nil && old.DesiredStatus == structs.AllocDesiredStatusStop && old.ClientTerminal()
			}
		}
		return false
	})
	// Stopping it again: it is already stopped.
	r = runCLI(t, "alloc", "stop", "-address", a.addr, first.ID)
	if r.code != 1 || !strings.Contains(r.stderr, "nothing to stop") {
		t.Fatalf("second stop: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestNodeEligibilityAndDrainCLI(t *testing.T) {
	a := startClientAgent(t)
	node := a.NodeID[:8]
	r := runCLI(t, "node", "eligibility", "-address", a.addr, "-disable", node)
	if r.code != 0 || !strings.Contains(r.stdout, "ineligible for scheduling") {
		t.Fatalf("eligibility -disable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "node", "status", "-address", a.addr)
	mustContain(t, "node list", r.stdout, "ineligible")
	r = runCLI(t, "node", "eligibility", "-address", a.addr, "-self", "-enable")
	if r.code != 0 {
		t.Fatalf("eligibility -self -enable: exit %d\n%s", r.code, r.stderr)
	}

	// An empty node drains at once; -monitor (the default) ends with it.
	r = runCLI(t, "node", "drain", "-address", a.addr, "-enable", "-yes", "-deadline", "10m", node)
	if r.code != 0 {
		t.Fatalf("drain: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "drain", r.stdout, "Drain enabled for node", `Drain complete for node "`+node+`"`)
	r = runCLI(t, "node", "status", "-verbose", "-address", a.addr, node)
	mustContain(t, "node status -verbose", r.stdout, "Drain       = false", "Eligibility = ineligible",
		"Last Drain  = complete", "Events\nTime", "Drain      Node drain complete", "Drain      Node drain strategy set")
	r = runCLI(t, "node", "drain", "-address", a.addr, "-disable", "-yes", node)
	if r.code != 0 {
		t.Fatalf("drain -disable: exit %d\n%s", r.code, r.stderr)
	}
	if n, _, _ := a.API.Nodes().Info(a.NodeID, nil); n.SchedulingEligibility != structs.NodeEligible {
		t.Fatalf("after drain -disable the node is %s", n.SchedulingEligibility)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "drain", node}, "one of -enable, -disable or -monitor is required"},
		{[]string{"node", "drain", "-enable", "-disable", node}, "-enable and -disable cannot be used together"},
		{[]string{"node", "drain", "-enable", "-force", "-no-deadline", node}, "exclude one another"},
		{[]string{"node", "drain", "-disable", "-force", node}, "-force applies only with -enable"},
		{[]string{"node", "drain", "-enable", "-deadline", "-5m", node}, "must be > 0"},
		{[]string{"node", "eligibility", node}, "exactly one of -enable and -disable"},
	} {
		r := runCLI(t, append(tc.args[:2:2], append([]string{"-address", a.addr}, tc.args[2:]...)...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	// Without -yes and no answer, nothing happens.
	r = runCLI(t, "node", "drain", "-address", a.addr, "-enable", node)
	if r.code != 1 || !strings.Contains(r.stdout, "Canceling drain") {
		t.Fatalf("unconfirmed drain: exit %d\n%s", r.code, r.stdout)
	}
}

func TestDrainHTTPErrors(t *testing.T) {
	a := startAgent(t)
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/v1/node/nope/drain", `{"DrainSpec": {"Deadline": 1}}`, http.StatusNotFound},
		{"/v1/node/nope/eligibility", `{"Eligibility": "eligible"}`, http.StatusNotFound},
		{"/v1/node/x/eligibility", `{"Eligibility": "sometimes"}`, http.StatusBadRequest},
		{"/v1/node/x/drain", `{"Deadline": 1}`, http.StatusBadRequest},
		{"/v1/allocation/nope/stop", ``, http.StatusNotFound},
	} {
		resp, err := http.Post(a.addr+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("POST %s %s: %d, want %d", tc.path, tc.body, resp.StatusCode, tc.status)
		}
	}
}

// A drain whose allocation can go nowhere waits, says why, and the deadline
// ends it.
func TestDrainWithNowhereToGoWaitsUntilTheDeadline(t *testing.T) {
	a := startClientAgent(t)
	job := structstest.Job("web")
	job.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: 1, HealthCheck: structs.MigrateHealthTaskStates,
		MinHealthyTime: time.Millisecond, HealthyDeadline: time.Minute}
	a.register(t, job)
	waitFor(t, "web running", func() bool {
		allocs, _, _ := a.API.Jobs().Allocations("web", nil)
		return len(allocs) == 1 && allocs[0].ClientStatus == structs.AllocClientStatusRunning
	})
	r := runCLI(t, "node", "drain", "-address", a.addr, "-enable", "-yes", "-deadline", "2s", a.NodeID[:8])
	if r.code != 0 {
		t.Fatalf("drain: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "drain monitor", r.stdout, "marked for migration",
		`Drain waiting: job "web" group "web": 1 replacement(s) not placed yet: no other node fits them`,
		"status running -> complete", "Drain complete for node")
	allocs, _, _ := a.API.Jobs().Allocations("web", nil)
	for _, al := range allocs {
		if al.ClientStatus == structs.AllocClientStatusRunning {
			t.Errorf("allocation %s still running after the deadline", al.ID)
		}
	}
}
