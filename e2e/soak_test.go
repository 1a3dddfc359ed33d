package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// Soak settings: the soak runs only with ORCH_SOAK=1 (make soak, make e2e),
// for ORCH_SOAK_DURATION (a Go duration).
const (
	soakEnv             = "ORCH_SOAK"
	soakDurationEnv     = "ORCH_SOAK_DURATION"
	soakDefaultDuration = 5 * time.Minute
	soakCheckEvery      = 2 * time.Second
)

// TestSoakNoFalseDown: three servers and two client agents joined by gossip,
// with the short failure detection settings of TestFailureDetection, run a
// service job with no fault injected for the soak duration. Every few
// seconds: every node is ready, no node-update evaluation exists (a node that
// went down and came back between two checks leaves one), the job's first
// allocation is still the only one and runs, and no server has logged a
// client as failed by gossip. Leadership changes are logged, not failed on:
// they are not a node going down.
func TestSoakNoFalseDown(t *testing.T) {
	if os.Getenv(soakEnv) != "1" {
		t.Skipf("soak test: set %s=1 to run it (make soak; %s sets its length, default %s)", soakEnv, soakDurationEnv, soakDefaultDuration)
	}
	duration := soakDefaultDuration
	if v := os.Getenv(soakDurationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive Go duration such as 90s or 5m", soakDurationEnv, v)
		}
		duration = d
	}

	servers, join := startServers(t, "soak-s", 3, "-config", fdServerConfig(t))
	leader := waitForCluster(t, servers, 3)
	for _, name := range []string{"soak-a", "soak-b"} {
		startAgent(t, t.TempDir(), freePorts(t), "-client", "-bind", "127.0.0.1", "-node", name,
			"-join", strings.Join(join, ","))
	}
	via := anyFollower(servers, leader)
	waitFor(t, "both client nodes ready", 30*time.Second, func() (bool, error) {
		nodes, err := nodeStatuses(via)
		return err == nil && nodes["soak-a"] == structs.NodeStatusReady && nodes["soak-b"] == structs.NodeStatusReady,
			fmt.Errorf("nodes %v: %v", nodes, err)
	})
	job := structstest.Job("soak-web")
	job.Datacenters = []string{"*"}
	job.TaskGroups[0].Tasks[0].Resources.MemoryMB = 32
	if _, err := apiClient(t, via).Jobs().Register(job); err != nil {
		t.Fatalf("registering soak-web: %v", err)
	}
	alloc := waitRunningAlloc(t, via, "soak-web", "")
	t.Logf("soak-web running as %s on %s; soaking for %s (checks every %s, min heartbeat TTL %s, grace %s)",
		alloc.ID, alloc.NodeName, duration, soakCheckEvery, fdMinHeartbeatTTL, fdHeartbeatGrace)

	start := time.Now()
	checks, readErrors, leaderChanges := 0, 0, 0
	lastLeader := leader.rpcAddr()
	// An observation window with a check every few seconds, not a wait for
	// an event.
	for end := start.Add(duration); time.Now().Before(end); time.Sleep(soakCheckEvery) {
		checks++
		at := time.Since(start).Round(time.Second)
		// Each check asks every server in turn, so a fault seen by any of
		// them shows.
		s := servers[checks%len(servers)]
		nodes, err := nodeStatuses(s)
		if err != nil {
			readErrors++ // a failed read is not a node going down; too many fail below
			t.Logf("%s: reading nodes through %s: %v", at, s.name, err)
			continue
		}
		for name, st := range nodes {
			if st != structs.NodeStatusReady {
				t.Fatalf("%s into the soak: node %s is %s", at, name, st)
			}
		}
		if len(nodes) != 2 {
			t.Fatalf("%s into the soak: %d nodes, want 2: %v", at, len(nodes), nodes)
		}
		if n := nodeUpdateEvals(t, s, ""); n != 0 {
			t.Fatalf("%s into the soak: %d node-update evaluations: a node changed status", at, n)
		}
		var allocs []*structs.AllocListStub
		if err := s.proc.get("/v1/job/soak-web/allocations", &allocs); err != nil {
			t.Fatalf("%s into the soak: %v", at, err)
		}
		if len(allocs) != 1 || allocs[0].ID != alloc.ID || allocs[0].ClientStatus != structs.AllocClientStatusRunning {
			t.Fatalf("%s into the soak: soak-web's allocations changed: %+v", at, allocs)
		}
		if serverLogsContain(servers, "gossip: client agent failed") {
			t.Fatalf("%s into the soak: a server's gossip declared a client failed", at)
		}
		var addr string
		if err := s.proc.get("/v1/status/leader", &addr); err == nil && addr != "" && addr != lastLeader {
			leaderChanges++
			t.Logf("%s into the soak: leader changed from %s to %s", at, lastLeader, addr)
			lastLeader = addr
		}
	}
	if readErrors > checks/10 {
		t.Errorf("%d of %d checks could not read the nodes", readErrors, checks)
	}
	if len(allocPIDs(alloc.ID)) == 0 {
		t.Errorf("soak-web's allocation %s has no process at the end", alloc.ID)
	}
	t.Logf("FIGURE soak without faults: %s, %d checks, 0 nodes down, 0 node-update evaluations, %d read errors, %d leader changes",
		time.Since(start).Round(time.Second), checks, readErrors, leaderChanges)
}
