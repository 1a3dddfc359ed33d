package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// BenchmarkReschedule1000FailuresOn5000Nodes is the figure: 1,000
// allocations of a service job (the default policy: 30s, exponential) fail
// at once (within one second) on a 5,000-node cluster. One op is the whole
// story on the harness (real state store, plans committed): the evaluation
// that sees the failures makes the follow-ups, then each follow-up,
// released at its WaitUntil, places replacements. It reports the follow-up
// evaluations created, and the time from the failures until every
// replacement is placed: the policy's delay (virtual time) plus the
// scheduler's compute time of the follow-ups (wall time).
func BenchmarkReschedule1000FailuresOn5000Nodes(b *testing.B) {
	var followups int
	var compute time.Duration
	var wait time.Duration
	for range b.N {
		b.StopTimer()
		h := newHarness(b)
		h.upsertNodes(plainNodes(5000)...)
		job := h.run(mockJob().Count(1000).CPU(100).Mem(256).Reschedule(structs.DefaultReschedulePolicy(structs.JobTypeService)).Build())
		live := h.live(job.ID)
		var failed []*structs.Allocation
		for i, a := range live {
			u := a.Copy()
			u.ClientStatus = structs.AllocClientStatusFailed
			u.TaskStates = map[string]*structs.TaskState{"web": {State: structs.TaskStateDead, Failed: true,
				FinishedAt: testNow.Add(time.Duration(i) * time.Millisecond).UnixNano()}}
			failed = append(failed, u)
		}
		must(h.t, h.store.UpdateAllocsFromClient(h.nextIndex(), failed))
		b.StartTimer()

		start := time.Now()
		h.process(job.Type, h.newEval(job, structs.EvalTriggerRetryFailedAlloc))
		created := append([]*structs.Evaluation(nil), h.created...)
		for _, f := range created {
			h.now = f.WaitUntil
			must(h.t, h.store.UpsertEvals(h.nextIndex(), []*structs.Evaluation{f.Copy()}))
			h.process(job.Type, f)
		}
		compute += time.Since(start)
		followups += len(created)
		if last := created[len(created)-1].WaitUntil; last.Sub(testNow) > wait {
			wait = last.Sub(testNow)
		}
		if n := len(h.live(job.ID)); n != 1000 {
			b.Fatalf("%d live allocations after the follow-ups, want 1000 replacements", n)
		}
	}
	b.ReportMetric(float64(followups)/float64(b.N), "followup-evals")
	fmt.Printf("FIGURE name=reschedule_1000_failures_followup_evals value=%d unit=evals\n", followups/b.N)
	fmt.Printf("FIGURE name=reschedule_1000_failures_policy_wait value=%.1f unit=s\n", wait.Seconds())
	fmt.Printf("FIGURE name=reschedule_1000_failures_scheduler_time value=%.0f unit=ms\n",
		float64(compute.Milliseconds())/float64(b.N))
}

// BenchmarkNodeDownEvalCount1000On5000Nodes: what one evaluation costs the
// scheduler when nodes are lost. A count-1,000 service job runs on 5,000
// nodes; the nodes holding its first 27 allocations go down (the share of a
// job the simulator's 1% node loss takes). One op is the node-update
// evaluation processed from one snapshot to a complete plan (the lost
// allocations stopped, their replacements placed), nothing committed.
func BenchmarkNodeDownEvalCount1000On5000Nodes(b *testing.B) {
	h := newHarness(b)
	h.upsertNodes(plainNodes(5000)...)
	job := h.run(mockJob().Count(1000).CPU(100).Mem(256).Build())
	live := h.live(job.ID)
	down := h.downNodesOf(live[:27])
	lost := 0 // the 27 and every other allocation on their nodes
	for _, a := range live {
		if down[a.NodeID] {
			lost++
		}
	}
	if placed := benchNodeDownEval(b, h, job); placed != lost*b.N {
		b.Fatalf("placed %d allocations in %d ops, want the %d lost per op", placed, b.N, lost)
	}
	b.ReportMetric(float64(lost), "lost/op")
}

// BenchmarkNodeDownEvalOnBusyNodes: the same, on the simulator's 100k
// cluster: 100 jobs × 1,000 (100 MHz, 128 MB each) bin-packed on 5,000
// nodes (about 1,900 of them busy, some 50 allocations each), the job's
// first 27 allocations' nodes down. The candidates are the busy nodes: each
// one visited was summed allocation by allocation before the state store
// kept a usage per node.
func BenchmarkNodeDownEvalOnBusyNodes(b *testing.B) {
	h := newHarness(b)
	h.upsertNodes(plainNodes(5000)...)
	var job *structs.Job
	for i := range 100 {
		job = h.run(mockJob().ID(fmt.Sprintf("job-%03d", i)).Count(1000).CPU(100).Mem(128).Build())
	}
	h.downNodesOf(h.live(job.ID)[:27])
	placed := benchNodeDownEval(b, h, job)
	if placed == 0 {
		b.Fatal("placed nothing")
	}
	b.ReportMetric(float64(placed)/float64(b.N), "placed/op")
}

// downNodesOf marks the nodes of allocs down and returns them.
func (h *harness) downNodesOf(allocs []*structs.Allocation) map[string]bool {
	down := map[string]bool{}
	for _, a := range allocs {
		if !down[a.NodeID] {
			down[a.NodeID] = true
			h.setNodeStatus(a.NodeID, structs.NodeStatusDown)
		}
	}
	return down
}

// benchNodeDownEval runs, once per op, the node-update evaluation of job
// from one snapshot of h to a complete plan, committing nothing, and
// returns the allocations placed over all ops.
func benchNodeDownEval(b *testing.B, h *harness, job *structs.Job) int {
	eval := h.newEval(job, structs.EvalTriggerNodeUpdate)
	snap := h.store.Snapshot()
	planner := &acceptAll{}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, err := New(job.Type, Config{State: snap, Planner: planner, Now: testNow, Rand: rand.New(rand.NewPCG(uint64(i), 1))})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Process(eval); err != nil {
			b.Fatal(err)
		}
	}
	return planner.placed
}
