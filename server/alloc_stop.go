package server

import (
	"context"
	"time"

	"github.com/orch-io/orch/structs"
)

// Stop stops one allocation and has the scheduler replace it: the
// allocation is marked for migration and an alloc-stop evaluation of its
// job is created, in one Raft entry. The scheduler stops it once its
// replacement is placed (`orch alloc stop`, PUT /v1/allocation/:id/stop).
func (a *allocEndpoint) Stop(ctx context.Context, args *structs.AllocStopRequest, reply *structs.AllocStopResponse) error {
	if done, err := a.srv.forward(ctx, "Alloc.Stop", args, reply); done {
		return err
	}
	if args.AllocID == "" {
		return structs.NewError(structs.CodeInvalid, "alloc stop: allocation ID is empty")
	}
	if first, err := a.srv.recordedOutcome(MsgAllocDesiredTransition, args.RequestID); err != nil || first != nil {
		if first != nil {
			reply.Index = first.Index
			reply.EvalID = first.EvalID
		}
		return err
	}
	alloc := a.srv.state.AllocByID(args.AllocID)
	if alloc == nil {
		return structs.NewError(structs.CodeNotFound, "allocation %q not found", args.AllocID)
	}
	if alloc.TerminalStatus() {
		return structs.NewError(structs.CodeInvalid, "allocation %s is already %s: there is nothing to stop",
			alloc.ID, terminalWord(alloc))
	}
	job := a.srv.state.JobByID(alloc.Namespace, alloc.JobID)
	if job == nil {
		return structs.NewError(structs.CodeNotFound, "job %q of allocation %s not found", alloc.JobID, alloc.ID)
	}
	eval := newJobEval(job, structs.EvalTriggerAllocStop, time.Now().UnixNano())
	eval.JobModifyIndex = job.JobModifyIndex
	out, err := a.srv.raftApplyWrite(ctx, MsgAllocDesiredTransition, &AllocDesiredTransitionEntry{
		Transitions: map[string]structs.DesiredTransition{alloc.ID: {Migrate: true}},
		Evals:       []*structs.Evaluation{eval},
	}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index, reply.EvalID = out.Index, eval.ID
	a.srv.logger.Info("allocation stopped by request", "alloc_id", alloc.ID, "job_id", alloc.JobID, "eval_id", eval.ID, "index", out.Index)
	return nil
}

// terminalWord says how an allocation ended: its client status when the
// client finished it, else its desired status.
func terminalWord(a *structs.Allocation) string {
	if a.ClientTerminal() {
		return string(a.ClientStatus)
	}
	return "stopping (desired status " + string(a.DesiredStatus) + ")"
}
