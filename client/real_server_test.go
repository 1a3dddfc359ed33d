package client

// The client against a real server (package server: Raft on disk, the
// scheduler, heartbeats), over the real RPC protocol (RPCClient, yamux,
// msgpack). Only this test file imports the server: the client's own code
// never does (deps_test.go checks its non-test imports).

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/freeport"

	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// startRealServer starts a single dev server on free ports that leads, and
// returns it with an RPCClient connected to it; both stop when the test ends.
func startRealServer(t *testing.T) (*server.Server, *RPCClient) {
	t.Helper()
	return startRealServerWith(t, nil)
}

// startRealServerWith is startRealServer with configure applied to the
// server's configuration (nil: none).
func startRealServerWith(t *testing.T, configure func(*server.Config)) (*server.Server, *RPCClient) {
	t.Helper()
	s := startServerOnly(t, configure)
	rpc, err := NewRPCClient([]string{s.RPCAddr()}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rpc.Close() })
	return s, rpc
}

// startServerOnly starts a leading dev server, stopped when the test ends.
func startServerOnly(t *testing.T, configure func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.DevConfig()
	cfg.DataDir = t.TempDir()
	cfg.NodeName = "real-server"
	cfg.RPCPort, cfg.GossipPort = 0, 0
	cfg.NumSchedulers = 1
	cfg.Logger = testLogger(t)
	if configure != nil {
		configure(&cfg)
	}
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
	return s
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

// recordingServers passes calls to the real servers and records what the
// tests check of the client's traffic: registrations, heartbeat times, the
// indexes the allocation watch was answered at, the allocations fetched.
type recordingServers struct {
	next RPCer
	mu   sync.Mutex
	regs int
	hbs  []time.Time
	// stopping counts the heartbeats that said the agent is stopping.
	stopping int
	// watched are the indexes of the Node.GetClientAllocs answers.
	watched []uint64
	fetched []string
}

func (r *recordingServers) RPC(ctx context.Context, method string, args, reply any) error {
	err := r.next.RPC(ctx, method, args, reply)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch method {
	case "Node.Register":
		r.regs++
	case "Node.UpdateStatus":
		r.hbs = append(r.hbs, time.Now())
		if args.(*structs.NodeUpdateStatusRequest).AgentStopping {
			r.stopping++
		}
	case "Node.GetClientAllocs":
		r.watched = append(r.watched, reply.(*structs.NodeClientAllocsResponse).Index)
	case "Alloc.GetAllocs":
		for _, a := range reply.(*structs.AllocsGetResponse).Allocs {
			if a != nil {
				r.fetched = append(r.fetched, a.ID)
			}
		}
	}
	return nil
}

// startRecordedClient starts a client of rpc's servers whose calls rec
// records, waits for its registration, and shuts it down when the test ends.
func startRecordedClient(t *testing.T, rpc *RPCClient) (*Client, *recordingServers) {
	t.Helper()
	rec := &recordingServers{next: rpc}
	c, err := NewClient(testClientConfig(t, rec, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown() })
	waitFor(t, "registration", c.Registered)
	return c, rec
}

// OnSessionLost passes the client's hook to the RPC client.
func (r *recordingServers) OnSessionLost(f func()) { r.next.(sessionWatcher).OnSessionLost(f) }

func (r *recordingServers) stats() (regs int, hbs []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.regs, slices.Clone(r.hbs)
}

// watchedSince reports whether an allocation watch answer since the skip
// first ones was at index idx or later.
func (r *recordingServers) watchedSince(skip int, idx uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, i := range r.watched[min(skip, len(r.watched)):] {
		if i >= idx {
			return true
		}
	}
	return false
}

func (r *recordingServers) watchCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.watched)
}

// nodeAllocsIndex is the index the server answers the node's allocation
// watch at now: a client whose watch got it has taken in everything so far.
func nodeAllocsIndex(t *testing.T, s *server.Server, c *Client) uint64 {
	t.Helper()
	var resp structs.NodeClientAllocsResponse
	if err := s.RPC(t.Context(), "Node.GetClientAllocs", &structs.NodeSpecificRequest{NodeID: c.nodeID, SecretID: c.secretID}, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Index
}

// serverAlloc reads an allocation from the server.
func serverAlloc(t *testing.T, s *server.Server, id string) *structs.Allocation {
	t.Helper()
	var resp structs.SingleAllocResponse
	if err := s.RPC(t.Context(), "Alloc.GetAlloc", &structs.AllocSpecificRequest{AllocID: id}, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Alloc
}

// waitServerStatus waits until the server holds allocation id with client
// status want, and returns it.
func waitServerStatus(t *testing.T, s *server.Server, id string, want structs.AllocClientStatus) *structs.Allocation {
	t.Helper()
	var a *structs.Allocation
	waitFor(t, "alloc "+id+" "+string(want)+" on the server", func() bool {
		a = serverAlloc(t, s, id)
		return a != nil && a.ClientStatus == want
	})
	return a
}

// registerJobOn registers job with the server.
func registerJobOn(t *testing.T, s *server.Server, job *structs.Job) {
	t.Helper()
	var reg structs.JobRegisterResponse
	if err := s.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: job}, &reg); err != nil {
		t.Fatal(err)
	}
}

