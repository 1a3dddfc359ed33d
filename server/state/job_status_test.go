package state

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// TestJobStatus derives the status of a job from allocations and evaluations
// written through the store, one case per row.
func TestJobStatus(t *testing.T) {
	const (
		running  = structs.AllocClientStatusRunning
		complete = structs.AllocClientStatusComplete
		failed   = structs.AllocClientStatusFailed
	)
	const (
		pending  = structs.EvalStatusPending
		blocked  = structs.EvalStatusBlocked
		finished = structs.EvalStatusComplete
		canceled = structs.EvalStatusCanceled
	)
	cases := []struct {
		name   string
		stop   bool
		allocs []structs.AllocClientStatus
		evals  []structs.EvalStatus
		want   structs.JobStatus
	}{
		{name: "registered, nothing yet", want: structs.JobStatusPending},
		{name: "an open eval", evals: []structs.EvalStatus{pending}, want: structs.JobStatusPending},
		{name: "a live alloc", allocs: []structs.AllocClientStatus{running}, evals: []structs.EvalStatus{finished},
			want: structs.JobStatusRunning},
		{name: "everything finished", allocs: []structs.AllocClientStatus{complete}, evals: []structs.EvalStatus{finished},
			want: structs.JobStatusDead},
		{name: "allocations queued behind a blocked eval, the old ones failed",
			allocs: []structs.AllocClientStatus{failed}, evals: []structs.EvalStatus{finished, blocked},
			want: structs.JobStatusPending},
		{name: "nothing placed yet, a blocked eval", evals: []structs.EvalStatus{finished, blocked},
			want: structs.JobStatusPending},
		{name: "a blocked eval canceled", allocs: []structs.AllocClientStatus{complete}, evals: []structs.EvalStatus{finished, canceled},
			want: structs.JobStatusDead},
		{name: "a live alloc and a blocked eval", allocs: []structs.AllocClientStatus{running, failed},
			evals: []structs.EvalStatus{finished, blocked}, want: structs.JobStatusRunning},
		{name: "stopped, its blocked eval not canceled yet", stop: true,
			allocs: []structs.AllocClientStatus{complete}, evals: []structs.EvalStatus{finished, blocked},
			want: structs.JobStatusDead},
		{name: "stopped, its deregister eval open", stop: true,
			allocs: []structs.AllocClientStatus{complete}, evals: []structs.EvalStatus{pending},
			want: structs.JobStatusPending},
		{name: "stopped before anything ran", stop: true, want: structs.JobStatusDead},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStateStore()
			job := testJob("web")
			job.Stop = tc.stop
			must(t, s.UpsertJob(1, job))
			var allocs []*structs.Allocation
			for range tc.allocs {
				allocs = append(allocs, testAlloc(job, "n1"))
			}
			must(t, s.UpsertPlanResults(2, job, allocs))
			reported := make([]*structs.Allocation, len(allocs))
			for i, a := range allocs {
				reported[i] = &structs.Allocation{ID: a.ID, ClientStatus: tc.allocs[i]}
			}
			must(t, s.UpdateAllocsFromClient(3, reported))
			var evals []*structs.Evaluation
			for _, st := range tc.evals {
				evals = append(evals, &structs.Evaluation{ID: structs.GenerateUUID(), JobID: job.ID, Status: st})
			}
			must(t, s.UpsertEvals(4, evals))
			if got := s.JobByID("default", "web").Status; got != tc.want {
				t.Errorf("status %s, want %s", got, tc.want)
			}
		})
	}
}
