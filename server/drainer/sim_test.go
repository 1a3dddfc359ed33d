package drainer

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/orch-io/orch/structs"
)

// sim is a tiny cluster for the drainer's tests: allocations, the time, and
// the scheduler's and clients' reactions reduced to what the drain sees.
type sim struct {
	now    time.Time
	node   *structs.Node // the draining node
	jobs   map[string]*structs.Job
	allocs map[string]*structs.Allocation
	seq    int
	// place, when false, makes every replacement fail to place (no room
	// elsewhere).
	place bool
}

var t0 = time.Unix(1_700_000_000, 0)

func newSim(ds *structs.DrainStrategy) *sim {
	if ds != nil && ds.StartedAt.IsZero() {
		ds.StartedAt = t0
	}
	return &sim{now: t0, node: &structs.Node{ID: "drained", DrainStrategy: ds},
		jobs: map[string]*structs.Job{}, allocs: map[string]*structs.Allocation{}, place: true}
}

func (s *sim) job(id string, typ structs.JobType, count int, m *structs.MigrateStrategy) *structs.Job {
	j := &structs.Job{ID: id, Type: typ, TaskGroups: []*structs.TaskGroup{{Name: "g", Count: count, Migrate: m}}}
	s.jobs[id] = j
	return j
}

// run adds a healthy allocation of job on node, running since long ago.
func (s *sim) run(job *structs.Job, node string, index int) *structs.Allocation {
	s.seq++
	a := &structs.Allocation{ID: fmt.Sprintf("a%03d", s.seq), JobID: job.ID, Job: job, TaskGroup: "g", NodeID: node,
		Name:          structs.AllocName(job.ID, "g", index),
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		TaskStates: map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning, StartedAt: s.now.Add(-time.Hour).UnixNano()}}}
	s.allocs[a.ID] = a
	return a
}

func (s *sim) input() Input {
	in := Input{Now: s.now, Node: s.node, Jobs: map[structs.NamespacedID]*structs.Job{}, JobAllocs: map[structs.NamespacedID][]*structs.Allocation{}}
	for id, j := range s.jobs {
		in.Jobs[structs.NamespacedID{Namespace: structs.NamespaceOr(j.Namespace), ID: id}] = j
	}
	for _, a := range s.allocs {
		if a.NodeID == s.node.ID {
			in.Allocs = append(in.Allocs, a)
		}
		in.JobAllocs[JobKey(a)] = append(in.JobAllocs[JobKey(a)], a)
	}
	return in
}

// apply commits a decision as the drain loop would.
func (s *sim) apply(d Decision) {
	for _, a := range d.Migrate {
		a.DesiredTransition.Migrate = true
	}
	for _, a := range d.Stop {
		a.DesiredStatus = structs.AllocDesiredStatusStop
	}
}

// schedule is the scheduler: each marked allocation gets a replacement on
// another node, started now, and is stopped (system ones are just stopped).
func (s *sim) schedule() {
	for _, a := range s.sorted() {
		if !a.DesiredTransition.Migrate || a.ServerTerminal() {
			continue
		}
		if a.Job.Type == structs.JobTypeSystem {
			a.DesiredStatus = structs.AllocDesiredStatusStop
			continue
		}
		if !s.place {
			continue
		}
		r := s.run(a.Job, "other", a.Index())
		r.ClientStatus = structs.AllocClientStatusPending
		r.TaskStates = nil
		r.PreviousAllocation = a.ID
		a.DesiredStatus = structs.AllocDesiredStatusStop
	}
}

// clients makes clients act: a random subset of pending replacements start,
// stopped allocations report complete.
func (s *sim) clients(rng *rand.Rand) {
	for _, a := range s.sorted() {
		if rng.IntN(2) == 0 {
			continue
		}
		switch {
		case a.ServerTerminal() && !a.ClientTerminal():
			a.ClientStatus = structs.AllocClientStatusComplete
		case a.ClientStatus == structs.AllocClientStatusPending:
			a.ClientStatus = structs.AllocClientStatusRunning
			a.TaskStates = map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning, StartedAt: s.now.UnixNano()}}
		}
	}
}

func (s *sim) sorted() []*structs.Allocation {
	out := make([]*structs.Allocation, 0, len(s.allocs))
	for i := 1; i <= s.seq; i++ {
		if a := s.allocs[fmt.Sprintf("a%03d", i)]; a != nil {
			out = append(out, a)
		}
	}
	return out
}

// inService counts the allocations of a job's group that serve: running,
// wanted running, healthy by the stand-in.
func (s *sim) inService(job *structs.Job, minHealthy time.Duration) int {
	n := 0
	for _, a := range s.allocs {
		if a.JobID != job.ID || a.TerminalStatus() {
			continue
		}
		if ok, _ := a.HealthyByTaskStates(minHealthy, s.now); ok {
			n++
		}
	}
	return n
}