// byIndex returns the allocations of stubs by their index in the group.
func byIndex(stubs []*structs.AllocListStub) map[int]string {
	out := map[int]string{}
	for _, a := range stubs {
		out[(&structs.Allocation{Name: a.Name}).Index()] = a.ID
	}
	return out
}

// TestClientEndToEnd: registration with the fingerprint and the agent's
// settings, heartbeats within the TTL, two allocations run and reported,
// one stopped by the servers (the job scaled down), an agent restart that
// keeps the other's process and tells the servers nothing, and the
// servers' garbage collection removing both, which stay forgotten after
// another restart.
func TestClientEndToEnd(t *testing.T) {
	const ttl = time.Second
	s, rpc := startRealServerWith(t, func(c *server.Config) { c.MinHeartbeatTTL = ttl })
	rec := &recordingServers{next: rpc}
	dataDir := t.TempDir()
	cfg := testClientConfig(t, rec, dataDir)
	cfg.MinDynamicPort, cfg.MaxDynamicPort, cfg.Reserved.ReservedHostPorts = 30000, 31000, "22,80"
	cfg.Reserved.CPU, cfg.Reserved.MemoryMB, cfg.Reserved.DiskMB = 500, 256, 1024

	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	nodeID := c.NodeID()
	waitFor(t, "the client to know it registered", c.Registered)
	var nr structs.SingleNodeResponse
	if err := s.RPC(t.Context(), "Node.GetNode", &structs.NodeSpecificRequest{NodeID: nodeID}, &nr); err != nil || nr.Node == nil {
		t.Fatalf("the node on the server: %v", err)
	}
	n := nr.Node
	if n.Name != "test-node" || n.Datacenter != "dc1" || n.HTTPAddr != "127.0.0.1:4646" || n.Meta["rack"] != "r1" ||
		n.Status != structs.NodeStatusReady {
		t.Errorf("registered node = %+v", n)
	}
	if n.Attributes["driver.raw_exec"] != "1" || n.Attributes["kernel.name"] != "linux" || n.Attributes["unique.hostname"] == "" {
		t.Errorf("attributes = %v", n.Attributes)
	}
	if d := n.Drivers["raw_exec"]; d == nil || !d.Detected || !d.Healthy {
		t.Errorf("drivers = %v", n.Drivers)
	}
	if r := n.NodeResources; r == nil || r.CPU <= 0 || r.MemoryMB <= 0 || r.DiskMB <= 0 {
		t.Errorf("resources = %+v", r)
	}
	if r := n.ReservedResources; r == nil || r.CPU != 500 || r.MemoryMB != 256 || r.DiskMB != 1024 || r.ReservedHostPorts != "22,80" {
		t.Errorf("reserved = %+v", r)
	}
	if lo, hi := n.DynamicPortRange(); lo != 30000 || hi != 31000 {
		t.Errorf("port range %d-%d", lo, hi)
	}
	if got := c.Node(); got.ID != nodeID || got.Attributes["cpu.numcores"] == "" {
		t.Errorf("Node() = %+v", got)
	}

	// Heartbeats keep the node ready on the server (when they are sent is
	// heartbeatInterval's, tested on its own: a gap measured here would be
	// a timing assertion, which a loaded machine breaks).
	waitFor(t, "3 heartbeats", func() bool { _, hb := rec.stats(); return len(hb) >= 3 })
	if err := s.RPC(t.Context(), "Node.GetNode", &structs.NodeSpecificRequest{NodeID: nodeID}, &nr); err != nil || nr.Node == nil {
		t.Fatalf("the node on the server: %v", err)
	}
	if nr.Node.Status != structs.NodeStatusReady {
		t.Errorf("after 3 heartbeats the node is %q on the server, want ready", nr.Node.Status)
	}
	for _, ev := range nr.Node.Events {
		if strings.Contains(ev.Message, string(structs.NodeStatusDown)) {
			t.Errorf("the node was marked down meanwhile: %+v", ev)
		}
	}

	// Two allocations: both run, the servers hear they run.
	job := sleeperJob()
	job.Datacenters = []string{"dc1"}
	registerJobOn(t, s, job)
	allocs := byIndex(waitJobAllocs(t, s, job.ID, 2, structs.AllocClientStatusRunning))
	a1, a2 := allocs[1], allocs[0]
	if ts := serverAlloc(t, s, a2).TaskStates["web"]; ts == nil || ts.State != structs.TaskStateRunning {
		t.Errorf("task state on the server = %+v", ts)
	}
	pid1 := taskPID(t, dataDir, a1, 0)
	pid2 := taskPID(t, dataDir, a2, 0)
	if processesOfAlloc(t, a1) != 1 || processesOfAlloc(t, a2) != 1 {
		t.Fatalf("processes: %d of a1, %d of a2; want 1 each", processesOfAlloc(t, a1), processesOfAlloc(t, a2))
	}

	// The servers stop a1 (the job scaled to one): its process ends, it is complete.
	job.TaskGroups[0].Count = 1
	registerJobOn(t, s, job)
	done := waitServerStatus(t, s, a1, structs.AllocClientStatusComplete)
	waitFor(t, "a1's process to end", func() bool { return !processAlive(pid1) })
	if ts := done.TaskStates["web"]; ts.State != structs.TaskStateDead || ts.Failed {
		t.Errorf("a1 task state = %+v", ts)
	}
	if !processAlive(pid2) {
		t.Fatal("a2's process died with a1")
	}

	// Agent restart: tasks run on under the supervisor, the servers are not
	// told anything.
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if !processAlive(pid2) {
		t.Error("a2's process did not survive Shutdown")
	}
	if st := serverAlloc(t, s, a2).ClientStatus; st != structs.AllocClientStatusRunning {
		t.Errorf("after Shutdown the servers think a2 is %s, want still running", st)
	}
	regsBefore, _ := rec.stats()
	watchesBefore := rec.watchCount()
	c2, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Shutdown()
	if c2.NodeID() != nodeID {
		t.Fatalf("node ID changed across a restart: %s → %s", nodeID, c2.NodeID())
	}
	newPID2 := taskPID(t, dataDir, a2, 0)
	if newPID2 != pid2 {
		t.Errorf("a2 runs as pid %d after the restart, want the same %d", newPID2, pid2)
	}
	// Once the new client has registered and taken in the servers' current
	// list, a2 runs exactly once and a1 not at all.
	waitFor(t, "registration of the restarted client", func() bool { regs, _ := rec.stats(); return regs == regsBefore+1 })
	idx := nodeAllocsIndex(t, s, c2)
	waitFor(t, "the client to catch up with the servers", func() bool { return rec.watchedSince(watchesBefore, idx) })
	if got := processesOfAlloc(t, a2); got != 1 {
		t.Errorf("a2 runs %d times after the restart, want once", got)
	}
	if got := processesOfAlloc(t, a1); got != 0 {
		t.Errorf("the stopped a1 runs %d times after the restart", got)
	}
	for _, ev := range waitServerStatus(t, s, a2, structs.AllocClientStatusRunning).TaskStates["web"].Events {
		if ev.Type == structs.TaskRestarting || ev.Type == structs.TaskTerminated {
			t.Errorf("a2 has a %q event after the agent restart: %s", ev.Type, ev.DisplayMessage)
		}
	}

	// The job stops and the servers garbage-collect it: the directories go.
	var dereg structs.JobDeregisterResponse
	if err := s.RPC(t.Context(), "Job.Deregister", &structs.JobDeregisterRequest{JobID: job.ID}, &dereg); err != nil {
		t.Fatal(err)
	}
	waitServerStatus(t, s, a2, structs.AllocClientStatusComplete)
	waitFor(t, "a2's process to end", func() bool { return !processAlive(newPID2) })
	waitFor(t, "the servers to collect the job", func() bool {
		var reply structs.GenericResponse
		if err := s.RPC(t.Context(), "System.GarbageCollect", &structs.SystemWriteRequest{}, &reply); err != nil {
			t.Fatal(err)
		}
		return serverAlloc(t, s, a1) == nil && serverAlloc(t, s, a2) == nil
	})
	for _, id := range []string{a1, a2} {
		dir := filepath.Join(dataDir, "client", "allocs", id)
		waitFor(t, "alloc dir "+id+" removed", func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) })
	}
	waitFor(t, "the client to forget both", func() bool {
		c2.mu.Lock()
		defer c2.mu.Unlock()
		return len(c2.mu.runners) == 0
	})
	if err := c2.Shutdown(); err != nil {
		t.Fatal(err)
	}
	// Forgotten allocations stay forgotten.
	c3, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Shutdown()
	c3.mu.Lock()
	left := len(c3.mu.runners)
	c3.mu.Unlock()
	if left != 0 {
		t.Errorf("%d allocations restored after they were garbage-collected", left)
	}
}

