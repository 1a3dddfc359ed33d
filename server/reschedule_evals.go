package server

import (
	"strconv"

	"github.com/google/uuid"
	"github.com/orch-io/orch/structs"
)

// allocFailureNamespace seeds the IDs of the evaluations allocFailureEvals mints.
var allocFailureNamespace = uuid.MustParse("0b6f3c1e-7d2a-4e59-8c41-6a9e2f5d3b70")

// allocFailureEvals returns, for a client-update entry committed at index,
// one pending evaluation (TriggeredBy "alloc-failure") per job that has an
// allocation the update reports failed for the first time, when its group's
// reschedule policy allows a replacement: the scheduler then replaces it, at
// once or through a delayed follow-up. Stopped and purged jobs, allocations
// the servers stopped and groups without a policy (system jobs) get none.
//
// The FSM calls it on every server with the state before the update, so it is
// deterministic: IDs derive from the index and the job, times from the
// updates.
func allocFailureEvals(st interface {
	JobByID(string, string) *structs.Job
	AllocByID(string) *structs.Allocation
}, index uint64, updates []*structs.Allocation) []*structs.Evaluation {
	var out []*structs.Evaluation
	seen := map[string]bool{}
	for _, u := range updates {
		if u.ClientStatus != structs.AllocClientStatusFailed {
			continue
		}
		old := st.AllocByID(u.ID)
		if old == nil || old.ClientStatus == structs.AllocClientStatusFailed || old.ServerTerminal() {
			continue
		}
		key := old.Namespace + "/" + old.JobID
		if seen[key] {
			continue
		}
		job := st.JobByID(structs.NamespaceOr(old.Namespace), old.JobID)
		if job.Stopped() {
			continue
		}
		tg := job.LookupTaskGroup(old.TaskGroup)
		if tg == nil {
			continue
		}
		failed := old.Copy()
		failed.ClientStatus, failed.TaskStates, failed.ModifyTime = u.ClientStatus, u.TaskStates, u.ModifyTime
		if !structs.NextReschedule(failed, tg.ReschedulePolicy).Possible {
			continue
		}
		seen[key] = true
		out = append(out, fsmJobEval(allocFailureNamespace, index, key, job, structs.EvalTriggerRetryFailedAlloc, u.ModifyTime))
	}
	return out
}

// fsmJobEval is a pending evaluation of job that the FSM creates while
// applying the entry at index: its ID derives from ns, the index and key,
// so every server mints the same one; at (unix nanoseconds) stamps it.
func fsmJobEval(ns uuid.UUID, index uint64, key string, job *structs.Job, trigger string, at int64) *structs.Evaluation {
	return &structs.Evaluation{
		ID:             uuid.NewSHA1(ns, []byte(strconv.FormatUint(index, 10)+"/"+key)).String(),
		Namespace:      job.Namespace,
		Priority:       job.Priority,
		Type:           job.Type,
		TriggeredBy:    trigger,
		JobID:          job.ID,
		JobModifyIndex: job.JobModifyIndex,
		Status:         structs.EvalStatusPending,
		CreateTime:     at,
		ModifyTime:     at,
	}
}
