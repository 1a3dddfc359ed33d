package server

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Garbage collection of the servers' state: terminal evaluations with their
// allocations, dead jobs with everything of theirs, and ended deployments,
// once older than their thresholds (Nomad's eval_gc_threshold,
// job_gc_threshold, deployment_gc_threshold). What to remove is decideGC, a
// pure function of a snapshot and the time; the leader runs it every
// JobGCInterval (runCoreGC) and on demand (System.GarbageCollect, with every
// threshold zero, as Nomad's forced GC), and commits the decision as one
// CoreGC entry. The entry names what it removes and the FSM removes what is
// still there, so it is idempotent (a retry, or a forced GC racing the
// periodic one, removes nothing twice and fails on nothing).

// gcThresholds are the ages past which terminal objects are collected.
type gcThresholds struct {
	Eval, Job, Deployment time.Duration
}

// CoreGCEntry removes jobs (with their versions), evaluations, allocations
// and deployments, by ID; absent ones are skipped.
type CoreGCEntry struct {
	Jobs          []structs.NamespacedID
	EvalIDs       []string
	AllocIDs      []string
	DeploymentIDs []string
}

func (e *CoreGCEntry) empty() bool {
	return len(e.Jobs)+len(e.EvalIDs)+len(e.AllocIDs)+len(e.DeploymentIDs) == 0
}

// decideGC returns what may be removed from snap at now. The rules:
//
//   - A job is collected when it is dead, stopped or batch, submitted more
//     than th.Job ago, and none of its evaluations is open: with it go all
//     its evaluations, allocations and deployments.
//   - An evaluation of a job that stays is collected when terminal, last
//     modified more than th.Eval ago, and every allocation it placed is
//     collectable; those allocations go with it. A collectable allocation is
//     finished on its client (complete, failed, lost), not in an active
//     deployment, and not a failure still waiting for its replacement. The
//     evaluations of a batch job, and of a job with nothing running, stay
//     until the job goes: they are its history (and its status).
//   - A deployment is collected when it has ended, was last modified more
//     than th.Deployment ago, is not its job's latest, and no allocation left
//     was placed by it.
func decideGC(snap *state.Snapshot, now time.Time, th gcThresholds) *CoreGCEntry {
	out := &CoreGCEntry{}
	older := func(t int64, d time.Duration) bool { return t <= now.Add(-d).UnixNano() }
	gone := map[string]bool{} // allocations collected
	jobGone := map[structs.NamespacedID]bool{}

	for _, job := range snap.Jobs(structs.AllNamespaces, "") {
		if job.Status != structs.JobStatusDead || !(job.Stop || job.Type == structs.JobTypeBatch) || !older(job.SubmitTime, th.Job) {
			continue
		}
		evals := snap.EvalsByJob(job.Namespace, job.ID)
		open := false
		for _, e := range evals {
			open = open || !e.TerminalStatus()
		}
		allocs := snap.AllocsByJob(job.Namespace, job.ID)
		for _, a := range allocs {
			open = open || !a.ClientTerminal() && a.ClientStatus != structs.AllocClientStatusPending
		}
		if open {
			continue
		}
		nsID := structs.NamespacedID{Namespace: job.Namespace, ID: job.ID}
		jobGone[nsID] = true
		out.Jobs = append(out.Jobs, nsID)
		for _, e := range evals {
			out.EvalIDs = append(out.EvalIDs, e.ID)
		}
		for _, a := range allocs {
			out.AllocIDs = append(out.AllocIDs, a.ID)
			gone[a.ID] = true
		}
		for _, d := range snap.DeploymentsByJob(job.Namespace, job.ID) {
			out.DeploymentIDs = append(out.DeploymentIDs, d.ID)
		}
	}

	// Allocations keep no index by evaluation: the candidates are taken job
	// by job, and each job's allocations read once.
	var candidates []*structs.Evaluation
	for _, e := range snap.Evals("") {
		if jobGone[structs.NamespacedID{Namespace: e.Namespace, ID: e.JobID}] || !e.TerminalStatus() || !older(e.ModifyTime, th.Eval) {
			continue
		}
		candidates = append(candidates, e)
	}
	slices.SortFunc(candidates, func(a, b *structs.Evaluation) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.JobID, b.JobID))
	})
	var (
		cur    structs.NamespacedID
		byEval map[string][]*structs.Allocation // cur's allocations, by evaluation
	)
	for _, e := range candidates {
		job := snap.JobByID(e.Namespace, e.JobID)
		if job != nil && (job.Type == structs.JobTypeBatch || job.Status != structs.JobStatusRunning) {
			continue
		}
		if key := (structs.NamespacedID{Namespace: e.Namespace, ID: e.JobID}); byEval == nil || key != cur {
			cur, byEval = key, map[string][]*structs.Allocation{}
			for _, a := range snap.AllocsByJob(key.Namespace, key.ID) {
				byEval[a.EvalID] = append(byEval[a.EvalID], a)
			}
		}
		allocs := byEval[e.ID]
		ok := true
		for _, a := range allocs {
			ok = ok && allocCollectable(snap, job, a)
		}
		if !ok {
			continue
		}
		out.EvalIDs = append(out.EvalIDs, e.ID)
		for _, a := range allocs {
			out.AllocIDs = append(out.AllocIDs, a.ID)
			gone[a.ID] = true
		}
	}

	for _, d := range snap.Deployments("") {
		if jobGone[structs.NamespacedID{Namespace: d.Namespace, ID: d.JobID}] || d.Active() || !older(d.ModifyTime, th.Deployment) {
			continue
		}
		if latest := snap.LatestDeploymentByJobID(d.Namespace, d.JobID); latest != nil && latest.ID == d.ID && snap.JobByID(d.Namespace, d.JobID) != nil {
			continue
		}
		left := false
		for _, a := range snap.AllocsByDeployment(d.ID) {
			left = left || !gone[a.ID]
		}
		if !left {
			out.DeploymentIDs = append(out.DeploymentIDs, d.ID)
		}
	}
	return out
}

