package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func planJob(t *testing.T, s *Server, job *structs.Job) *structs.JobPlanResponse {
	t.Helper()
	var resp structs.JobPlanResponse
	if err := s.RPC(t.Context(), "Job.Plan", &structs.JobPlanRequest{Job: job, Diff: true}, &resp); err != nil {
		t.Fatalf("Job.Plan %q: %v", job.ID, err)
	}
	return &resp
}

// liveAllocs returns the job's allocations that are not terminal.
func liveAllocs(s *Server, jobID string) []*structs.Allocation {
	var out []*structs.Allocation
	for _, a := range s.state.Snapshot().AllocsByJob("default", jobID) {
		if !a.TerminalStatus() {
			out = append(out, a)
		}
	}
	return out
}

func TestJobPlanRunsTheSchedulerAndCommitsNothing(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	registerNode(t, s, testNode())

	// A new job: two placements, nothing stored.
	before := s.state.LatestIndex()
	resp := planJob(t, s, testJob("web", 2, 256))
	if u := resp.Annotations.DesiredTGUpdates["web"]; u == nil || *u != (structs.DesiredUpdates{Place: 2}) {
		t.Errorf("new job: annotations %+v, want 2 places", u)
	}
	if len(resp.FailedTGAllocs) != 0 || len(resp.CreatedEvals) != 0 || resp.JobModifyIndex != 0 {
		t.Errorf("new job: failed %v, created evals %v, job modify index %d", resp.FailedTGAllocs, resp.CreatedEvals, resp.JobModifyIndex)
	}
	if resp.Diff == nil || resp.Diff.Type != structs.DiffTypeAdded || resp.Diff.TaskGroups[0].Updates[structs.UpdateTypeCreate] != 2 {
		t.Errorf("new job: diff %+v", resp.Diff)
	}
	if got := s.state.LatestIndex(); got != before {
		t.Errorf("plan moved the state index from %d to %d", before, got)
	}
	if s.state.JobByID("default", "web") != nil || len(s.state.Snapshot().EvalsByJob("default", "web")) != 0 || len(s.state.Snapshot().AllocsByJob("default", "web")) != 0 {
		t.Fatal("plan stored a job, an evaluation or an allocation")
	}

	// The job runs; planning it unchanged ignores its allocations.
	ran := registerJob(t, s, testJob("web", 2, 256))
	// The eval's completion commits after its allocations: wait for both, or
	// it may land between the index checks below.
	waitFor(t, 10*time.Second, "two allocations of web, and their eval complete", func() bool {
		e := s.state.Snapshot().EvalByID(ran.EvalID)
		return len(liveAllocs(s, "web")) == 2 && e != nil && e.Status == structs.EvalStatusComplete
	})
	stored := s.state.JobByID("default", "web")
	resp = planJob(t, s, testJob("web", 2, 256))
	if u := resp.Annotations.DesiredTGUpdates["web"]; u == nil || *u != (structs.DesiredUpdates{Ignore: 2}) {
		t.Errorf("unchanged job: annotations %+v, want 2 ignored", u)
	}
	if resp.Diff.Type != structs.DiffTypeNone || resp.JobModifyIndex != stored.JobModifyIndex {
		t.Errorf("unchanged job: diff %s, job modify index %d (stored %d)", resp.Diff.Type, resp.JobModifyIndex, stored.JobModifyIndex)
	}

	// A change that cannot fit: destructive updates, placement failures and
	// a blocked evaluation, all reported and none committed.
	before = s.state.LatestIndex()
	allocsBefore := liveAllocs(s, "web")
	big := testJob("web", 4, 3000)
	resp = planJob(t, s, big)
	u := resp.Annotations.DesiredTGUpdates["web"]
	if u == nil || u.DestructiveUpdate != 2 || u.Place != 2 {
		t.Errorf("bigger job: annotations %+v, want 2 destructive updates and 2 places", u)
	}
	m := resp.FailedTGAllocs["web"]
	if m == nil || m.DimensionExhausted["memory"] == 0 {
		t.Errorf("bigger job: failed allocs %+v, want memory exhausted", m)
	}
	if len(resp.CreatedEvals) != 1 || resp.CreatedEvals[0].Status != structs.EvalStatusBlocked {
		t.Errorf("bigger job: created evals %+v, want one blocked", resp.CreatedEvals)
	}
	tg := resp.Diff.TaskGroups[0]
	if resp.Diff.Type != structs.DiffTypeEdited || tg.Updates[structs.UpdateTypeDestructiveUpdate] != 2 ||
		len(tg.Tasks) != 1 || len(tg.Tasks[0].Annotations) != 1 || tg.Tasks[0].Annotations[0] != structs.AnnotationForcesDestructiveUpdate {
		t.Errorf("bigger job: diff %+v, group %+v", resp.Diff, tg)
	}
	if got := s.state.LatestIndex(); got != before {
		t.Errorf("plan moved the state index from %d to %d", before, got)
	}
	if after := liveAllocs(s, "web"); len(after) != len(allocsBefore) || s.state.JobByID("default", "web").JobModifyIndex != stored.JobModifyIndex {
		t.Errorf("plan changed the job or its allocations: %d allocs, was %d", len(after), len(allocsBefore))
	}

	// The index the plan returned is the one -check-index passes.
	var reg structs.JobRegisterResponse
	req := &structs.JobRegisterRequest{Job: testJob("web", 3, 256), EnforceIndex: true, JobModifyIndex: resp.JobModifyIndex}
	if err := s.RPC(t.Context(), "Job.Register", req, &reg); err != nil {
		t.Errorf("register with the plan's job modify index: %v", err)
	}
}

func TestJobPlanRejectsInvalidJobs(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	var resp structs.JobPlanResponse
	if err := s.RPC(t.Context(), "Job.Plan", &structs.JobPlanRequest{}, &resp); err == nil {
		t.Error("plan without a job succeeded")
	}
	bad := testJob("web", -1, 256)
	err := s.RPC(t.Context(), "Job.Plan", &structs.JobPlanRequest{Job: bad}, &resp)
	if !errors.Is(err, structs.ErrInvalid) || !strings.HasPrefix(err.Error(), ErrInvalidJobPrefix) {
		t.Errorf("plan of a job with count -1 = %v, want an invalid job error", err)
	}
}
