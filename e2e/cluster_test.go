package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// clusterServer is one server of a test cluster: its process changes across
// kills and restarts, its data dir and ports do not.
type clusterServer struct {
	name    string
	dataDir string
	ports   [3]int
	proc    *agentProc // nil while stopped
}

func (s *clusterServer) rpcAddr() string    { return fmt.Sprintf("127.0.0.1:%d", s.ports[1]) }
func (s *clusterServer) gossipAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.ports[2]) }

// start runs `orch agent -server -bootstrap-expect 3`, joining join.
func (s *clusterServer) start(t *testing.T, join []string) {
	t.Helper()
	s.proc = startAgent(t, s.dataDir, s.ports, "-server", "-bootstrap-expect", "3", "-bind", "127.0.0.1",
		"-node", s.name, "-join", strings.Join(join, ","))
}

// TestCluster: three servers form a cluster by gossip; writes through a
// follower are forwarded; a killed leader is replaced within seconds and no
// acknowledged write is lost; a leader stopped with SIGTERM hands leadership
// over; the survivors stopped and restarted come back with every job; a client
// agent runs a job through the cluster.
func TestCluster(t *testing.T) {
	servers := make([]*clusterServer, 3)
	for i := range servers {
		servers[i] = &clusterServer{name: fmt.Sprintf("s%d", i+1), dataDir: t.TempDir(), ports: freePorts(t)}
	}
	var join []string
	for _, s := range servers {
		join = append(join, s.gossipAddr())
	}
	for _, s := range servers {
		s.start(t, join[:1]) // everyone joins s1, s1 itself included
	}
	leader := waitForCluster(t, servers, 3)
	t.Logf("cluster formed: leader %s", leader.name)

	// Writes through a follower are forwarded to the leader.
	acked := map[string]bool{}
	follower := anyFollower(servers, leader)
	c := apiClient(t, follower)
	for i := range 5 {
		id := fmt.Sprintf("forwarded-%d", i)
		if _, err := c.Jobs().Register(emptyJob(id)); err != nil {
			t.Fatalf("registering %s through follower %s: %v", id, follower.name, err)
		}
		acked[id] = true
	}
	checkJobs(t, follower, acked)

	// SIGKILL the leader, five times (whoever leads): a new leader within
	// seconds accepts writes; nothing acknowledged is lost.
	var failovers []time.Duration
	for round := range 5 {
		via := anyFollower(servers, leader)
		w := startWriter(t, via, fmt.Sprintf("kill%d", round))
		w.waitAcks(t, 5)
		victim := leader
		var addr string
		if err := victim.proc.get("/v1/status/leader", &addr); err != nil || addr != victim.rpcAddr() {
			// Leadership moved since waitForCluster (the restarted server's
			// return can cause an election): kill whoever leads now.
			leader = waitForCluster(t, servers, 3)
			victim = leader
		}
		killed := time.Now()
		victim.proc.cmd.Process.Kill()
		<-victim.proc.exited
		victim.proc = nil
		first := w.firstAckAfter(t, killed)
		failovers = append(failovers, first.Sub(killed))
		w.waitAcks(t, len(w.ackedIDs())+3)
		w.stop()
		for _, id := range w.ackedIDs() {
			acked[id] = true
		}
		checkJobs(t, via, acked)
		t.Logf("round %d: leader %s killed, first write acknowledged after %s (%d writes, %d failed attempts)",
			round, victim.name, failovers[round].Round(time.Millisecond), len(w.ackedIDs()), w.failures())
		victim.start(t, join) // back on its data dir
		leader = waitForCluster(t, servers, 3)
	}
	slices.Sort(failovers)
	t.Logf("FIGURE leader killed -> first successful write: p50 %s, worst %s over %d kills",
		failovers[len(failovers)/2].Round(time.Millisecond), failovers[len(failovers)-1].Round(time.Millisecond), len(failovers))

	// SIGTERM the leader under a continuous writer: leadership is handed
	// over, the writer sees no error and a short gap only.
	via := anyFollower(servers, leader)
	w := startWriter(t, via, "leave")
	w.waitAcks(t, 10)
	termed := time.Now()
	leader.proc.stop()
	leader.proc = nil
	departed := leader
	n := len(w.ackedIDs())
	w.waitAcks(t, n+10)
	w.stop()
	gap := w.maxGapAfter(termed.Add(-time.Second))
	for _, id := range w.ackedIDs() {
		acked[id] = true
	}
	t.Logf("FIGURE graceful leader leave -> longest gap between successful writes: %s (%d writes, %d failed attempts)",
		gap.Round(time.Millisecond), len(w.ackedIDs()), w.failures())
	if w.failures() > 0 {
		t.Errorf("%d writes failed during a graceful leader leave", w.failures())
	}
	var rest []*clusterServer
	for _, s := range servers {
		if s.proc != nil {
			rest = append(rest, s)
		}
	}
	leader = waitForCluster(t, rest, 2)
	checkJobs(t, rest[0], acked)
	var members structs.AgentMembersResponse
	if err := leader.proc.get("/v1/agent/members", &members); err != nil {
		t.Fatal(err)
	}
	if m := findMember(members.Members, departed.name); m == nil || m.Status != "left" {
		t.Errorf("the leader lists the server that left as %+v, want status left", m)
	}

	// Full stop and restart of the survivors on their data dirs.
	for _, s := range rest {
		s.proc.stop()
		s.proc = nil
	}
	for _, s := range rest {
		s.start(t, []string{rest[0].gossipAddr(), rest[1].gossipAddr()})
	}
	leader = waitForCluster(t, rest, 2)
	checkJobs(t, rest[0], acked)
	checkJobs(t, rest[1], acked)
	t.Logf("restarted: leader %s, %d jobs back", leader.name, len(acked))

	// A client agent given one server's RPC address runs a job; when that
	// server goes away, the client carries on with the other one, which it
	// learned from the servers' replies.
	clientServer := anyFollower(rest, leader)
	startAgent(t, t.TempDir(), freePorts(t), "-client", "-servers", clientServer.rpcAddr(), "-node", "e2e-cluster-client")
	runOnClient(t, rest, "cluster-sleep")

	clientServer.proc.stop()
	clientServer.proc = nil
	other := anyFollower(rest, clientServer)
	waitForCluster(t, []*clusterServer{other}, 1)
	runOnClient(t, []*clusterServer{other}, "after-failover")
}

