package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestDriverFilterNeedsEveryDriverDetectedAndHealthy(t *testing.T) {
	job := mockJob().Build()
	tg := job.TaskGroups[0]
	side := tg.Tasks[0].Copy()
	side.Name, side.Driver = "side", "docker"
	tg.Tasks = append(tg.Tasks, side)
	f := newDriverFilter(tg)

	undetected := mockNode("undetected").Driver("docker", true).Build()
	undetected.Drivers["docker"].Detected = false
	for _, tc := range []struct {
		node *structs.Node
		ok   bool
	}{
		{mockNode("both").Driver("docker", true).Build(), true},
		{mockNode("no-docker").Build(), false},
		{mockNode("sick-docker").Driver("docker", false).Build(), false},
		{mockNode("no-raw").NoDriver("raw_exec").Driver("docker", true).Build(), false},
		{undetected, false},
	} {
		ok, reason := f.feasible(tc.node)
		if ok != tc.ok || (!ok && reason != filterMissingDrivers) {
			t.Errorf("node %s: ok=%v reason=%q, want ok=%v", tc.node.Name, ok, reason, tc.ok)
		}
	}
}

func TestMissingDriverIsExplained(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").Build(), mockNode("n2").Driver("docker", false).Build())
	h.run(mockJob().Driver("docker").Build())
	m := h.lastEval().FailedTGAllocs["web"]
	if m == nil || m.ConstraintFiltered[filterMissingDrivers] != 2 {
		t.Fatalf("failure %+v", m)
	}
	if got, want := FailureSummary("web", 1, 1, m), "could not place 1 of 1 allocation of group web: missing drivers on 2 nodes"; got != want {
		t.Fatalf("summary %q, want %q", got, want)
	}
}
