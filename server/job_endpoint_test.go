package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestJobEndpoint_BlockingListReturnsOnRegister(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	var first structs.JobListResponse
	if err := s.RPC(t.Context(), "Job.List", &structs.JobListRequest{}, &first); err != nil {
		t.Fatal(err)
	}
	if first.Index == 0 {
		t.Fatalf("Job.List index = 0: an index of 0 would make callers spin")
	}

	type result struct {
		resp structs.JobListResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.err = s.RPC(t.Context(), "Job.List", &structs.JobListRequest{QueryOptions: structs.QueryOptions{
			MinQueryIndex: first.Index, MaxQueryTime: time.Minute,
		}}, &r.resp)
		done <- r
	}()

	// The query blocks while nothing changes...
	select {
	case r := <-done:
		t.Fatalf("blocking Job.List returned before any change: %+v, %v", r.resp, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	// ...and returns once a job is registered.
	reg := registerJob(t, s, testJob("blocker", 1, 128))
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if len(r.resp.Jobs) != 1 || r.resp.Jobs[0].ID != "blocker" || r.resp.Index < reg.Index {
			t.Errorf("blocking Job.List = %+v at %d, want job blocker at >= %d", r.resp.Jobs, r.resp.Index, reg.Index)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking Job.List did not return after a registration")
	}
}

func TestJobEndpoint_BlockingQueryTimesOut(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	reg := registerJob(t, s, testJob("still", 1, 128))
	var resp structs.JobListResponse
	start := time.Now()
	err := s.RPC(t.Context(), "Job.List", &structs.JobListRequest{QueryOptions: structs.QueryOptions{
		MinQueryIndex: reg.Index + 1000, MaxQueryTime: 100 * time.Millisecond,
	}}, &resp)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Errorf("blocking query returned after %s, before its MaxQueryTime", time.Since(start))
	}
	if len(resp.Jobs) != 1 {
		t.Errorf("timed-out query answered %d jobs, want the current 1", len(resp.Jobs))
	}
}

func TestJobEndpoint_RegisterRejectsInvalidJobs(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	for name, tc := range map[string]struct {
		job  *structs.Job
		want []string
	}{
		"no job": {nil, []string{"the request carries no job"}},
		"no ID and bad type": {func() *structs.Job { j := testJob("", 1, 128); j.Type = "weird"; return j }(),
			[]string{`id = ""`, `type = "weird"`}},
		"bad count": {func() *structs.Job { j := testJob("neg", 1, 128); j.TaskGroups[0].Count = -1; return j }(),
			[]string{`group "web": count = -1: must be >= 0`}},
	} {
		t.Run(name, func(t *testing.T) {
			var resp structs.JobRegisterResponse
			err := s.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: tc.job}, &resp)
			if err == nil {
				t.Fatalf("Job.Register accepted an invalid job")
			}
			if !strings.HasPrefix(err.Error(), ErrInvalidJobPrefix) {
				t.Errorf("error %q does not start with %q", err, ErrInvalidJobPrefix)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if jobs := s.state.Snapshot().Jobs("*", ""); len(jobs) != 0 {
		t.Errorf("invalid registrations stored %d jobs", len(jobs))
	}
}

func TestJobEndpoint_EnforceIndex(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	var resp structs.JobRegisterResponse
	req := &structs.JobRegisterRequest{Job: testJob("cas", 1, 128), EnforceIndex: true, JobModifyIndex: 0}
	if err := s.RPC(t.Context(), "Job.Register", req, &resp); err != nil {
		t.Fatalf("first register with index 0: %v", err)
	}
	want := fmt.Sprintf(`enforcing job modify index 0: job "cas" exists with index %d`, resp.JobModifyIndex)
	if err := s.RPC(t.Context(), "Job.Register", req, &resp); err == nil || err.Error() != want || !errors.Is(err, structs.ErrConflict) {
		t.Errorf("second register with index 0 = %v, want %q", err, want)
	}
	stale := &structs.JobRegisterRequest{Job: testJob("cas", 3, 128), EnforceIndex: true, JobModifyIndex: resp.JobModifyIndex + 100}
	if err := s.RPC(t.Context(), "Job.Register", stale, &resp); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("register with a stale index = %v, want an enforce-index conflict", err)
	}
	if got := s.state.JobByID("default", "cas"); got.TaskGroups[0].Count != 1 {
		t.Errorf("a rejected registration changed the job: count %d", got.TaskGroups[0].Count)
	}
	changed := testJob("cas", 2, 128)
	req = &structs.JobRegisterRequest{Job: changed, EnforceIndex: true, JobModifyIndex: resp.JobModifyIndex}
	if err := s.RPC(t.Context(), "Job.Register", req, &resp); err != nil {
		t.Errorf("register with the current index: %v", err)
	}
}

func TestJobEndpoint_DeregisterStopsOrPurges(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	registerJob(t, s, testJob("stopme", 1, 128))
	registerJob(t, s, testJob("purgeme", 1, 128))

	var resp structs.JobDeregisterResponse
	if err := s.RPC(t.Context(), "Job.Deregister", &structs.JobDeregisterRequest{JobID: "stopme"}, &resp); err != nil {
		t.Fatal(err)
	}
	job := s.state.JobByID("default", "stopme")
	if job == nil || !job.Stop {
		t.Errorf("after stop: job = %+v, want it kept with Stop set", job)
	}
	// JobModifyIndex, not ModifyIndex: the worker may already have marked
	// the stopped job dead, a later write to the job's status.
	eval := s.state.Snapshot().EvalByID(resp.EvalID)
	if eval == nil || eval.TriggeredBy != structs.EvalTriggerJobDeregister || eval.CreateIndex != resp.Index || job.JobModifyIndex != resp.Index {
		t.Errorf("stop eval = %+v, job's specification modified at %d: want a job-deregister eval committed with the stop at %d", eval, job.JobModifyIndex, resp.Index)
	}

	if err := s.RPC(t.Context(), "Job.Deregister", &structs.JobDeregisterRequest{JobID: "purgeme", Purge: true}, &resp); err != nil {
		t.Fatal(err)
	}
	if s.state.JobByID("default", "purgeme") != nil {
		t.Errorf("purged job still stored")
	}
	if s.state.Snapshot().EvalByID(resp.EvalID) == nil {
		t.Errorf("purge stored no eval")
	}

	var get structs.SingleJobResponse
	if err := s.RPC(t.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: "purgeme"}, &get); err != nil || get.Job != nil {
		t.Errorf("Job.GetJob(purged) = %v, %v; want nil job, no error", get.Job, err)
	}
	var evals structs.JobEvaluationsResponse
	if err := s.RPC(t.Context(), "Job.Evaluations", &structs.JobSpecificRequest{JobID: "stopme"}, &evals); err != nil {
		t.Fatal(err)
	}
	triggers := map[string]int{}
	for _, e := range evals.Evaluations {
		triggers[e.TriggeredBy]++
	}
	// (With no node, the scheduler may also have left a blocked eval.)
	if triggers[structs.EvalTriggerJobRegister] != 1 || triggers[structs.EvalTriggerJobDeregister] != 1 {
		t.Errorf("Job.Evaluations(stopme) triggers = %v; want one register and one deregister", triggers)
	}
}
