package dockere2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Outcome is what the caller of a write learnt of it.
type Outcome uint8

const (
	// OutcomeOK: the write was acknowledged; it must be applied exactly once.
	OutcomeOK Outcome = iota + 1
	// OutcomeFailed: the cluster said the write was not applied (a 4xx, a
	// "no leader" 503, a refused connection); it must not be applied at all.
	OutcomeFailed
	// OutcomeUnknown: no answer, or an answer that says the outcome is
	// unknown (a timeout, a broken connection, an internal error); the write
	// may be applied once, never twice.
	OutcomeUnknown
)

func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeFailed:
		return "failed"
	case OutcomeUnknown:
		return "unknown"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// WriteAttempt is one logical write: the registration of a job whose ID no
// other write uses, whatever retries the API client made inside it.
type WriteAttempt struct {
	Writer    string // who sent it, for the report
	JobID     string // unique per attempt
	RequestID string // the request ID sent with it ("" when the API cannot carry one)
	Start     time.Time
	End       time.Time
	Outcome   Outcome
	Detail    string // the error, for failed and unknown outcomes
}

// History records write attempts; it is safe for concurrent use.
type History struct {
	mu       sync.Mutex
	attempts []WriteAttempt
}

// Record adds one finished attempt.
func (h *History) Record(a WriteAttempt) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts = append(h.attempts, a)
}

// Attempts returns a copy of the attempts recorded so far, in the order they
// finished.
func (h *History) Attempts() []WriteAttempt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.attempts)
}

// Resources are the dimensions a node can be over-committed on.
type Resources struct {
	CPU, MemoryMB, DiskMB int
}

func (r Resources) exceeds(capacity Resources) string {
	var over []string
	if r.CPU > capacity.CPU {
		over = append(over, fmt.Sprintf("cpu %d > %d MHz", r.CPU, capacity.CPU))
	}
	if r.MemoryMB > capacity.MemoryMB {
		over = append(over, fmt.Sprintf("memory %d > %d MB", r.MemoryMB, capacity.MemoryMB))
	}
	if r.DiskMB > capacity.DiskMB {
		over = append(over, fmt.Sprintf("disk %d > %d MB", r.DiskMB, capacity.DiskMB))
	}
	return strings.Join(over, ", ")
}

// EvalView is what the checker needs of an evaluation.
type EvalView struct {
	ID, JobID, TriggeredBy string
	Status                 string
}

// AllocView is what the checker needs of an allocation. Terminal: it holds no
// resources any more (desired stop or evict, or finished on the client).
type AllocView struct {
	ID, JobID, NodeID string
	Resources         Resources
	Terminal          bool
}

// NodeView is a client node and what it offers.
type NodeView struct {
	ID, Name string
	Capacity Resources
}

// ServerView is one server's own (stale) view of the state: the index it
// answered at and a digest of everything it returned.
type ServerView struct {
	Name   string
	Index  uint64
	Digest string
	Err    string // the server could not be read
}

// ClusterState is the state the servers converged on, as read at the end of
// a run, with each server's own view for the convergence check.
type ClusterState struct {
	Jobs    []string // IDs of the registered jobs
	Evals   []EvalView
	Allocs  []AllocView
	Nodes   []NodeView
	Servers []ServerView
}

// Report is the checker's verdict. The slices list violations, each naming
// what is wrong; the counts describe the run.
type Report struct {
	Attempts, Acked, Failed, Unknown int
	// UnknownApplied counts unknown outcomes that turned out applied (once).
	UnknownApplied int
	// RegisterEvals counts job-register evaluations of the history's jobs.
	RegisterEvals int
	// ExtraRegisterEvals counts job-register evaluations beyond one per
	// write, plus every one of a write reported failed: the issue's
	// "duplicates" figure, 0 in a correct run.
	ExtraRegisterEvals int
	Evals              int
	Allocs             int

	// DuplicatedJobs are the job IDs of AppliedTwice, to look them up.
	DuplicatedJobs []string

	Lost             []string // acknowledged, but the job is not there
	MissingEval      []string // acknowledged and stored, but no job-register evaluation
	AppliedTwice     []string // more than one job-register evaluation for one write
	FailedButApplied []string // reported not applied, yet the job or its evaluation exists
	OverCommitted    []string // a node whose live allocations exceed its capacity
	NotTerminal      []string // an evaluation still pending
	Diverged         []string // servers whose state differs from the first one's
}

// Problems lists every violation, one line each; empty means the run passed.
func (r Report) Problems() []string {
	var out []string
	add := func(what string, items []string) {
		if len(items) > 0 {
			out = append(out, fmt.Sprintf("%s (%d): %s", what, len(items), strings.Join(items, "; ")))
		}
	}
	add("acknowledged writes lost", r.Lost)
	add("acknowledged writes without a job-register evaluation", r.MissingEval)
	add("writes applied more than once", r.AppliedTwice)
	add("writes reported failed but applied", r.FailedButApplied)
	add("nodes over-committed", r.OverCommitted)
	add("evaluations not terminal", r.NotTerminal)
	add("servers diverged", r.Diverged)
	return out
}

