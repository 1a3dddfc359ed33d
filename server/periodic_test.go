package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/structs"
)

func periodicJob(id, cron string) *structs.Job {
	j := testJob(id, 1, 64)
	j.Type = structs.JobTypeBatch
	j.Periodic = &structs.PeriodicConfig{Enabled: true, Specs: []string{cron}}
	return j
}

func TestDecidePeriodic(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	job := periodicJob("p", "* * * * *")
	job.Periodic.SpecType, job.Periodic.TimeZone = "cron", "UTC"
	job.SubmitTime = t0.UnixNano()
	at := func(h, m int) time.Time { return time.Date(2026, 1, 2, h, m, 0, 0, time.UTC) }
	launch := func(t time.Time) *structs.PeriodicLaunch { return &structs.PeriodicLaunch{Launch: t.UnixNano()} }
	for _, c := range []struct {
		name       string
		last       *structs.PeriodicLaunch
		now        time.Time
		launch     time.Time
		next       time.Time
		stop, tz   bool
		disabled   bool
		wantNoNext bool
	}{
		{name: "nothing due yet", now: t0.Add(10 * time.Second), next: at(3, 5)},
		{name: "first launch due", now: at(3, 5), launch: at(3, 5), next: at(3, 6)},
		{name: "launched already", last: launch(at(3, 5)), now: at(3, 5).Add(time.Second), next: at(3, 6)},
		{name: "missed launches: the latest only", last: launch(at(3, 5)), now: at(3, 9).Add(30 * time.Second), launch: at(3, 9), next: at(3, 10)},
		{name: "disabled", now: at(3, 9), disabled: true, wantNoNext: true},
		{name: "stopped", now: at(3, 9), stop: true, wantNoNext: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := job.Copy()
			j.Stop, j.Periodic.Enabled = c.stop, !c.disabled
			d := decidePeriodic(j, c.last, c.now)
			if !d.Launch.Equal(c.launch) || (!c.wantNoNext && !d.Next.Equal(c.next)) || (c.wantNoNext && !d.Next.IsZero()) {
				t.Errorf("decide = launch %v next %v, want launch %v next %v", d.Launch, d.Next, c.launch, c.next)
			}
		})
	}
	// A time zone moves the launch times: 9:00 in New York is 14:00 UTC in January.
	ny := job.Copy()
	ny.Periodic.Specs, ny.Periodic.TimeZone = []string{"0 9 * * *"}, "America/New_York"
	if d := decidePeriodic(ny, nil, t0); !d.Next.Equal(time.Date(2026, 1, 2, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("next in New York = %v, want 14:00 UTC", d.Next.UTC())
	}
}

func childIDs(s *Server, ns, parent string) []string {
	var out []string
	for _, c := range s.state.Snapshot().ChildJobs(ns, parent) {
		out = append(out, c.ID)
	}
	return out
}

// A 3-server cluster whose leader is killed at a launch time: the new leader
// launches that time exactly once (whether or not the old one committed it),
// and catches up only the latest of the launch times missed meanwhile.
func TestPeriodicLaunchesOnceAcrossLeaderFailover(t *testing.T) {
	clk := clocktest.NewFake()
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(t.TempDir())
		cfgs[i].Clock = clk
	}
	servers := startClusterOf(t, cfgs...)
	// Retried with one request ID: a young cluster under load may change leader.
	reg := &structs.JobRegisterRequest{Job: periodicJob("rep", "* * * * *"), WriteRequest: structs.WriteRequest{RequestID: structs.GenerateUUID()}}
	waitFor(t, 30*time.Second, "the periodic job registered", func() bool {
		var resp structs.JobRegisterResponse
		l := leaderOf(servers)
		return l != nil && l.RPC(t.Context(), "Job.Register", reg, &resp) == nil
	})
	leader := leaderOf(servers)
	if evals := leader.state.Snapshot().EvalsByJob("default", "rep"); len(evals) != 1 {
		t.Fatalf("parent has %d evals, want its registration's", len(evals))
	}

	at := func(m int) time.Time { return time.Date(2026, 1, 2, 3, m, 0, 0, time.UTC) }
	clk.Advance(at(5).Sub(clk.Now())) // the launch time of 3:05
	leader.Shutdown()                 // ... with or without its launch committed
	var next *Server
	waitFor(t, 20*time.Second, "a new leader", func() bool {
		next = leaderOf(servers)
		return next != nil && next != leader && next.broker.Enabled()
	})
	want := []string{structs.PeriodicChildID("rep", at(5))}
	waitFor(t, 20*time.Second, "the 3:05 child", func() bool { return slices.Equal(childIDs(next, "default", "rep"), want) })

	clk.Advance(at(8).Add(30 * time.Second).Sub(clk.Now())) // 3:06, 3:07 and 3:08 pass at once
	want = append(want, structs.PeriodicChildID("rep", at(8)))
	waitFor(t, 20*time.Second, "the 3:08 child (catch-up of the latest missed time)", func() bool {
		return slices.Equal(childIDs(next, "default", "rep"), want)
	})
	if l := next.state.Snapshot().PeriodicLaunch("default", "rep"); l == nil || l.Launch != at(8).UnixNano() {
		t.Errorf("launch record %+v, want 3:08", l)
	}
	for _, s := range servers {
		if s == leader {
			continue
		}
		waitFor(t, 10*time.Second, "every server holds the same children", func() bool {
			return slices.Equal(childIDs(s, "default", "rep"), want)
		})
	}
	child := next.state.JobByID("default", want[0])
	if child.ParentID != "rep" || child.Periodic != nil {
		t.Errorf("child %+v: want parent rep and no periodic block", child)
	}
}

