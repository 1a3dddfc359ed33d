package sim

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/structs"
)

// check verifies the invariants at the end of a run, reading every
// allocation and evaluation from the servers:
//   - no node is over-committed by the allocations that are not terminal
//     (cpu, memory, disk);
//   - every job has exactly Count allocations running, of distinct names,
//     each on the node that reported it running, and no allocation was
//     reported running by two nodes or twice;
//   - every evaluation is terminal.
//
// It returns one line per broken invariant (at most 20 of each kind).
func check(ctx context.Context, rpc *client.RPCClient, cfg *Config, f *fleet) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var allocs structs.AllocListResponse
	if err := rpc.RPC(ctx, "Alloc.List", &structs.AllocListRequest{}, &allocs); err != nil {
		return nil, fmt.Errorf("check: listing allocations: %w", err)
	}
	var evals structs.EvalListResponse
	if err := rpc.RPC(ctx, "Eval.List", &structs.EvalListRequest{}, &evals); err != nil {
		return nil, fmt.Errorf("check: listing evaluations: %w", err)
	}
	obs := observed{nodes: map[string]*simNode{}}
	for _, n := range f.nodes {
		obs.nodes[n.node.ID] = n
	}
	f.mu.Lock()
	obs.runningOn = make(map[string]string, len(f.mu.runningOn))
	for id, n := range f.mu.runningOn {
		obs.runningOn[id] = n.node.ID
	}
	obs.doubleRun = append([]string(nil), f.mu.doubleRun...)
	f.mu.Unlock()
	return checkState(cfg, allocs.Allocations, evals.Evaluations, obs), nil
}

// observed is what the simulated nodes saw: the nodes by ID, the node that
// reported each allocation running, the allocations reported running twice.
type observed struct {
	nodes     map[string]*simNode
	runningOn map[string]string
	doubleRun []string
}

// checkState is check's verdict on the servers' allocations and
// evaluations and what the nodes observed.
func checkState(cfg *Config, allocs []*structs.AllocListStub, evals []*structs.Evaluation, obs observed) []string {
	var v violations
	type usage struct{ cpu, mem, disk int }
	used := map[string]*usage{}
	running := map[string]map[string]bool{} // job → names running
	for _, a := range allocs {
		if a.DesiredStatus == structs.AllocDesiredStatusRun && !clientTerminal(a.ClientStatus) {
			u := used[a.NodeID]
			if u == nil {
				u = &usage{}
				used[a.NodeID] = u
			}
			u.cpu, u.mem, u.disk = u.cpu+jobCPU, u.mem+jobMemoryMB, u.disk+jobDiskMB
		}
		if a.DesiredStatus != structs.AllocDesiredStatusRun || a.ClientStatus != structs.AllocClientStatusRunning {
			continue
		}
		if running[a.JobID] == nil {
			running[a.JobID] = map[string]bool{}
		}
		if running[a.JobID][a.Name] {
			v.add("two-running", "job %s: two allocations named %s running", a.JobID, a.Name)
		}
		running[a.JobID][a.Name] = true
		if on := obs.runningOn[a.ID]; on != a.NodeID {
			v.add("where", "allocation %s: running on node %s by the servers, reported by node %q", a.ID, a.NodeID, on)
		}
	}
	for nodeID, u := range used {
		n := obs.nodes[nodeID]
		if n == nil {
			v.add("node", "allocations on node %s, which the simulation does not know", nodeID)
			continue
		}
		if u.cpu > n.class.cpuMHz || u.mem > n.class.memoryMB || u.disk > nodeDiskMB {
			v.add("over-commit", "node %s (%s) over-committed: cpu %d/%d MHz, memory %d/%d MB, disk %d/%d MB",
				n.node.Name, n.class.name, u.cpu, n.class.cpuMHz, u.mem, n.class.memoryMB, u.disk, nodeDiskMB)
		}
	}
	for i := range cfg.Jobs {
		id := simJob(i, cfg.Count).ID
		if got := len(running[id]); got != cfg.Count {
			v.add("count", "job %s: %d allocations running, want %d", id, got, cfg.Count)
		}
	}
	for _, id := range obs.doubleRun {
		v.add("double-report", "allocation %s reported running twice", id)
	}
	for _, e := range evals {
		if !e.Status.Terminal() {
			v.add("eval", "evaluation %s of job %s is %s, not terminal", e.ID, e.JobID, e.Status)
		}
	}
	return v.lines()
}

func clientTerminal(s structs.AllocClientStatus) bool {
	switch s {
	case structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
		return true
	}
	return false
}

// violations gathers broken invariants, at most 20 lines of each kind.
type violations struct {
	byKind map[string][]string
	extra  map[string]int
}

func (v *violations) add(kind, format string, args ...any) {
	if v.byKind == nil {
		v.byKind, v.extra = map[string][]string{}, map[string]int{}
	}
	if len(v.byKind[kind]) >= 20 {
		v.extra[kind]++
		return
	}
	v.byKind[kind] = append(v.byKind[kind], fmt.Sprintf(format, args...))
}

func (v *violations) lines() []string {
	var kinds []string
	for k := range v.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var out []string
	for _, k := range kinds {
		out = append(out, v.byKind[k]...)
		if n := v.extra[k]; n > 0 {
			out = append(out, fmt.Sprintf("... and %d more of kind %s", n, k))
		}
	}
	return out
}
