package server

import (
	"github.com/google/uuid"
	"github.com/orch-io/orch/structs"
)

// preemptionNamespace seeds the IDs of the evaluations preemptionEvals mints.
var preemptionNamespace = uuid.MustParse("5f0c6e52-3a8e-4c1b-9a57-0d1f2a4b6c8e")

// preemptionEvals returns, for a plan-results entry committed at index, one
// pending evaluation (TriggeredBy "preemption") per job that had allocations
// evicted by it (DesiredStatus evict), so the job places them again
// elsewhere, or blocks. Jobs gone from the state get none.
//
// The FSM calls it on every server, so it is deterministic: the IDs are
// derived from the index and the job, the times from the evicted allocations
// (stamped by the plan applier).
func preemptionEvals(st interface {
	JobByID(string, string) *structs.Job
}, index uint64, allocs []*structs.Allocation) []*structs.Evaluation {
	var out []*structs.Evaluation
	seen := map[string]bool{}
	for _, a := range allocs {
		if a.DesiredStatus != structs.AllocDesiredStatusEvict {
			continue
		}
		key := a.Namespace + "/" + a.JobID
		if seen[key] {
			continue
		}
		seen[key] = true
		job := st.JobByID(structs.NamespaceOr(a.Namespace), a.JobID)
		if job == nil {
			continue
		}
		out = append(out, fsmJobEval(preemptionNamespace, index, key, job, structs.EvalTriggerPreemption, a.ModifyTime))
	}
	return out
}