// runOnClient registers a sleep job through the first running server and
// waits until its allocation runs.
func runOnClient(t *testing.T, servers []*clusterServer, id string) {
	t.Helper()
	s := anyFollower(servers, nil)
	job := structstest.Job(id)
	job.Datacenters = []string{"*"}
	job.TaskGroups[0].Tasks[0].Resources.MemoryMB = 32
	if _, err := apiClient(t, s).Jobs().Register(job); err != nil {
		t.Fatalf("registering %s: %v", id, err)
	}
	start := time.Now()
	waitFor(t, id+" to run on the client", 30*time.Second, func() (bool, error) {
		var allocs []*structs.AllocListStub
		if err := s.proc.get("/v1/job/"+id+"/allocations", &allocs); err != nil {
			return false, err
		}
		running := runningAllocs(allocs)
		return len(running) == 1 && len(allocPIDs(running[0].ID)) > 0, nil
	})
	t.Logf("%s running on the client after %s", id, time.Since(start).Round(time.Millisecond))
}

// waitForCluster waits until every running server sees n alive servers in
// gossip and all agree on one leader, and returns it.
func waitForCluster(t *testing.T, servers []*clusterServer, n int) *clusterServer {
	t.Helper()
	var leader *clusterServer
	waitFor(t, fmt.Sprintf("%d servers alive with one agreed leader", n), 30*time.Second, func() (bool, error) {
		leader = nil
		var agreed string
		for _, s := range servers {
			if s.proc == nil {
				continue
			}
			var members structs.AgentMembersResponse
			if err := s.proc.get("/v1/agent/members", &members); err != nil {
				return false, err
			}
			alive := 0
			for _, m := range members.Members {
				if m.Status == "alive" && api.IsServerMember(m) {
					alive++
				}
			}
			if alive != n {
				return false, fmt.Errorf("%s sees %d alive servers", s.name, alive)
			}
			var addr string
			if err := s.proc.get("/v1/status/leader", &addr); err != nil {
				return false, err
			}
			if addr == "" || (agreed != "" && addr != agreed) {
				return false, fmt.Errorf("%s: leader %q, others %q", s.name, addr, agreed)
			}
			agreed = addr
		}
		for _, s := range servers {
			if s.proc != nil && s.rpcAddr() == agreed {
				leader = s
			}
		}
		return leader != nil, nil
	})
	return leader
}

