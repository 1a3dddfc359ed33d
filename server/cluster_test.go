package server

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// startCluster starts n servers expecting n, joins them by gossip and waits
// until one leads with all n as voters.
func startCluster(t testing.TB, n int) []*Server {
	t.Helper()
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = testConfig(t.TempDir())
	}
	return startClusterOf(t, cfgs...)
}

// startClusterOf is startCluster with a configuration per server
// (BootstrapExpect is set to their number).
func startClusterOf(t testing.TB, cfgs ...Config) []*Server {
	t.Helper()
	servers := make([]*Server, len(cfgs))
	for i, cfg := range cfgs {
		cfg.BootstrapExpect = len(cfgs)
		s, err := NewServer(cfg)
		if err != nil {
			t.Fatalf("NewServer: %v", err)
		}
		t.Cleanup(func() { s.Shutdown() })
		servers[i] = s
		if i > 0 {
			if _, err := s.Join([]string{servers[0].GossipAddr()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 15*time.Second, "one leader with every server a voter", func() bool {
		l := leaderOf(servers)
		if l == nil || !l.broker.Enabled() {
			return false
		}
		f := l.raft.GetConfiguration()
		if f.Error() != nil || len(f.Configuration().Servers) != len(servers) {
			return false
		}
		for _, s := range servers {
			if s.Leader() != l.RPCAddr() {
				return false
			}
		}
		return true
	})
	return servers
}

func leaderOf(servers []*Server) *Server {
	for _, s := range servers {
		if s.shutdownCtx.Err() == nil && s.IsLeader() {
			return s
		}
	}
	return nil
}

func followerOf(servers []*Server) *Server {
	for _, s := range servers {
		if s.shutdownCtx.Err() == nil && !s.IsLeader() {
			return s
		}
	}
	return nil
}

func TestCluster_BootstrapExpectForwardingAndGracefulLeave(t *testing.T) {
	servers := startCluster(t, 3)
	// A follower learns it is a member when the leader's configuration
	// reaches it, which may come after the leader is elected.
	for _, s := range servers {
		waitFor(t, 10*time.Second, "server "+s.config.NodeName+" to advertise raft state after bootstrap", func() bool {
			s.members.Lock()
			defer s.members.Unlock()
			return s.raftExisting
		})
	}

	// A write on a follower is forwarded to the leader.
	f := followerOf(servers)
	var reg structs.JobRegisterResponse
	if err := f.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 1, 64)}, &reg); err != nil {
		t.Fatalf("Job.Register on a follower: %v", err)
	}
	if reg.Index == 0 || reg.EvalID == "" {
		t.Fatalf("Job.Register on a follower answered %+v", reg)
	}
	// A read without stale is answered by the leader: it sees the write.
	var job structs.SingleJobResponse
	if err := f.RPC(t.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: "web"}, &job); err != nil || job.Job == nil {
		t.Fatalf("Job.GetJob on a follower = %v, %v; want the job", job.Job, err)
	}
	if !job.KnownLeader || job.Index < reg.Index {
		t.Errorf("forwarded read meta = %+v, want a known leader and index >= %d", job.QueryMeta, reg.Index)
	}
	// A stale read is answered locally, with the follower's last contact.
	waitFor(t, 5*time.Second, "the follower applies the write", func() bool { return f.state.JobByID("default", "web") != nil })
	var stale structs.JobListResponse
	if err := f.RPC(t.Context(), "Job.List", &structs.JobListRequest{QueryOptions: structs.QueryOptions{AllowStale: true}}, &stale); err != nil || len(stale.Jobs) != 1 {
		t.Fatalf("stale Job.List on a follower = %d jobs, %v; want 1", len(stale.Jobs), err)
	}
	if !stale.KnownLeader {
		t.Errorf("stale read meta = %+v, want a known leader", stale.QueryMeta)
	}

	// The leader leaving hands leadership over; the one that left is removed.
	old := leaderOf(servers)
	if err := old.Shutdown(); err != nil {
		t.Fatalf("Shutdown of the leader: %v", err)
	}
	var rest []*Server
	for _, s := range servers {
		if s != old {
			rest = append(rest, s)
		}
	}
	waitFor(t, 10*time.Second, "a new leader and the old one removed from raft", func() bool {
		l := leaderOf(rest)
		if l == nil {
			return false
		}
		f := l.raft.GetConfiguration()
		if f.Error() != nil {
			return false
		}
		for _, srv := range f.Configuration().Servers {
			if srv.ID == old.raftID {
				return false
			}
		}
		return len(f.Configuration().Servers) == 2
	})
	if err := followerOf(rest).RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: testJob("api", 1, 64)}, &reg); err != nil {
		t.Fatalf("Job.Register on a follower after the leader left: %v", err)
	}
}

func TestCluster_NoBootstrapNextToExistingState(t *testing.T) {
	a := startServer(t, testConfig(t.TempDir())) // a single-server cluster: has state
	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 2
	b := joinedServer(t, a, cfg)
	// b sees 2 servers, one with state: it must not bootstrap; a, the
	// leader, adds it to its own cluster instead.
	waitFor(t, 10*time.Second, "b added to a's cluster", func() bool {
		return b.Leader() == a.RPCAddr()
	})
	f := a.raft.GetConfiguration()
	if err := f.Error(); err != nil || len(f.Configuration().Servers) != 2 {
		t.Fatalf("raft configuration = %+v, %v; want a and b", f.Configuration(), err)
	}
	var reg structs.JobRegisterResponse
	if err := b.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 1, 64)}, &reg); err != nil {
		t.Fatalf("Job.Register on b: %v", err)
	}
}