// Summary is one line of counts, for the log.
func (r Report) Summary() string {
	return fmt.Sprintf("attempts=%d acked=%d failed=%d unknown=%d (applied %d) register_evals=%d extra_register_evals=%d evals=%d allocs=%d "+
		"lost=%d missing_eval=%d applied_twice=%d failed_but_applied=%d overcommitted=%d not_terminal=%d diverged=%d",
		r.Attempts, r.Acked, r.Failed, r.Unknown, r.UnknownApplied, r.RegisterEvals, r.ExtraRegisterEvals, r.Evals, r.Allocs,
		len(r.Lost), len(r.MissingEval), len(r.AppliedTwice), len(r.FailedButApplied), len(r.OverCommitted),
		len(r.NotTerminal), len(r.Diverged))
}

// registerTrigger is the TriggeredBy of the evaluation a job registration
// creates (structs.EvalTriggerJobRegister; not imported, to keep the
// checker independent of orch's packages).
const registerTrigger = "job-register"

// terminalEval lists the evaluation statuses that end an evaluation. Blocked
// counts: it waits for capacity, and DESIGN.md's invariant 4 lists it among
// the ends.
var terminalEval = map[string]bool{"complete": true, "failed": true, "canceled": true, "blocked": true}

// Check compares a history of writes with the state the cluster converged
// on. It is pure: the same inputs give the same report.
func Check(attempts []WriteAttempt, st ClusterState) Report {
	r := Report{Attempts: len(attempts), Evals: len(st.Evals), Allocs: len(st.Allocs)}

	jobs := make(map[string]bool, len(st.Jobs))
	for _, id := range st.Jobs {
		jobs[id] = true
	}
	registerEvals := map[string]int{}
	for _, e := range st.Evals {
		if e.TriggeredBy == registerTrigger {
			registerEvals[e.JobID]++
		}
		if !terminalEval[e.Status] {
			r.NotTerminal = append(r.NotTerminal, fmt.Sprintf("eval %s of job %s is %q", e.ID, e.JobID, e.Status))
		}
	}

	for _, a := range attempts {
		n := registerEvals[a.JobID]
		r.RegisterEvals += n
		what := fmt.Sprintf("job %s (writer %s, request %q)", a.JobID, a.Writer, a.RequestID)
		if n > 1 {
			r.ExtraRegisterEvals += n - 1
			r.DuplicatedJobs = append(r.DuplicatedJobs, a.JobID)
			r.AppliedTwice = append(r.AppliedTwice, fmt.Sprintf("%s: %d job-register evaluations, outcome %s", what, n, a.Outcome))
		}
		switch a.Outcome {
		case OutcomeOK:
			r.Acked++
			switch {
			case !jobs[a.JobID]:
				r.Lost = append(r.Lost, what)
			case n == 0:
				r.MissingEval = append(r.MissingEval, what)
			}
		case OutcomeFailed:
			r.Failed++
			r.ExtraRegisterEvals += min(n, 1) // the rest counted above
			if jobs[a.JobID] || n > 0 {
				r.FailedButApplied = append(r.FailedButApplied,
					fmt.Sprintf("%s: stored=%t, %d job-register evaluations, error %q", what, jobs[a.JobID], n, a.Detail))
			}
		default:
			r.Unknown++
			if jobs[a.JobID] || n > 0 {
				r.UnknownApplied++
			}
		}
	}

	r.OverCommitted = overCommitted(st.Nodes, st.Allocs)
	r.Diverged = diverged(st.Servers)
	sort.Strings(r.NotTerminal)
	return r
}

// overCommitted sums the live allocations of each node against its capacity.
func overCommitted(nodes []NodeView, allocs []AllocView) []string {
	used := map[string]Resources{}
	for _, a := range allocs {
		if a.Terminal {
			continue
		}
		u := used[a.NodeID]
		u.CPU += a.Resources.CPU
		u.MemoryMB += a.Resources.MemoryMB
		u.DiskMB += a.Resources.DiskMB
		used[a.NodeID] = u
	}
	var out []string
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.ID] = true
		if over := used[n.ID].exceeds(n.Capacity); over != "" {
			out = append(out, fmt.Sprintf("node %s (%s): %s", n.Name, n.ID, over))
		}
	}
	for id := range used {
		if !known[id] {
			out = append(out, fmt.Sprintf("node %s: live allocations on a node that is not registered", id))
		}
	}
	sort.Strings(out)
	return out
}

// diverged lists the servers that could not be read or whose index or state
// differs from the first readable server's.
func diverged(servers []ServerView) []string {
	var out []string
	var ref *ServerView
	for i, s := range servers {
		if s.Err != "" {
			out = append(out, fmt.Sprintf("%s: not readable: %s", s.Name, s.Err))
			continue
		}
		if ref == nil {
			ref = &servers[i]
			continue
		}
		if s.Index != ref.Index || s.Digest != ref.Digest {
			out = append(out, fmt.Sprintf("%s at index %d (digest %.12s) differs from %s at index %d (digest %.12s)",
				s.Name, s.Index, s.Digest, ref.Name, ref.Index, ref.Digest))
		}
	}
	return out
}
