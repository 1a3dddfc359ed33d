package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// Failure detection settings of the servers in TestFailureDetection: short
// enough that a false down after the failover would show within the test.
// A node whose timer runs out is down TTL + grace after its last heartbeat:
// 5 s to 8 s here (the TTL has a stagger of up to as much again).
const (
	fdMinHeartbeatTTL = 3 * time.Second
	fdHeartbeatGrace  = 2 * time.Second
)

// TestFailureDetection: three servers and two client-only agents that find
// the servers through gossip (-join only). (b) While the leader is killed
// with SIGKILL and replaced, no node is marked down (over a window longer than
// any node's TTL + grace). (a) A client agent killed with SIGKILL is declared
// dead by gossip, its node is marked down at once (not after its TTL) and its
// allocation runs again on the other client.
func TestFailureDetection(t *testing.T) {
	cfgFile := fdServerConfig(t)
	servers := make([]*clusterServer, 3)
	var join []string
	for i := range servers {
		servers[i] = &clusterServer{name: fmt.Sprintf("fd-s%d", i+1), dataDir: t.TempDir(), ports: freePorts(t)}
		join = append(join, servers[i].gossipAddr())
	}
	for _, s := range servers {
		s.proc = startAgent(t, s.dataDir, s.ports, "-config", cfgFile, "-server", "-bootstrap-expect", "3",
			"-bind", "127.0.0.1", "-node", s.name, "-join", join[0])
	}
	leader := waitForCluster(t, servers, 3)

	// Two client-only agents that know nothing but the gossip addresses.
	clients := map[string]*agentProc{}
	startClient := func(name, dataDir string, ports [3]int) {
		clients[name] = startAgent(t, dataDir, ports, "-client", "-bind", "127.0.0.1", "-node", name,
			"-join", strings.Join(join, ","))
	}
	for _, name := range []string{"fd-a", "fd-b"} {
		startClient(name, t.TempDir(), freePorts(t))
	}
	via := anyFollower(servers, leader)
	waitFor(t, "both client nodes ready", 30*time.Second, func() (bool, error) {
		nodes, err := nodeStatuses(via)
		return err == nil && nodes["fd-a"] == structs.NodeStatusReady && nodes["fd-b"] == structs.NodeStatusReady,
			fmt.Errorf("nodes %v: %v", nodes, err)
	})
	// The agents are gossip members, not servers: `server members` does not list them.
	var members structs.AgentMembersResponse
	if err := via.proc.get("/v1/agent/members", &members); err != nil {
		t.Fatal(err)
	}
	if len(members.Members) != 3 {
		t.Errorf("agent members lists %d members, want the 3 servers: %+v", len(members.Members), members.Members)
	}

	job := structstest.Job("fd-web")
	job.Datacenters = []string{"*"}
	job.TaskGroups[0].Tasks[0].Resources.MemoryMB = 32
	if _, err := apiClient(t, via).Jobs().Register(job); err != nil {
		t.Fatalf("registering fd-web: %v", err)
	}
	first := waitRunningAlloc(t, via, "fd-web", "")

	// (b) SIGKILL the leader: a new one takes over, and no node goes down.
	leader.proc.cmd.Process.Kill()
	<-leader.proc.exited
	leader.proc = nil
	failover := time.Now()
	var rest []*clusterServer
	for _, s := range servers {
		if s.proc != nil {
			rest = append(rest, s)
		}
	}
	leader = waitForCluster(t, rest, 2)
	via = anyFollower(rest, leader)
	if _, err := apiClient(t, via).Jobs().Register(emptyJob("fd-after-failover")); err != nil {
		t.Fatalf("writing after the failover: %v", err)
	}
	t.Logf("new leader %s, seen by both survivors with the dead server failed in gossip, after %s", leader.name, time.Since(failover).Round(time.Millisecond))
	// A false down would come at most TTL + stagger + grace after the new
	// leader took over; watch that long (an observation window, not a wait
	// for an event).
	window := 2*fdMinHeartbeatTTL + fdHeartbeatGrace + time.Second
	for end := time.Now().Add(window); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		nodes, err := nodeStatuses(via)
		if err != nil {
			continue // a transient error reading is not a node going down
		}
		for name, st := range nodes {
			if st != structs.NodeStatusReady {
				t.Fatalf("node %s is %s %s after the leader failover", name, st, time.Since(failover).Round(time.Millisecond))
			}
		}
	}
	if n := nodeUpdateEvals(t, via, ""); n != 0 {
		t.Errorf("%d node-update evaluations after the failover, want 0", n)
	}

	// (a) SIGKILL the client running fd-web: gossip declares it dead, its
	// node goes down, and the allocation is replaced on the other client.
	victim, survivor := first.NodeName, "fd-a"
	if victim == "fd-a" {
		survivor = "fd-b"
	}
	killed := time.Now()
	clients[victim].cmd.Process.Kill()
	<-clients[victim].exited
	waitFor(t, "the killed client's node to be down", 20*time.Second, func() (bool, error) {
		nodes, err := nodeStatuses(via)
		return err == nil && nodes[victim] == structs.NodeStatusDown, fmt.Errorf("nodes %v: %v", nodes, err)
	})
	down := time.Since(killed)
	replacement := waitRunningAlloc(t, via, "fd-web", first.ID)
	replaced := time.Since(killed)
	if replacement.NodeName != survivor {
		t.Errorf("replacement runs on %s, want %s", replacement.NodeName, survivor)
	}
	t.Logf("FIGURE client killed -> node down: %s -> replacement running: %s (min TTL %s + grace %s)",
		down.Round(time.Millisecond), replaced.Round(time.Millisecond), fdMinHeartbeatTTL, fdHeartbeatGrace)
	if !serverLogsContain(rest, "gossip: client agent failed") {
		t.Errorf("no server logged that gossip declared the client dead: the node went down by its timer")
	}
	nodes, err := nodeStatuses(via)
	if err != nil {
		t.Fatal(err)
	}
	if nodes[survivor] != structs.NodeStatusReady {
		t.Errorf("survivor %s is %s", survivor, nodes[survivor])
	}
	if n := nodeUpdateEvals(t, via, survivor); n != 0 {
		t.Errorf("%d node-update evaluations for the survivor %s, want 0", n, survivor)
	}

	// The killed client comes back on its data dir: its node is ready again,
	// the replaced allocation has no process, and only the replacement runs.
	startClient(victim, clients[victim].dataDir, clients[victim].ports)
	waitFor(t, "the restarted client's node ready", 30*time.Second, func() (bool, error) {
		nodes, err := nodeStatuses(via)
		return err == nil && nodes[victim] == structs.NodeStatusReady, fmt.Errorf("nodes %v: %v", nodes, err)
	})
	waitFor(t, "the replaced allocation's tasks gone", 30*time.Second, func() (bool, error) {
		return len(allocPIDs(first.ID)) == 0, fmt.Errorf("processes of %s: %v", first.ID, allocPIDs(first.ID))
	})
	if again := waitRunningAlloc(t, via, "fd-web", first.ID); again.ID != replacement.ID {
		t.Errorf("running allocation %s, want the replacement %s", again.ID, replacement.ID)
	}
}