// TestClientRegistersAgainWhenServersForgetTheNode: the server is replaced
// by one with an empty state at the same address; the client's heartbeat is
// answered "not found" and it registers again.
func TestClientRegistersAgainWhenServersForgetTheNode(t *testing.T) {
	ports, err := freeport.Three()
	if err != nil {
		t.Fatal(err)
	}
	onPort := func(c *server.Config) { c.RPCPort, c.MinHeartbeatTTL = ports[0], 200*time.Millisecond }
	s1, rpc := startRealServerWith(t, onPort)
	c, rec := startRecordedClient(t, rpc)
	if err := s1.Shutdown(); err != nil {
		t.Fatal(err)
	}
	s2 := startServerOnly(t, onPort)
	waitFor(t, "registration with the new server", func() bool {
		regs, _ := rec.stats()
		var nr structs.SingleNodeResponse
		err := s2.RPC(t.Context(), "Node.GetNode", &structs.NodeSpecificRequest{NodeID: c.NodeID()}, &nr)
		return regs == 2 && err == nil && nr.Node != nil
	})
}

// TestClientHeartbeatsAtOnceWhenItsConnectionEnds: the servers give a node
// whose connection ended only reconnect_grace to heartbeat again
// (server/session_liveness.go), so a client whose connection ends
// heartbeats at once, over a new one, not when its TTL (here an hour) says.
// A client that stops says so in a last heartbeat, so that the end of its
// connection is not taken for a failure.
func TestClientHeartbeatsAtOnceWhenItsConnectionEnds(t *testing.T) {
	_, rpc := startRealServerWith(t, func(c *server.Config) { c.MinHeartbeatTTL = time.Hour })
	c, rec := startRecordedClient(t, rpc)
	_, before := rec.stats()
	rpc.mu.Lock()
	sess := rpc.mu.session
	rpc.mu.Unlock()
	if sess == nil {
		t.Fatal("the client holds no connection after registering")
	}
	sess.Close()
	waitFor(t, "a heartbeat after the connection ended", func() bool {
		_, hbs := rec.stats()
		return len(hbs) > len(before)
	})
	rpc.mu.Lock()
	again := rpc.mu.session
	rpc.mu.Unlock()
	if again == nil || again == sess {
		t.Error("the heartbeat did not go over a new connection")
	}

	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	stopping := rec.stopping
	rec.mu.Unlock()
	if stopping != 1 {
		t.Errorf("%d heartbeats said the agent is stopping, want 1 (at Shutdown)", stopping)
	}
}

