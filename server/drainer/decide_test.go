package drainer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func migrate(maxParallel int, minHealthy time.Duration) *structs.MigrateStrategy {
	return &structs.MigrateStrategy{MaxParallel: maxParallel, HealthCheck: structs.MigrateHealthTaskStates,
		MinHealthyTime: minHealthy, HealthyDeadline: 5 * time.Minute}
}

func ids(as []*structs.Allocation) string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return strings.Join(out, ",")
}

func TestNotDrainingDecidesNothing(t *testing.T) {
	s := newSim(nil)
	s.run(s.job("web", structs.JobTypeService, 1, nil), "drained", 0)
	if d := Decide(s.input()); len(d.Migrate)+len(d.Stop) != 0 || d.Complete {
		t.Fatalf("decision on a node not draining: %+v", d)
	}
}

func TestServiceMigratesInBatchesOfMaxParallel(t *testing.T) {
	s := newSim(&structs.DrainStrategy{})
	web := s.job("web", structs.JobTypeService, 4, migrate(2, 10*time.Second))
	for i := range 4 {
		s.run(web, "drained", i)
	}
	d := Decide(s.input())
	if ids(d.Migrate) != "a001,a002" || d.Complete {
		t.Fatalf("first batch = %q, want a001,a002", ids(d.Migrate))
	}
	s.apply(d)
	if d := Decide(s.input()); len(d.Migrate) != 0 || len(d.Waiting) == 0 {
		t.Fatalf("with 2 marked, decision = %+v; want none more and a reason", d)
	}
	// Replacements placed and started: not healthy before 10s.
	s.schedule()
	s.clients(rand.New(rand.NewPCG(1, 1)))
	for _, a := range s.allocs {
		if a.ClientStatus == structs.AllocClientStatusPending {
			a.ClientStatus = structs.AllocClientStatusRunning
			a.TaskStates = map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning, StartedAt: s.now.UnixNano()}}
		}
	}
	d = Decide(s.input())
	if len(d.Migrate) != 0 || !d.NextCheck.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("replacements not healthy yet: migrate %q, next check %s; want none, at +10s", ids(d.Migrate), d.NextCheck.Sub(t0))
	}
	s.now = s.now.Add(10 * time.Second)
	if d := Decide(s.input()); ids(d.Migrate) != "a003,a004" {
		t.Fatalf("second batch = %q, want a003,a004", ids(d.Migrate))
	}
}

func TestClientReportedHealthOverridesTheStandIn(t *testing.T) {
	s := newSim(&structs.DrainStrategy{})
	web := s.job("web", structs.JobTypeService, 2, migrate(1, time.Hour))
	s.run(web, "drained", 0)
	other := s.run(web, "other", 1)
	unhealthy := false
	other.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &unhealthy}
	if d := Decide(s.input()); len(d.Migrate) != 0 {
		t.Fatalf("migrated %q though the client reports the other allocation unhealthy", ids(d.Migrate))
	}
	healthy := true
	other.DeploymentStatus.Healthy = &healthy
	if d := Decide(s.input()); ids(d.Migrate) != "a001" {
		t.Fatalf("migrate = %q, want a001", ids(d.Migrate))
	}
}

func TestBatchLeftToFinishSystemLastThenComplete(t *testing.T) {
	s := newSim(&structs.DrainStrategy{})
	s.run(s.job("report", structs.JobTypeBatch, 1, nil), "drained", 0)
	sys := s.run(s.job("agent", structs.JobTypeSystem, 1, nil), "drained", 0)
	d := Decide(s.input())
	if len(d.Migrate) != 0 || len(d.Waiting) != 2 {
		t.Fatalf("decision %+v: want nothing marked, waiting on batch and system", d)
	}
	s.allocs["a001"].ClientStatus = structs.AllocClientStatusComplete // the batch finishes
	if d := Decide(s.input()); ids(d.Migrate) != sys.ID {
		t.Fatalf("migrate = %q, want the system allocation once alone", ids(d.Migrate))
	}
	sys.DesiredTransition.Migrate = true
	sys.DesiredStatus = structs.AllocDesiredStatusStop
	if d := Decide(s.input()); d.Complete {
		t.Fatal("complete before the client reported the system allocation stopped")
	}
	sys.ClientStatus = structs.AllocClientStatusComplete
	if d := Decide(s.input()); !d.Complete {
		t.Fatalf("not complete: %+v", d)
	}
}