func TestDispatchAndForce(t *testing.T) {
	clk := clocktest.NewFake()
	cfg := testConfig(t.TempDir())
	cfg.Clock = clk
	s := startServer(t, cfg)
	param := testJob("pj", 1, 64)
	param.Type = structs.JobTypeBatch
	param.ParameterizedJob = &structs.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"who"}, MetaOptional: []string{"why"}}
	registerJob(t, s, param)

	dispatch := func(req *structs.JobDispatchRequest) (*structs.JobDispatchResponse, error) {
		var resp structs.JobDispatchResponse
		req.JobID = "pj"
		return &resp, s.RPC(t.Context(), "Job.Dispatch", req, &resp)
	}
	for _, c := range []struct {
		req  *structs.JobDispatchRequest
		want string
	}{
		{&structs.JobDispatchRequest{Meta: map[string]string{"who": "x"}}, `payload = "required"`},
		{&structs.JobDispatchRequest{Payload: []byte("x"), Meta: map[string]string{"who": "x", "bad": "y"}}, `meta "bad": not allowed`},
		{&structs.JobDispatchRequest{Payload: []byte("x")}, `meta "who": required`},
		{&structs.JobDispatchRequest{Payload: make([]byte, 16*1024+1), Meta: map[string]string{"who": "x"}}, "must be at most 16384 bytes"},
	} {
		if _, err := dispatch(c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dispatch %+v: error %v, want %q", c.req, err, c.want)
		}
	}
	ok := &structs.JobDispatchRequest{Payload: []byte("hello"), Meta: map[string]string{"who": "me"}, IdempotencyToken: "tok"}
	first, err := dispatch(ok)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.DispatchedJobID, "pj/dispatch-") || first.EvalID == "" {
		t.Fatalf("dispatch reply %+v", first)
	}
	again, err := dispatch(ok)
	if err != nil {
		t.Fatal(err)
	}
	if again.DispatchedJobID != first.DispatchedJobID || again.EvalID != first.EvalID {
		t.Errorf("same token dispatched %q, then %q: want the same child", first.DispatchedJobID, again.DispatchedJobID)
	}
	child := s.state.JobByID("default", first.DispatchedJobID)
	if string(child.Payload) != "hello" || child.Meta["who"] != "me" || !child.Dispatched || child.ParentID != "pj" {
		t.Errorf("child %+v", child)
	}

	var fr structs.JobPeriodicForceResponse
	if err := s.RPC(t.Context(), "Job.PeriodicForce", &structs.JobPeriodicForceRequest{JobID: "pj"}, &fr); err == nil ||
		!strings.Contains(err.Error(), "not periodic") {
		t.Errorf("force of a parameterized job: %v", err)
	}
	registerJob(t, s, periodicJob("daily", "0 0 * * *"))
	if err := s.RPC(t.Context(), "Job.PeriodicForce", &structs.JobPeriodicForceRequest{JobID: "daily"}, &fr); err != nil {
		t.Fatal(err)
	}
	if ids := childIDs(s, "default", "daily"); len(ids) != 1 || ids[0] != structs.PeriodicChildID("daily", clk.Now()) || fr.EvalID == "" {
		t.Errorf("forced children %v, reply %+v", ids, fr)
	}
}