// TestAllocWatcherFetchesOnlyNewOrChangedAllocs: the watch fetches an
// allocation when it is new and again only when the servers change it (a
// stop): the client's own status reports, which wake the watch, fetch
// nothing, and the stopped allocation is seen and stopped.
func TestAllocWatcherFetchesOnlyNewOrChangedAllocs(t *testing.T) {
	s, rpc := startRealServer(t)
	rec := &recordingServers{next: rpc}
	dataDir := t.TempDir()
	c, err := NewClient(testClientConfig(t, rec, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	waitFor(t, "registration", c.Registered)

	job := sleeperJob()
	job.Datacenters = []string{"dc1"}
	job.Update = nil
	registerJobOn(t, s, job)
	allocs := byIndex(waitJobAllocs(t, s, job.ID, 2, structs.AllocClientStatusRunning))
	a1, a2 := allocs[1], allocs[0]
	pid1 := taskPID(t, dataDir, a1, 0)

	// The servers stop a1 alone (alloc stop: a replacement is placed).
	var stop structs.AllocStopResponse
	if err := s.RPC(t.Context(), "Alloc.Stop", &structs.AllocStopRequest{AllocID: a1}, &stop); err != nil {
		t.Fatal(err)
	}
	waitServerStatus(t, s, a1, structs.AllocClientStatusComplete)
	waitFor(t, "a1's process to end", func() bool { return !processAlive(pid1) })
	var a3 string
	waitFor(t, "a1's replacement to run", func() bool {
		for _, a := range jobAllocs(t, s, job.ID) {
			if a.ID != a1 && a.ID != a2 && a.ClientStatus == structs.AllocClientStatusRunning {
				a3 = a.ID
				return true
			}
		}
		return false
	})
	idx := nodeAllocsIndex(t, s, c)
	waitFor(t, "the watch to catch up", func() bool { return rec.watchedSince(0, idx) })

	rec.mu.Lock()
	counts := map[string]int{}
	for _, id := range rec.fetched {
		counts[id]++
	}
	rec.mu.Unlock()
	// a1 changed on the servers twice (marked for migration, then stopped;
	// one fetch may see both): fetched 2 or 3 times. a2 and a3 changed only
	// by their own client's reports: fetched once, when placed.
	if counts[a1] < 2 || counts[a1] > 3 || counts[a2] != 1 || counts[a3] != 1 || len(counts) != 3 {
		t.Errorf("fetches by allocation = %v, want a1 (%s) 2 or 3 times (placed, marked, stopped), a2 (%s) and its replacement a3 (%s) once", counts, a1, a2, a3)
	}
}

// TestClientStopsEvictedAlloc: an allocation evicted by preemption (a job
// of higher priority needs its memory) is stopped like a stopped one.
func TestClientStopsEvictedAlloc(t *testing.T) {
	s, rpc := startRealServer(t)
	var set structs.SchedulerSetConfigurationResponse
	if err := s.RPC(t.Context(), "Operator.SchedulerSetConfiguration", &structs.SchedulerSetConfigRequest{Config: structs.SchedulerConfiguration{
		SchedulerAlgorithm: structs.SchedulerAlgorithmBinpack,
		PreemptionConfig:   structs.PreemptionConfig{ServiceSchedulerEnabled: true}}}, &set); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	cfg := testClientConfig(t, rpc, dataDir)
	facts, _ := gatherHostFacts(dataDir)
	total := fingerprintFromFacts(facts).Resources.MemoryMB
	cfg.Reserved.MemoryMB = total - 100 // room for one of the jobs below, not two
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	waitFor(t, "registration", c.Registered)

	low := sleeperJob()
	low.ID, low.Name, low.Priority, low.Datacenters = "low", "low", 20, []string{"dc1"}
	low.TaskGroups[0].Count = 1
	low.TaskGroups[0].Tasks[0].Resources.MemoryMB = 64
	registerJobOn(t, s, low)
	victim := waitJobAllocs(t, s, "low", 1, structs.AllocClientStatusRunning)[0].ID
	pid := taskPID(t, dataDir, victim, 0)

	high := low.Copy()
	high.ID, high.Name, high.Priority = "high", "high", 80
	registerJobOn(t, s, high)
	waitFor(t, "the low-priority allocation to be evicted", func() bool {
		return serverAlloc(t, s, victim).DesiredStatus == structs.AllocDesiredStatusEvict
	})
	waitServerStatus(t, s, victim, structs.AllocClientStatusComplete)
	waitFor(t, "the evicted allocation's process to end", func() bool { return !processAlive(pid) })
	waitJobAllocs(t, s, "high", 1, structs.AllocClientStatusRunning)
}

// TestDroppedConnectionClosesOnlyOnceTheNextOneServed: the servers take a
// connection closed by its client for a dead client (its node then has only
// reconnect_grace to heartbeat again), so a client that drops a connection
// after a failure (a server slow to answer) leaves it open until a call
// succeeded on the next one: the heartbeat that follows is then what the
// servers' timer of the node names, and the old connection's end changes
// nothing.
func TestDroppedConnectionClosesOnlyOnceTheNextOneServed(t *testing.T) {
	_, rpc := startRealServer(t)
	node := &structs.Node{ID: structs.GenerateUUID(), SecretID: structs.GenerateUUID(), Name: "dropper", Datacenter: "dc1"}
	var reply structs.NodeUpdateResponse
	if err := rpc.RPC(t.Context(), "Node.Register", &structs.NodeRegisterRequest{Node: node}, &reply); err != nil {
		t.Fatal(err)
	}
	rpc.mu.Lock()
	old := rpc.mu.session
	rpc.mu.Unlock()
	lost := make(chan struct{}, 1)
	rpc.OnSessionLost(func() { lost <- struct{}{} })
	rpc.dropSession(old, errors.New("no answer in time"))
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the session-lost hook did not run when the connection was dropped")
	}
	if old.IsClosed() {
		t.Fatal("the dropped connection was closed before a call succeeded on the next one")
	}
	hb := &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}
	if err := rpc.RPC(t.Context(), "Node.UpdateStatus", hb, &reply); err != nil {
		t.Fatal(err)
	}
	if !old.IsClosed() {
		t.Error("the dropped connection is still open after a call succeeded on the next one")
	}
	if n := rpc.nRetiring.Load(); n != 0 {
		t.Errorf("%d connections still retiring", n)
	}
}
