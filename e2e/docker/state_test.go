package dockere2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/structs"
)

// readState reads every server's own view (?stale) of jobs, evaluations,
// allocations and nodes; the first readable server's view becomes the
// ClusterState the checker judges.
func (c *cluster) readState() ClusterState {
	var st ClusterState
	first := true
	for _, s := range c.servers {
		view := ServerView{Name: s.name}
		var (
			jobs   []*structs.JobListStub
			evals  []*structs.Evaluation
			allocs []*structs.AllocListStub
			nodes  []*structs.NodeListStub
		)
		h := sha256.New()
		for _, r := range []struct {
			path string
			out  any
		}{{"/v1/jobs", &jobs}, {"/v1/evaluations", &evals}, {"/v1/allocations", &allocs}, {"/v1/nodes", &nodes}} {
			index, err := c.get(s, r.path+"?stale", r.out)
			if err != nil {
				view.Err = err.Error()
				break
			}
			view.Index = max(view.Index, index)
		}
		if view.Err != "" {
			st.Servers = append(st.Servers, view)
			continue
		}
		var lines []string
		for _, j := range jobs {
			lines = append(lines, fmt.Sprintf("job %s %d %s", j.ID, j.ModifyIndex, j.Status))
		}
		for _, e := range evals {
			lines = append(lines, fmt.Sprintf("eval %s %d %s", e.ID, e.ModifyIndex, e.Status))
		}
		for _, a := range allocs {
			lines = append(lines, fmt.Sprintf("alloc %s %d %s %s", a.ID, a.ModifyIndex, a.DesiredStatus, a.ClientStatus))
		}
		for _, n := range nodes {
			lines = append(lines, fmt.Sprintf("node %s %d %s", n.ID, n.ModifyIndex, n.Status))
		}
		slices.Sort(lines)
		io.WriteString(h, strings.Join(lines, "\n"))
		view.Digest = hex.EncodeToString(h.Sum(nil))
		st.Servers = append(st.Servers, view)
		if !first {
			continue
		}
		first = false
		for _, j := range jobs {
			st.Jobs = append(st.Jobs, j.ID)
		}
		for _, e := range evals {
			st.Evals = append(st.Evals, EvalView{ID: e.ID, JobID: e.JobID, TriggeredBy: e.TriggeredBy, Status: string(e.Status)})
		}
		for _, n := range nodes {
			var node structs.Node
			if _, err := c.get(s, "/v1/node/"+n.ID+"?stale", &node); err != nil {
				c.t.Errorf("reading node %s: %v", n.Name, err)
				continue
			}
			capacity := node.Comparable()
			st.Nodes = append(st.Nodes, NodeView{ID: n.ID, Name: n.Name,
				Capacity: Resources{CPU: capacity.CPU, MemoryMB: capacity.MemoryMB, DiskMB: capacity.DiskMB}})
		}
		for _, stub := range allocs {
			view := AllocView{ID: stub.ID, JobID: stub.JobID, NodeID: stub.NodeID, Terminal: true}
			if (&structs.Allocation{DesiredStatus: stub.DesiredStatus, ClientStatus: stub.ClientStatus}).TerminalStatus() {
				st.Allocs = append(st.Allocs, view)
				continue
			}
			var full structs.Allocation
			if _, err := c.get(s, "/v1/allocation/"+stub.ID+"?stale", &full); err != nil {
				c.t.Errorf("reading allocation %s: %v", stub.ID, err)
				continue
			}
			if !full.TerminalStatus() {
				used := full.Comparable()
				view.Terminal = false
				view.Resources = Resources{CPU: used.CPU, MemoryMB: used.MemoryMB, DiskMB: used.DiskMB}
			}
			st.Allocs = append(st.Allocs, view)
		}
	}
	return st
}

// check waits (up to a bound) until the servers agree and every evaluation
// has ended, then judges the history against the state: every problem is a
// test error. It returns the report for the caller's figures.
func (c *cluster) check() Report {
	c.t.Helper()
	attempts := c.hist.Attempts()
	var r Report
	deadline := time.Now().Add(90 * time.Second)
	for {
		r = Check(attempts, c.readState())
		if len(r.Diverged) == 0 && len(r.NotTerminal) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond) // poll interval
	}
	c.t.Logf("checker: %s", r.Summary())
	for _, p := range r.Problems() {
		c.t.Errorf("checker: %s", p)
	}
	c.logDuplicates(r.DuplicatedJobs)
	return r
}

// logDuplicates logs the evaluations of each job registered more than once
// and what the history says of its write, for whoever fixes it.
func (c *cluster) logDuplicates(jobIDs []string) {
	attempts := map[string]WriteAttempt{}
	for _, a := range c.hist.Attempts() {
		attempts[a.JobID] = a
	}
	for _, id := range jobIDs {
		var evals []*structs.Evaluation
		if _, err := c.get(c.servers[0], "/v1/job/"+id+"/evaluations?stale", &evals); err != nil {
			c.t.Logf("duplicate %s: %v", id, err)
			continue
		}
		a := attempts[id]
		c.t.Logf("duplicate %s: write sent %s, answered after %s: %s %s", id, a.Start.Format("15:04:05.000"),
			a.End.Sub(a.Start).Round(time.Millisecond), a.Outcome, a.Detail)
		for _, e := range evals {
			c.t.Logf("  eval %s %s status=%s create_index=%d", e.ID, e.TriggeredBy, e.Status, e.CreateIndex)
		}
	}
}
