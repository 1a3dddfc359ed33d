package dockere2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// defaultSchedules is the "at least 20 schedules"; 20 took 110 s
// here (a partition's heal can take 20-30 s: gossip re-probes the servers it
// declared dead only every so often), the whole suite about 3 minutes.
const defaultSchedules = 20

type faultKind int

const (
	faultKill      faultKind = iota // docker kill -s KILL, docker start to heal
	faultPause                      // docker pause (cgroup freezer, like SIGSTOP)
	faultPartition                  // docker network disconnect, connect to heal
)

func (k faultKind) String() string {
	return [...]string{"kill", "pause", "partition"}[k]
}

// fault is one fault of a schedule. The target is a role, resolved when the
// schedule runs (the leader changes from run to run), so that a seed gives
// the same schedule every time.
type fault struct {
	kind     faultKind
	leader   bool // target the leader; otherwise follower number follower
	follower int  // 0 or 1
}

func (f fault) String() string {
	if f.leader {
		return f.kind.String() + "(leader)"
	}
	return fmt.Sprintf("%s(follower %d)", f.kind, f.follower)
}

// schedule is one or two faults applied together and healed after hold. Two
// faults on two servers take the quorum away.
type schedule struct {
	faults []fault
	hold   time.Duration
}

func (s schedule) String() string {
	var parts []string
	for _, f := range s.faults {
		parts = append(parts, f.String())
	}
	return fmt.Sprintf("%s for %s", strings.Join(parts, " + "), s.hold)
}

// randomSchedule draws a schedule: one fault (two in three draws) or two on
// distinct servers, each a kill, a pause or a partition, held 1-5 s.
func randomSchedule(rng *rand.Rand) schedule {
	n := 1
	if rng.IntN(3) == 0 {
		n = 2
	}
	var s schedule
	first := fault{kind: faultKind(rng.IntN(3)), leader: rng.IntN(2) == 0, follower: rng.IntN(2)}
	s.faults = append(s.faults, first)
	if n == 2 {
		second := fault{kind: faultKind(rng.IntN(3))}
		if first.leader {
			second.follower = rng.IntN(2)
		} else if rng.IntN(2) == 0 {
			second.leader = true
		} else {
			second.follower = 1 - first.follower
		}
		s.faults = append(s.faults, second)
	}
	s.hold = time.Second + time.Duration(rng.Int64N(int64(4*time.Second)))
	return s
}

// TestFaultSchedules runs seeded random schedules of kills, pauses and
// partitions of servers while one writer per server registers jobs, healing
// and waiting for a healthy cluster after each, then checks the whole
// history.
func TestFaultSchedules(t *testing.T) {
	requireDocker(t)
	n := defaultSchedules
	if v := os.Getenv("ORCH_DOCKER_SCHEDULES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("ORCH_DOCKER_SCHEDULES = %q: must be a positive integer", v)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ORCH_DOCKER_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("ORCH_DOCKER_SEED = %q: must be an unsigned integer", v)
		}
	}
	t.Logf("fault schedules: %d, seed %d (rerun with ORCH_DOCKER_SEED=%d ORCH_DOCKER_SCHEDULES=%d)", n, seed, seed, n)
	rng := rand.New(rand.NewPCG(seed, seed))

	c := startCluster(t)
	leader := c.waitHealthy()
	w := c.startWriters("sched", c.servers...)
	w.waitAcksAfter(t, time.Time{}, 10)
	for i := range n {
		s := randomSchedule(rng)
		targets := c.resolve(s, leader)
		var names []string
		for _, a := range targets {
			names = append(names, a.name)
		}
		t.Logf("schedule %d/%d: %s on %v (leader %s)", i+1, n, s, names, leader.name)
		for j, f := range s.faults {
			c.inject(f.kind, targets[j])
		}
		timer := time.NewTimer(s.hold) // the fault's duration, not a wait for a condition
		<-timer.C
		for j := len(s.faults) - 1; j >= 0; j-- {
			c.heal(s.faults[j].kind, targets[j])
		}
		healed := time.Now()
		leader = c.waitHealthy()
		w.waitAcksAfter(t, healed, 3)
		t.Logf("schedule %d/%d: healthy again after %s, leader %s", i+1, n, time.Since(healed).Round(time.Millisecond), leader.name)
	}
	w.stop()
	r := c.check()
	figure(t, "fault_schedules", float64(n), "count")
	figure(t, "duplicate_register_evals", float64(r.ExtraRegisterEvals), "count")
}

// resolve maps a schedule's roles to the servers that hold them now.
func (c *cluster) resolve(s schedule, leader *agent) []*agent {
	followers := c.others(leader)
	var out []*agent
	for _, f := range s.faults {
		if f.leader {
			out = append(out, leader)
		} else {
			out = append(out, followers[f.follower])
		}
	}
	return out
}

func (c *cluster) inject(k faultKind, a *agent) {
	c.t.Helper()
	switch k {
	case faultKill:
		c.kill(a)
	case faultPause:
		c.pause(a)
	case faultPartition:
		c.disconnect(a)
	}
}

func (c *cluster) heal(k faultKind, a *agent) {
	c.t.Helper()
	switch k {
	case faultKill:
		c.restart(a)
	case faultPause:
		c.unpause(a)
	case faultPartition:
		c.connect(a)
	}
}
