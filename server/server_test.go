package server

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestServer_RegisterCommitsJobAndEvalInOneEntryAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, testConfig(dir))

	for _, p := range []string{"server/raft/raft.db", "server/raft/snapshots", "server/server-id"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("expected %s in the data dir: %v", p, err)
		}
	}
	if got := s.Leader(); got != s.RPCAddr() {
		t.Errorf("Leader() = %q, want this server's RPC address %q", got, s.RPCAddr())
	}
	if h := s.Health(); !h.Ok {
		t.Errorf("Health() = %+v, want ok", h)
	}

	resp := registerJob(t, s, testJob("web", 1, 128))
	if resp.EvalID == "" || resp.Index == 0 || resp.EvalCreateIndex != resp.Index || resp.JobModifyIndex != resp.Index {
		t.Fatalf("register response = %+v: want an eval ID and all indexes equal and non-zero", resp)
	}
	job := s.state.JobByID("default", "web")
	eval := s.state.Snapshot().EvalByID(resp.EvalID)
	if job == nil || eval == nil {
		t.Fatalf("after register: job = %v, eval = %v; want both stored", job, eval)
	}
	if job.CreateIndex != resp.Index || eval.CreateIndex != resp.Index {
		t.Errorf("job created at %d, eval at %d: want both at the register's index %d", job.CreateIndex, eval.CreateIndex, resp.Index)
	}
	if eval.JobID != "web" || eval.TriggeredBy != structs.EvalTriggerJobRegister || eval.Type != structs.JobTypeService ||
		eval.Priority != structs.DefaultJobPriority || eval.JobModifyIndex != resp.Index || eval.CreateTime == 0 {
		t.Errorf("eval = %+v: want a job-register eval of job web at the job's modify index", eval)
	}
	if job.SubmitTime == 0 {
		t.Errorf("job.SubmitTime = 0: want the time of the registration")
	}

	var got structs.SingleJobResponse
	if err := s.RPC(t.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: "web"}, &got); err != nil {
		t.Fatalf("Job.GetJob: %v", err)
	}
	if got.Job == nil || got.Job.ID != "web" || got.Index < resp.Index || !got.KnownLeader {
		t.Fatalf("Job.GetJob = job %v, meta %+v: want job web at index >= %d with a known leader", got.Job, got.QueryMeta, resp.Index)
	}

	// Restart on the same data directory: the job and its eval are still
	// there, and nothing was bootstrapped again (the log was not reset).
	lastIndex := s.raft.LastIndex()
	if err := s.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	s2 := startServer(t, testConfig(dir))
	waitFor(t, 5*time.Second, "restarted server replays the job", func() bool { return s2.state.JobByID("default", "web") != nil })
	if e := s2.state.Snapshot().EvalByID(resp.EvalID); e == nil {
		t.Fatalf("eval %s lost across restart", resp.EvalID)
	}
	if s2.raft.LastIndex() < lastIndex {
		t.Errorf("raft last index after restart = %d, before = %d: the log was reset", s2.raft.LastIndex(), lastIndex)
	}
	cfg := s2.raft.GetConfiguration()
	if err := cfg.Error(); err != nil {
		t.Fatalf("raft configuration: %v", err)
	}
	if srvs := cfg.Configuration().Servers; len(srvs) != 1 || string(srvs[0].Address) != s2.RPCAddr() {
		t.Errorf("raft configuration after restart = %+v: want this server alone, at its new address %s", srvs, s2.RPCAddr())
	}
}

func TestServer_RestartFromRaftSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, testConfig(dir))
	resp := registerJob(t, s, testJob("snap", 1, 128))
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatalf("raft snapshot: %v", err)
	}
	registerJob(t, s, testJob("after-snap", 1, 128)) // in the log only
	if err := s.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	s2 := startServer(t, testConfig(dir))
	waitFor(t, 5*time.Second, "restored server has both jobs", func() bool {
		return s2.state.JobByID("default", "snap") != nil && s2.state.JobByID("default", "after-snap") != nil
	})
	if s2.state.Snapshot().EvalByID(resp.EvalID) == nil {
		t.Fatalf("eval %s lost across snapshot restore", resp.EvalID)
	}
}

func TestServer_NoBootstrapWithoutBootstrapExpect(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 0
	cfg.LeaderWaitTimeout = 100 * time.Millisecond // no leader will come
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	defer s.Shutdown()
	if has := s.raft.LastIndex(); has != 0 {
		t.Errorf("raft last index = %d on a server that must not bootstrap, want 0", has)
	}
	var resp structs.JobRegisterResponse
	err = s.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: testJob("x", 1, 128)}, &resp)
	if !errors.Is(err, structs.ErrNoLeader) {
		t.Errorf("Job.Register without a leader: err = %v, want %q", err, structs.ErrNoLeader)
	}
	if h := s.Health(); h.Ok {
		t.Errorf("Health() = %+v without a leader, want not ok", h)
	}
}

func TestConfig_ValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{BindAddr: "not-an-ip", RPCPort: -1, GossipPort: 70000, BootstrapExpect: -1, NumSchedulers: -2, MinHeartbeatTTL: -time.Second}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	for _, want := range []string{"data_dir", `bind_addr = "not-an-ip"`, "rpc_port = -1", "gossip_port = 70000", "bootstrap_expect = -1", "num_schedulers = -2", "min_heartbeat_ttl = -1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, want it to mention %q", err, want)
		}
	}
	if _, err := NewServer(cfg); err == nil {
		t.Errorf("NewServer accepted an invalid config")
	}
}
