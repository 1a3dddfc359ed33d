package command

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// The evaluation monitor of `orch job run` and `orch job stop`: it follows an
// evaluation with blocking queries until the scheduler is done with it, and
// prints what happens, in Nomad's words:
//
//	==> 2024-05-01T10:00:00Z: Monitoring evaluation "5c2f1a3e"
//	    2024-05-01T10:00:00Z: Evaluation triggered by job "web"
//	    2024-05-01T10:00:01Z: Allocation "8b1e0c7d" created: node "f840a518", group "web"
//	    2024-05-01T10:00:01Z: Evaluation status changed: "pending" -> "complete"
//	==> 2024-05-01T10:00:01Z: Evaluation "5c2f1a3e" finished with status "complete"

// monitorWait is how long one blocking query on the evaluation waits.
const monitorWait = 30 * time.Second

// monitor follows one evaluation. It is used once, from one goroutine.
type monitor struct {
	client  *api.Client
	out     io.Writer
	now     func() time.Time
	ctx     context.Context
	verbose bool // full IDs
}

// monitorResult is how an evaluation ended.
type monitorResult struct {
	eval *structs.Evaluation
	// placementFailed: some allocations could not be placed, or the
	// scheduler failed the evaluation.
	placementFailed bool
}

// exitCode is the exit code of `job run`/`job stop` for the result: 2 when
// placements failed (as Nomad does), 0 otherwise.
func (r monitorResult) exitCode() int {
	if r.placementFailed {
		return exitUsage
	}
	return exitOK
}

// run follows the evaluation evalID (created at createIndex, 0 if unknown)
// until it is terminal or blocked. Errors are failures to talk to the agent.
func (m *monitor) run(evalID string, createIndex uint64) (monitorResult, error) {
	m.headline("Monitoring evaluation %q", shortID(evalID, m.verbose))

	// Start just before the evaluation's creation: the first query returns as
	// soon as the server answering has applied it.
	var index uint64
	if createIndex > 0 {
		index = createIndex - 1
	}
	var (
		lastStatus structs.EvalStatus
		announced  bool
		seen       = map[string]bool{}
	)
	for {
		eval, meta, err := m.client.Evaluations().Info(evalID, &api.QueryOptions{
			WaitIndex: index, WaitTime: monitorWait, Context: m.ctx,
		})
		if err != nil {
			return monitorResult{}, errorf(err, "Error reading evaluation %q", evalID)
		}
		index = meta.LastIndex
		if !announced {
			m.announce(eval)
			announced = true
		}
		// Allocations first: a status change to complete sums them up.
		if err := m.printAllocs(eval, seen); err != nil {
			return monitorResult{}, err
		}
		if lastStatus != "" && eval.Status != lastStatus {
			m.line("Evaluation status changed: %q -> %q", lastStatus, eval.Status)
		}
		lastStatus = eval.Status
		if eval.Status.Terminal() || eval.Status == structs.EvalStatusBlocked {
			return m.finish(eval), nil
		}
		if meta.LastIndex == 0 {
			// An agent that reports no index cannot block: poll, gently.
			select {
			case <-time.After(time.Second):
			case <-m.ctx.Done():
				return monitorResult{}, m.ctx.Err()
			}
		}
	}
}

// announce says what triggered the evaluation.
func (m *monitor) announce(eval *structs.Evaluation) {
	switch {
	case eval.NodeID != "":
		m.line("Evaluation triggered by node %q", shortID(eval.NodeID, m.verbose))
	case eval.JobID != "":
		m.line("Evaluation triggered by job %q", eval.JobID)
	}
}

// printAllocs prints the allocations of the evaluation not printed yet.
func (m *monitor) printAllocs(eval *structs.Evaluation, seen map[string]bool) error {
	if eval.JobID == "" {
		return nil
	}
	allocs, _, err := m.client.Jobs().Allocations(eval.JobID, &api.QueryOptions{Context: m.ctx, Namespace: eval.Namespace})
	if api.IsNotFound(err) {
		return nil // purged
	}
	if err != nil {
		return errorf(err, "Error reading the allocations of job %q", eval.JobID)
	}
	slices.SortFunc(allocs, func(a, b *structs.AllocListStub) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) })
	for _, a := range allocs {
		if a.EvalID != eval.ID || seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		verb := "created"
		if a.CreateIndex < eval.CreateIndex {
			verb = "modified"
		}
		m.line("Allocation %q %s: node %q, group %q",
			shortID(a.ID, m.verbose), verb, shortID(a.NodeID, m.verbose), a.TaskGroup)
	}
	return nil
}

// finish prints how the evaluation ended.
func (m *monitor) finish(eval *structs.Evaluation) monitorResult {
	id := shortID(eval.ID, m.verbose)
	res := monitorResult{eval: eval, placementFailed: eval.Status == structs.EvalStatusFailed}
	if len(eval.FailedTGAllocs) == 0 {
		m.headline("Evaluation %q finished with status %q", id, eval.Status)
	} else {
		res.placementFailed = true
		m.headline("Evaluation %q finished with status %q but failed to place all allocations:", id, eval.Status)
		for _, tg := range slices.Sorted(maps.Keys(eval.FailedTGAllocs)) {
			metric := eval.FailedTGAllocs[tg]
			m.line("Task Group %q (failed to place %s):", tg, plural(failedCount(metric), "allocation"))
			fmt.Fprint(m.out, formatAllocMetric(metric, "      "))
		}
		if eval.BlockedEval != "" {
			m.line("Evaluation %q waiting for additional capacity to place remainder",
				shortID(eval.BlockedEval, m.verbose))
		}
	}
	if eval.Status == structs.EvalStatusFailed && eval.StatusDescription != "" {
		m.line("Evaluation failed: %s", eval.StatusDescription)
	}
	return res
}

// headline prints a "==> time: ..." line.
func (m *monitor) headline(format string, args ...any) {
	fmt.Fprintf(m.out, "==> %s: %s\n", formatTime(m.now()), fmt.Sprintf(format, args...))
}

// line prints an indented "    time: ..." line.
func (m *monitor) line(format string, args ...any) {
	fmt.Fprintf(m.out, "    %s: %s\n", formatTime(m.now()), fmt.Sprintf(format, args...))
}
