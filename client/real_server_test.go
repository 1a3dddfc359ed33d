package client

// The client against a real server (package server: Raft on disk, the
// scheduler, heartbeats), over the real RPC protocol (RPCClient, yamux,
// msgpack). Only this test file imports the server: the client's own code
// never does (deps_test.go checks its non-test imports).

import (
	"testing"

	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// startRealServer starts a single dev server on free ports that leads, and
// returns it with an RPCClient connected to it; both stop when the test ends.
func startRealServer(t *testing.T) (*server.Server, *RPCClient) {
	t.Helper()
	cfg := server.DevConfig()
	cfg.DataDir = t.TempDir()
	cfg.NodeName = "real-server"
	cfg.RPCPort, cfg.GossipPort = 0, 0
	cfg.NumSchedulers = 1
	cfg.Logger = testLogger(t)
	s, err := server.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	})
	waitFor(t, "the server to lead", s.IsLeader)
	rpc, err := NewRPCClient([]string{s.RPCAddr()}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rpc.Close() })
	return s, rpc
}

// jobAllocs returns the allocations the server holds for jobID.
func jobAllocs(t *testing.T, s *server.Server, jobID string) []*structs.AllocListStub {
	t.Helper()
	var reply structs.JobAllocationsResponse
	if err := s.RPC(t.Context(), "Job.Allocations", &structs.JobSpecificRequest{JobID: jobID}, &reply); err != nil {
		t.Fatalf("Job.Allocations: %v", err)
	}
	return reply.Allocations
}

// waitJobAllocs waits until the server holds want allocations of jobID, all
// with client status status, and returns them.
func waitJobAllocs(t *testing.T, s *server.Server, jobID string, want int, status structs.AllocClientStatus) []*structs.AllocListStub {
	t.Helper()
	var allocs []*structs.AllocListStub
	waitFor(t, "allocations of "+jobID+" "+string(status)+" on the server", func() bool {
		allocs = jobAllocs(t, s, jobID)
		if len(allocs) != want {
			return false
		}
		for _, a := range allocs {
			if a.ClientStatus != status {
				return false
			}
		}
		return true
	})
	return allocs
}

// TestClientRunsAndStopsAJobOfARealServer: the client registers its node,
// heartbeats, receives the allocations the scheduler placed on it through
// its blocking query, runs them and reports them running; when the job is
// stopped it stops the tasks and reports them complete.
func TestClientRunsAndStopsAJobOfARealServer(t *testing.T) {
	s, rpc := startRealServer(t)
	dataDir := t.TempDir()
	c, err := NewClient(testClientConfig(t, rpc, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	waitFor(t, "the client to know it registered", c.Registered)

	var node structs.SingleNodeResponse
	if err := s.RPC(t.Context(), "Node.GetNode", &structs.NodeSpecificRequest{NodeID: c.NodeID()}, &node); err != nil || node.Node == nil {
		t.Fatalf("the node on the server: %+v %v", node.Node, err)
	}
	if node.Node.Status != structs.NodeStatusReady || node.Node.Meta["rack"] != "r1" || !node.Node.Drivers["raw_exec"].Healthy {
		t.Errorf("node as registered: status %q, meta %v, drivers %v", node.Node.Status, node.Node.Meta, node.Node.Drivers)
	}

	job := sleeperJob()
	job.Datacenters = []string{"dc1"}
	var reg structs.JobRegisterResponse
	if err := s.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: job}, &reg); err != nil {
		t.Fatal(err)
	}
	allocs := waitJobAllocs(t, s, job.ID, 2, structs.AllocClientStatusRunning)
	pids := make([]int, len(allocs))
	for i, a := range allocs {
		if a.NodeID != c.NodeID() {
			t.Errorf("allocation %s placed on %s, not on the client's node", a.ID, a.NodeID)
		}
		pids[i] = taskPID(t, dataDir, a.ID, 0)
	}

	var dereg structs.JobDeregisterResponse
	if err := s.RPC(t.Context(), "Job.Deregister", &structs.JobDeregisterRequest{JobID: job.ID}, &dereg); err != nil {
		t.Fatal(err)
	}
	waitJobAllocs(t, s, job.ID, 2, structs.AllocClientStatusComplete)
	for _, pid := range pids {
		waitFor(t, "the stopped allocation's process to end", func() bool { return !processAlive(pid) })
	}
}

// TestClientRetriesUntilARealServerAnswers: calls that fail before reaching
// the server are retried until the node is registered.
func TestClientRetriesUntilARealServerAnswers(t *testing.T) {
	s, rpc := startRealServer(t)
	flaky := &flakyServers{next: rpc, failures: 3}
	c, err := NewClient(testClientConfig(t, flaky, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	waitFor(t, "registration", c.Registered)
	var node structs.SingleNodeResponse
	if err := s.RPC(t.Context(), "Node.GetNode", &structs.NodeSpecificRequest{NodeID: c.NodeID()}, &node); err != nil || node.Node == nil {
		t.Fatalf("the node on the server: %+v %v", node.Node, err)
	}
}