func anyFollower(servers []*clusterServer, leader *clusterServer) *clusterServer {
	for _, s := range servers {
		if s != leader && s.proc != nil {
			return s
		}
	}
	return nil
}

func apiClient(t *testing.T, s *clusterServer) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: s.proc.addr()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// emptyJob is a service job of count 0: registering it is a Raft write and
// an evaluation, and places nothing.
func emptyJob(id string) *structs.Job {
	job := structstest.Job(id)
	job.TaskGroups[0].Count = 0
	return job
}

// checkJobs fails unless every job in want is registered, as s's API (the
// leader, through forwarding) reports.
func checkJobs(t *testing.T, s *clusterServer, want map[string]bool) {
	t.Helper()
	var jobs []*structs.JobListStub
	if err := s.proc.get("/v1/jobs", &jobs); err != nil {
		t.Fatalf("listing jobs through %s: %v", s.name, err)
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
	if len(missing) > 0 {
		t.Fatalf("%d acknowledged jobs missing on %s: %v", len(missing), s.name, missing)
	}
}

// writer registers empty jobs one after the other through one server and
// records when each registration was acknowledged.
type writer struct {
	c      *api.Client
	prefix string
	quit   chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	ids    []string
	starts []time.Time // when each acknowledged write was sent
	times  []time.Time // when it was acknowledged
	failed int
	errs   []string
}

func startWriter(t *testing.T, via *clusterServer, prefix string) *writer {
	w := &writer{c: apiClient(t, via), prefix: prefix, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.quit:
				return
			default:
			}
			id := fmt.Sprintf("%s-%d", w.prefix, i)
			sent := time.Now()
			_, err := w.c.Jobs().Register(emptyJob(id))
			now := time.Now()
			w.mu.Lock()
			if err == nil {
				w.ids = append(w.ids, id)
				w.starts = append(w.starts, sent)
				w.times = append(w.times, now)
			} else {
				w.failed++
				if len(w.errs) < 5 {
					w.errs = append(w.errs, err.Error())
				}
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *writer) stop() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	<-w.done
}

func (w *writer) ackedIDs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ids)
}

func (w *writer) failures() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

func (w *writer) waitAcks(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d acknowledged writes by %s", n, w.prefix), 20*time.Second, func() (bool, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.ids) >= n, fmt.Errorf("errors: %v", w.errs)
	})
}

// firstAckAfter waits for the first acknowledgement of a write sent after
// since, and returns when it came.
func (w *writer) firstAckAfter(t *testing.T, since time.Time) time.Time {
	t.Helper()
	var first time.Time
	waitFor(t, "a write acknowledged after the kill", 20*time.Second, func() (bool, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for i, sent := range w.starts {
			if sent.After(since) {
				first = w.times[i]
				return true, nil
			}
		}
		return false, fmt.Errorf("errors: %v", w.errs)
	})
	return first
}

// maxGapAfter is the longest time between two consecutive acknowledgements
// from since on.
func (w *writer) maxGapAfter(since time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var gap time.Duration
	for i := 1; i < len(w.times); i++ {
		if w.times[i].After(since) {
			gap = max(gap, w.times[i].Sub(w.times[i-1]))
		}
	}
	return gap
}

func findMember(members []*structs.AgentMember, name string) *structs.AgentMember {
	for _, m := range members {
		if m.Name == name {
			return m
		}
	}
	return nil
}