// allocCollectable reports whether allocation a of job (nil when gone) may be
// removed while the job stays.
func allocCollectable(snap *state.Snapshot, job *structs.Job, a *structs.Allocation) bool {
	if !a.ClientTerminal() {
		return false
	}
	if a.DeploymentID != "" {
		if d := snap.DeploymentByID(a.DeploymentID); d.Active() {
			return false
		}
	}
	// A failure not yet replaced may still be rescheduled: the reconciler
	// needs it.
	waiting := a.ClientStatus == structs.AllocClientStatusFailed && a.NextAllocation == "" &&
		!a.ServerTerminal() && job != nil && !job.Stop
	return !waiting
}

// coreGC decides and commits one collection. Leader only.
func (s *Server) coreGC(ctx context.Context, th gcThresholds, requestID string) (*CoreGCEntry, uint64, error) {
	e := decideGC(s.state.Snapshot(), s.config.Clock.Now(), th)
	if e.empty() {
		return e, s.state.LatestIndex(), nil
	}
	out, err := s.raftApplyWrite(ctx, MsgCoreGC, e, requestID)
	if err != nil {
		return nil, 0, err
	}
	s.logger.Info("garbage collected", "jobs", len(e.Jobs), "evals", len(e.EvalIDs),
		"allocs", len(e.AllocIDs), "deployments", len(e.DeploymentIDs), "index", out.Index)
	return e, out.Index, nil
}

// runCoreGC collects every JobGCInterval while this server leads.
func (s *Server) runCoreGC(ctx context.Context) {
	th := gcThresholds{Eval: s.config.EvalGCThreshold, Job: s.config.JobGCThreshold, Deployment: s.config.DeploymentGCThreshold}
	for {
		tick := make(chan struct{})
		t := s.config.Clock.AfterFunc(s.config.JobGCInterval, func() { close(tick) })
		if h := s.config.testHooks.gcArmed; h != nil {
			h()
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
		if _, _, err := s.coreGC(ctx, th, ""); err != nil && ctx.Err() == nil {
			s.logger.Error("garbage collection", "error", err)
		}
		if h := s.config.testHooks.gcRan; h != nil {
			h()
		}
	}
}

func (f *FSM) applyCoreGC(a *entryApply, body []byte) error {
	var e CoreGCEntry
	if err := decodeEntry(MsgCoreGC, body, &e); err != nil {
		return err
	}
	if err := a.txn.DeleteAllocs(e.AllocIDs); err != nil {
		return err
	}
	if err := a.txn.DeleteEvals(e.EvalIDs); err != nil {
		return err
	}
	if err := a.txn.DeleteDeployments(e.DeploymentIDs); err != nil {
		return err
	}
	for _, j := range e.Jobs {
		if err := a.txn.DeleteJob(j.Namespace, j.ID); err != nil {
			return err
		}
	}
	return nil
}

// systemEndpoint serves the System RPCs (Nomad's /v1/system).
type systemEndpoint struct{ srv *Server }

// GarbageCollect runs a collection on the leader now, every threshold zero
// (Nomad's forced GC): everything terminal that the rules let go.
func (e *systemEndpoint) GarbageCollect(ctx context.Context, args *structs.SystemWriteRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "System.GarbageCollect", args, reply); done {
		return err
	}
	_, index, err := e.srv.coreGC(ctx, gcThresholds{}, args.RequestID)
	reply.Index = index
	return err
}

// ReconcileJobSummaries is Nomad's summary repair. orch derives a job's
// summary from its allocations and evaluations on every read
// (structs.SummarizeJob), so there is nothing to repair: it answers once the
// leader is reached.
func (e *systemEndpoint) ReconcileJobSummaries(ctx context.Context, args *structs.SystemWriteRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "System.ReconcileJobSummaries", args, reply); done {
		return err
	}
	reply.Index = e.srv.state.LatestIndex()
	return nil
}