func TestIgnoreSystemJobsLeavesThemRunning(t *testing.T) {
	s := newSim(&structs.DrainStrategy{DrainSpec: structs.DrainSpec{IgnoreSystemJobs: true}})
	s.run(s.job("agent", structs.JobTypeSystem, 1, nil), "drained", 0)
	if d := Decide(s.input()); !d.Complete || len(d.Migrate) != 0 {
		t.Fatalf("decision %+v: want complete, system allocation left alone", d)
	}
}

func TestDeadlineStopsEverythingLeft(t *testing.T) {
	s := newSim(&structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: time.Minute}, ForceDeadline: t0.Add(time.Minute)})
	s.place = false // nowhere to go
	web := s.job("web", structs.JobTypeService, 2, migrate(1, time.Second))
	s.run(web, "drained", 0)
	s.run(web, "drained", 1)
	s.run(s.job("report", structs.JobTypeBatch, 1, nil), "drained", 0)
	d := Decide(s.input())
	s.apply(d)
	s.schedule()
	d = Decide(s.input())
	if len(d.Migrate) != 0 || !d.NextCheck.Equal(t0.Add(time.Minute)) {
		t.Fatalf("decision %+v: want the drain waiting until the deadline", d)
	}
	if !strings.Contains(strings.Join(d.Waiting, "\n"), "not placed yet") {
		t.Fatalf("waiting %q does not say the replacement is not placed", d.Waiting)
	}
	s.now = t0.Add(time.Minute)
	d = Decide(s.input())
	if len(d.Stop) != 3 || d.Complete {
		t.Fatalf("at the deadline: stop %q, complete %v; want all three stopped, not complete", ids(d.Stop), d.Complete)
	}
}

func TestForceIsADeadlineOfNow(t *testing.T) {
	s := newSim(&structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: -1}, ForceDeadline: t0})
	s.run(s.job("web", structs.JobTypeService, 1, nil), "drained", 0)
	if d := Decide(s.input()); len(d.Stop) != 1 {
		t.Fatalf("force: stop %q, want the allocation", ids(d.Stop))
	}
}

// Property: whatever the groups, max_parallel and the order in which
// clients act, a drain never has more than max_parallel allocations of a
// group out of service, and it ends.
func TestPropertyNeverMoreThanMaxParallelOutOfService(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := newSim(&structs.DrainStrategy{})
		minHealthy := time.Duration(rng.IntN(3)) * time.Second
		type group struct {
			job *structs.Job
			m   *structs.MigrateStrategy
		}
		var groups []group
		for g := range 1 + rng.IntN(3) {
			count := 1 + rng.IntN(8)
			m := migrate(1+rng.IntN(count), minHealthy)
			job := s.job(string(rune('a'+g)), structs.JobTypeService, count, m)
			groups = append(groups, group{job, m})
			for i := range count {
				node := "other"
				if rng.IntN(3) > 0 {
					node = "drained"
				}
				s.run(job, node, i)
			}
		}
		for step := 0; ; step++ {
			if step > 2000 {
				t.Fatalf("seed %d: the drain did not end", seed)
			}
			d := Decide(s.input())
			if d.Complete {
				break
			}
			s.apply(d)
			if rng.IntN(2) == 0 {
				s.schedule()
			}
			s.clients(rng)
			for _, g := range groups {
				if out := g.job.TaskGroups[0].Count - s.inService(g.job, minHealthy); out > g.m.MaxParallel {
					t.Fatalf("seed %d step %d: job %s has %d out of service, max_parallel %d", seed, step, g.job.ID, out, g.m.MaxParallel)
				}
			}
			s.now = s.now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
		}
	}
}

// A node that goes down while draining: the scheduler stops its allocations
// and the servers mark them lost (its client cannot report); lost is
// terminal, so the drain completes.
func TestNodeDownWhileDrainingCompletes(t *testing.T) {
	s := newSim(&structs.DrainStrategy{})
	web := s.job("web", structs.JobTypeService, 2, migrate(1, time.Second))
	a := s.run(web, "drained", 0)
	b := s.run(web, "drained", 1)
	s.apply(Decide(s.input()))
	if d := Decide(s.input()); d.Complete {
		t.Fatal("complete with allocations running")
	}
	for _, x := range []*structs.Allocation{a, b} {
		x.DesiredStatus = structs.AllocDesiredStatusStop
		x.ClientStatus = structs.AllocClientStatusLost
	}
	if d := Decide(s.input()); !d.Complete {
		t.Fatalf("node down, allocations lost: %+v, want complete", d)
	}
}
