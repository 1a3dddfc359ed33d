package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// TestRollingRestart: the three servers of a cluster are stopped with SIGTERM
// and started again on their data dirs, one after the other, while a writer
// registers jobs through a server that is not the one restarting. Each server
// is back in the Raft configuration as a voter and has every acknowledged job
// before the next one goes (a server that leaves is removed from the
// configuration, so restarting the next one earlier would shrink the quorum to
// one server). No write fails, every acknowledged job is there exactly once,
// and a leader exists at the end.
func TestRollingRestart(t *testing.T) {
	servers, join := startServers(t, "roll", 3)
	leader := waitForCluster(t, servers, 3)
	t.Logf("cluster formed: leader %s", leader.name)

	acked := map[string]bool{}
	var worstLatency, longestGap time.Duration
	var writes, failures int
	for _, victim := range servers {
		via := anyFollower(servers, victim)
		w := startWriter(t, via, "roll-"+victim.name)
		w.waitAcks(t, 5)
		wasLeader := isLeader(t, victim)

		restarted := time.Now()
		victim.proc.stop()
		victim.proc = nil
		var rest []*clusterServer
		for _, s := range servers {
			if s != victim {
				rest = append(rest, s)
			}
		}
		waitForVoters(t, via, rest) // it left: out of the configuration
		victim.start(t, join)
		waitForVoters(t, via, servers)
		// Caught up: the restarted server's own state (a stale read, which it
		// answers itself) has every job acknowledged before it came back.
		want := acknowledged(acked, w)
		waitFor(t, victim.name+" caught up with the acknowledged jobs", 30*time.Second, func() (bool, error) {
			missing, err := missingJobs(t, victim, want, true)
			return err == nil && len(missing) == 0, fmt.Errorf("%d missing: %v", len(missing), err)
		})
		back := time.Since(restarted)

		// The writer carries on after the server's return.
		w.waitAcks(t, len(w.ackedIDs())+5)
		w.stop()
		for _, id := range w.ackedIDs() {
			acked[id] = true
		}
		lat, gap := w.maxLatency(), w.maxGapAfter(time.Time{})
		worstLatency, longestGap = max(worstLatency, lat), max(longestGap, gap)
		writes += len(w.ackedIDs())
		failures += w.failures()
		t.Logf("%s (leader: %v) restarted, voter and caught up after %s; through %s: %d writes, %d failed, worst latency %s, longest gap %s",
			victim.name, wasLeader, back.Round(time.Millisecond), via.name, len(w.ackedIDs()), w.failures(),
			lat.Round(time.Millisecond), gap.Round(time.Millisecond))
		if w.failures() > 0 {
			t.Errorf("%d writes through %s failed while %s restarted: %v", w.failures(), via.name, victim.name, w.errs)
		}
	}
	t.Logf("FIGURE rolling restart of 3 servers: %d writes, %d failed, worst write latency %s, longest gap between successful writes %s",
		writes, failures, worstLatency.Round(time.Millisecond), longestGap.Round(time.Millisecond))

	leader = waitForCluster(t, servers, 3)
	t.Logf("leader at the end: %s", leader.name)
	out, stderr, code := leader.proc.orch("operator", "raft", "list-peers")
	if code != 0 {
		t.Fatalf("orch operator raft list-peers: exit %d: %s", code, stderr)
	}
	t.Logf("orch operator raft list-peers:\n%s", out)
	for _, s := range servers {
		mustContain(t, "list-peers", out, s.rpcAddr())
	}
	if n := strings.Count(out, "true"); n != len(servers) {
		t.Errorf("list-peers shows %d voters, want %d:\n%s", n, len(servers), out)
	}
	for _, s := range servers {
		if missing, err := missingJobs(t, s, acked, false); err != nil || len(missing) > 0 {
			t.Errorf("through %s: %d acknowledged jobs missing (%v): %v", s.name, len(missing), err, missing)
		}
	}
	checkRegisteredOnce(t, leader, acked)
}