// fdServerConfig writes a server configuration file with the failure
// detection settings above and returns its path.
func fdServerConfig(t *testing.T) string {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "server.hcl")
	conf := fmt.Sprintf("server {\n  min_heartbeat_ttl = %q\n  heartbeat_grace = %q\n}\n", fdMinHeartbeatTTL, fdHeartbeatGrace)
	if err := os.WriteFile(cfgFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgFile
}

// nodeStatuses returns each node's status by name, as s's API reports it.
func nodeStatuses(s *clusterServer) (map[string]structs.NodeStatus, error) {
	var nodes []*structs.NodeListStub
	if err := s.proc.get("/v1/nodes", &nodes); err != nil {
		return nil, err
	}
	out := map[string]structs.NodeStatus{}
	for _, n := range nodes {
		out[n.Name] = n.Status
	}
	return out, nil
}

// nodeUpdateEvals counts the node-update evaluations (those a node going
// down creates), for the node named nodeName or, with "", for any node.
func nodeUpdateEvals(t *testing.T, s *clusterServer, nodeName string) int {
	t.Helper()
	var evals []*structs.Evaluation
	if err := s.proc.get("/v1/evaluations", &evals); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	if nodeName != "" {
		var nodes []*structs.NodeListStub
		if err := s.proc.get("/v1/nodes", &nodes); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			ids[n.ID] = n.Name == nodeName
		}
	}
	n := 0
	for _, e := range evals {
		if e.TriggeredBy == structs.EvalTriggerNodeUpdate && (nodeName == "" || ids[e.NodeID]) {
			n++
		}
	}
	return n
}

// waitRunningAlloc waits until job has exactly one running allocation other
// than not, with its task's process alive, and returns it.
func waitRunningAlloc(t *testing.T, s *clusterServer, job, not string) *structs.AllocListStub {
	t.Helper()
	var found *structs.AllocListStub
	waitFor(t, job+" running", 30*time.Second, func() (bool, error) {
		var allocs []*structs.AllocListStub
		if err := s.proc.get("/v1/job/"+job+"/allocations", &allocs); err != nil {
			return false, err
		}
		found = nil
		for _, a := range runningAllocs(allocs) {
			if a.ID != not {
				if found != nil {
					return false, fmt.Errorf("two running allocations: %s and %s", found.ID, a.ID)
				}
				found = a
			}
		}
		return found != nil && len(allocPIDs(found.ID)) > 0, nil
	})
	return found
}

// serverLogsContain reports whether any of the servers' logs contains s.
func serverLogsContain(servers []*clusterServer, s string) bool {
	for _, srv := range servers {
		if srv.proc == nil {
			continue
		}
		if b, err := os.ReadFile(srv.proc.logPath); err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}
