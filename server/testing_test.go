package server

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// Test helpers: real servers on 127.0.0.1 with ephemeral ports and their data
// in t.TempDir(). Set ORCH_TEST_LOG=1 to see the servers' logs on stderr.

var testServerSeq atomic.Int64

func testLogger() *slog.Logger {
	if os.Getenv("ORCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConfig is a dev-mode configuration on ephemeral ports in dir.
func testConfig(dir string) Config {
	cfg := DevConfig()
	cfg.DataDir = dir
	cfg.NodeName = fmt.Sprintf("server-%d", testServerSeq.Add(1))
	cfg.RPCPort, cfg.GossipPort = 0, 0
	cfg.NumSchedulers = 2
	cfg.Logger = testLogger()
	return cfg
}

// startServer starts a server and waits until it leads. It is shut down when
// the test ends (Shutdown is idempotent, so tests may also shut it down).
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	waitFor(t, 10*time.Second, "server becomes leader and enables its broker", func() bool {
		return s.leads() && s.broker.Enabled() && s.heartbeats.enabledForTest()
	})
	return s
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not a wait for an event
	}
}

func (h *heartbeats) enabledForTest() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.enabled
}

// testJob is a service job with one group of count tasks of the given memory.
func testJob(id string, count, memoryMB int) *structs.Job {
	return &structs.Job{
		Region:      "global",
		Namespace:   structs.DefaultNamespace,
		ID:          id,
		Name:        id,
		Type:        structs.JobTypeService,
		Priority:    structs.DefaultJobPriority,
		Datacenters: []string{"*"},
		TaskGroups: []*structs.TaskGroup{{
			Name:          "web",
			Count:         count,
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: 100},
			RestartPolicy: &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second, Mode: structs.RestartPolicyModeFail},
			Tasks: []*structs.Task{{
				Name:        "server",
				Driver:      "raw_exec",
				Config:      map[string]any{"command": "/bin/sleep", "args": []any{"1000"}},
				Resources:   &structs.Resources{CPU: 100, MemoryMB: memoryMB},
				KillTimeout: 5 * time.Second,
				KillSignal:  "SIGINT",
			}},
		}},
	}
}

// testNode is a ready-to-register client node with 4000 MHz and 8 GiB.
func testNode() *structs.Node {
	id := structs.GenerateUUID()
	return &structs.Node{
		ID:         id,
		SecretID:   structs.GenerateUUID(),
		Name:       "node-" + structs.ShortID(id),
		Datacenter: "dc1",
		Attributes: map[string]string{
			"kernel.name": "linux", "os.name": "linux", "cpu.arch": "amd64",
			"cpu.numcores": "4", "cpu.totalcompute": "4000", "memory.totalbytes": "8589934592",
			"unique.hostname": "node-" + structs.ShortID(id), "driver.raw_exec": "1",
		},
		NodeResources: &structs.NodeResources{CPU: 4000, MemoryMB: 8192, DiskMB: 100 * 1024},
		Drivers: map[string]*structs.DriverInfo{
			"raw_exec": {Detected: true, Healthy: true, HealthDescription: "healthy"},
		},
		SchedulingEligibility: structs.NodeEligible,
	}
}

// registerJob registers job through the in-process RPC and fails the test on error.
func registerJob(t *testing.T, s *Server, job *structs.Job) *structs.JobRegisterResponse {
	t.Helper()
	var resp structs.JobRegisterResponse
	if err := s.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: job}, &resp); err != nil {
		t.Fatalf("Job.Register %q: %v", job.ID, err)
	}
	return &resp
}

// registerNode registers node through the in-process RPC.
func registerNode(t *testing.T, s *Server, node *structs.Node) *structs.NodeUpdateResponse {
	t.Helper()
	var resp structs.NodeUpdateResponse
	if err := s.RPC(t.Context(), "Node.Register", &structs.NodeRegisterRequest{Node: node}, &resp); err != nil {
		t.Fatalf("Node.Register %s: %v", node.ID, err)
	}
	return &resp
}

// storeJobUnscheduled commits job through Raft with an evaluation of a type no
// worker dequeues, so that no scheduler touches the job: tests that place
// allocations by hand use it.
func storeJobUnscheduled(t *testing.T, s *Server, job *structs.Job) *structs.Job {
	t.Helper()
	job.Canonicalize()
	eval := newJobEval(job, structs.EvalTriggerJobRegister, time.Now().UnixNano())
	eval.Type = "test-unscheduled"
	if _, err := s.raftApply(MsgJobRegister, &JobRegisterEntry{Job: job, Eval: eval}); err != nil {
		t.Fatalf("storing job %q: %v", job.ID, err)
	}
	return s.state.JobByID("default", job.ID)
}