// startServers starts n servers named prefix1..prefixN with
// -bootstrap-expect n, all joining the first, and returns them and their
// gossip addresses (to join with on a restart).
func startServers(t *testing.T, prefix string, n int, args ...string) ([]*clusterServer, []string) {
	t.Helper()
	servers := make([]*clusterServer, n)
	var join []string
	for i := range servers {
		servers[i] = &clusterServer{name: fmt.Sprintf("%s%d", prefix, i+1), dataDir: t.TempDir(), ports: freePorts(t)}
		join = append(join, servers[i].gossipAddr())
	}
	for _, s := range servers {
		s.proc = startAgent(t, s.dataDir, s.ports, append([]string{"-server", "-bootstrap-expect", itoa(n),
			"-bind", "127.0.0.1", "-node", s.name, "-join", join[0]}, args...)...)
	}
	return servers, join
}

// isLeader reports whether s is the leader, as s itself reports.
func isLeader(t *testing.T, s *clusterServer) bool {
	t.Helper()
	var addr string
	if err := s.proc.get("/v1/status/leader", &addr); err != nil {
		t.Fatal(err)
	}
	return addr == s.rpcAddr()
}

// waitForVoters waits until the Raft configuration, as via reports it (from
// the leader), holds exactly the servers, every one a voter, with a leader.
// Servers are matched by RPC address, which is also their Raft address.
func waitForVoters(t *testing.T, via *clusterServer, servers []*clusterServer) {
	t.Helper()
	c := apiClient(t, via)
	waitFor(t, fmt.Sprintf("%d voters in the Raft configuration", len(servers)), 30*time.Second, func() (bool, error) {
		conf, err := c.Operator().RaftGetConfiguration(nil)
		if err != nil {
			return false, err
		}
		voters, leaders := map[string]bool{}, 0
		for _, srv := range conf.Servers {
			if srv.Voter {
				voters[srv.Address] = true
			}
			if srv.Leader {
				leaders++
			}
		}
		for _, s := range servers {
			if !voters[s.rpcAddr()] {
				return false, fmt.Errorf("%s (%s) is not a voter: %d servers, %d voters", s.name, s.rpcAddr(), len(conf.Servers), len(voters))
			}
		}
		return len(conf.Servers) == len(servers) && leaders == 1,
			fmt.Errorf("%d servers, %d leaders in the configuration", len(conf.Servers), leaders)
	})
}

// acknowledged is the union of done and what w has had acknowledged so far.
func acknowledged(done map[string]bool, w *writer) map[string]bool {
	out := make(map[string]bool, len(done))
	for id := range done {
		out[id] = true
	}
	for _, id := range w.ackedIDs() {
		out[id] = true
	}
	return out
}

// missingJobs lists the jobs of want that s does not list; with stale, s
// answers from its own state instead of asking the leader.
func missingJobs(t *testing.T, s *clusterServer, want map[string]bool, stale bool) ([]string, error) {
	jobs, _, err := apiClient(t, s).Jobs().List(&api.QueryOptions{AllowStale: stale})
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, j := range jobs {
		have[j.ID] = true
	}
	var missing []string
	for id := range want {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// checkRegisteredOnce fails unless each job in want was registered exactly
// once: one job-register evaluation per job (a registration applied twice,
// as a retry of a write that had in fact been committed would be, makes two).
func checkRegisteredOnce(t *testing.T, s *clusterServer, want map[string]bool) {
	t.Helper()
	evals, _, err := apiClient(t, s).Evaluations().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range evals {
		if e.TriggeredBy == structs.EvalTriggerJobRegister {
			n[e.JobID]++
		}
	}
	var wrong []string
	for id := range want {
		if n[id] != 1 {
			wrong = append(wrong, fmt.Sprintf("%s: %d", id, n[id]))
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		t.Errorf("%d of %d acknowledged jobs do not have exactly one job-register evaluation: %v", len(wrong), len(want), wrong)
	}
}

// maxLatency is the longest time an acknowledged write took, retries included.
func (w *writer) maxLatency() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var worst time.Duration
	for i, sent := range w.starts {
		worst = max(worst, w.times[i].Sub(sent))
	}
	return worst
}
