package dockere2e

import (
	"fmt"
	"strings"
	"testing"
)

// cleanRun is a synthetic history and the state a correct cluster ends in:
// two acknowledged writes, one failed write not applied, one unknown write
// applied once and one unknown write not applied, one node with room.
func cleanRun() ([]WriteAttempt, ClusterState) {
	attempts := []WriteAttempt{
		{Writer: "w1", JobID: "a", RequestID: "r-a", Outcome: OutcomeOK},
		{Writer: "w1", JobID: "b", RequestID: "r-b", Outcome: OutcomeOK},
		{Writer: "w2", JobID: "c", RequestID: "r-c", Outcome: OutcomeFailed, Detail: "no cluster leader"},
		{Writer: "w2", JobID: "d", RequestID: "r-d", Outcome: OutcomeUnknown, Detail: "timeout"},
		{Writer: "w2", JobID: "e", RequestID: "r-e", Outcome: OutcomeUnknown, Detail: "EOF"},
	}
	st := ClusterState{
		Jobs: []string{"a", "b", "d", "other"},
		Evals: []EvalView{
			{ID: "ea", JobID: "a", TriggeredBy: "job-register", Status: "complete"},
			{ID: "eb", JobID: "b", TriggeredBy: "job-register", Status: "blocked"},
			{ID: "eb2", JobID: "b", TriggeredBy: "node-update", Status: "complete"},
			{ID: "ed", JobID: "d", TriggeredBy: "job-register", Status: "failed"},
		},
		Nodes: []NodeView{{ID: "n1", Name: "c1", Capacity: Resources{CPU: 1000, MemoryMB: 1000, DiskMB: 1000}}},
		Allocs: []AllocView{
			{ID: "x", JobID: "a", NodeID: "n1", Resources: Resources{CPU: 600, MemoryMB: 500, DiskMB: 300}},
			{ID: "y", JobID: "b", NodeID: "n1", Resources: Resources{CPU: 400, MemoryMB: 500, DiskMB: 300}},
			{ID: "z", JobID: "b", NodeID: "n1", Resources: Resources{CPU: 900, MemoryMB: 900, DiskMB: 900}, Terminal: true},
		},
		Servers: []ServerView{{Name: "s1", Index: 40, Digest: "abc"}, {Name: "s2", Index: 40, Digest: "abc"}},
	}
	return attempts, st
}

func TestCheckCleanRun(t *testing.T) {
	attempts, st := cleanRun()
	r := Check(attempts, st)
	if p := r.Problems(); len(p) > 0 {
		t.Fatalf("a clean run has problems: %v", p)
	}
	want := Report{Attempts: 5, Acked: 2, Failed: 1, Unknown: 2, UnknownApplied: 1, RegisterEvals: 3, Evals: 4, Allocs: 3}
	if r.Summary() != want.Summary() {
		t.Errorf("summary\n got %s\nwant %s", r.Summary(), want.Summary())
	}
}

// TestCheckFindsEachViolation breaks the clean run one way at a time; the
// checker must report that violation, naming the culprit, and nothing else.
func TestCheckFindsEachViolation(t *testing.T) {
	cases := []struct {
		name   string
		breakf func(*[]WriteAttempt, *ClusterState)
		what   string // the Problems line's start
		names  string // what that line must name
	}{
		{"acknowledged job lost", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Jobs = []string{"b", "d"}
			st.Evals = st.Evals[1:]
		}, "acknowledged writes lost", "job a"},
		{"acknowledged job without its evaluation", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Evals = st.Evals[1:]
		}, "acknowledged writes without a job-register evaluation", "job a"},
		{"acknowledged write applied three times", func(_ *[]WriteAttempt, st *ClusterState) {
			for i := range 2 {
				st.Evals = append(st.Evals, EvalView{ID: fmt.Sprint("ea", i), JobID: "a", TriggeredBy: "job-register", Status: "complete"})
			}
		}, "writes applied more than once", "3 job-register evaluations"},
		{"acknowledged write applied twice", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Evals = append(st.Evals, EvalView{ID: "ea2", JobID: "a", TriggeredBy: "job-register", Status: "complete"})
		}, "writes applied more than once", "job a (writer w1, request \"r-a\"): 2 job-register evaluations"},
		{"unknown write applied twice", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Evals = append(st.Evals, EvalView{ID: "ed2", JobID: "d", TriggeredBy: "job-register", Status: "complete"})
		}, "writes applied more than once", "job d"},
		{"failed write stored", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Jobs = append(st.Jobs, "c")
		}, "writes reported failed but applied", "job c"},
		{"failed write evaluated", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Evals = append(st.Evals, EvalView{ID: "ec", JobID: "c", TriggeredBy: "job-register", Status: "complete"})
		}, "writes reported failed but applied", "no cluster leader"},
		{"node over-committed on memory", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Allocs[1].Resources.MemoryMB = 501
		}, "nodes over-committed", "node c1 (n1): memory 1001 > 1000 MB"},
		{"allocation on an unknown node", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Allocs[0].NodeID = "ghost"
		}, "nodes over-committed", "node ghost"},
		{"evaluation pending", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Evals[0].Status = "pending"
		}, "evaluations not terminal", `eval ea of job a is "pending"`},
		{"server behind", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Servers[1].Index = 39
		}, "servers diverged", "s2 at index 39"},
		{"server with other state at the same index", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Servers[1].Digest = "abd"
		}, "servers diverged", "s2"},
		{"server unreadable", func(_ *[]WriteAttempt, st *ClusterState) {
			st.Servers[0].Err = "connection refused"
		}, "servers diverged", "s1: not readable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attempts, st := cleanRun()
			tc.breakf(&attempts, &st)
			p := Check(attempts, st).Problems()
			if len(p) != 1 {
				t.Fatalf("want exactly one problem, got %d: %v", len(p), p)
			}
			if !strings.HasPrefix(p[0], tc.what) || !strings.Contains(p[0], tc.names) {
				t.Errorf("problem %q: want it to start with %q and name %q", p[0], tc.what, tc.names)
			}
		})
	}
}

func TestCheckCountsExtraRegisterEvals(t *testing.T) {
	attempts, st := cleanRun()
	st.Evals = append(st.Evals,
		EvalView{ID: "ea2", JobID: "a", TriggeredBy: "job-register", Status: "complete"}, // acked, twice: 1 extra
		EvalView{ID: "ec", JobID: "c", TriggeredBy: "job-register", Status: "complete"},  // failed, once: 1 extra
		EvalView{ID: "ec2", JobID: "c", TriggeredBy: "job-register", Status: "complete"}, // failed, twice: 1 more
	)
	if r := Check(attempts, st); r.ExtraRegisterEvals != 3 {
		t.Errorf("ExtraRegisterEvals = %d, want 3 (%s)", r.ExtraRegisterEvals, r.Summary())
	}
}

func TestHistoryIsSafeForConcurrentWriters(t *testing.T) {
	var h History
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 100 {
				h.Record(WriteAttempt{Writer: string(rune('a' + w)), JobID: string(rune(i)), Outcome: OutcomeOK})
			}
		}()
	}
	for range 4 {
		<-done
	}
	if n := len(h.Attempts()); n != 400 {
		t.Fatalf("recorded %d attempts, want 400", n)
	}
}
