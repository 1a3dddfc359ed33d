package server

import (
	"fmt"

	"github.com/orch-io/orch/structs"
)

// applyJobLaunch applies a JobLaunchEntry; see its contract. An entry that
// applies nothing leaves the reply's eval ID empty.
func (f *FSM) applyJobLaunch(a *entryApply, body []byte) error {
	var e JobLaunchEntry
	if err := decodeEntry(MsgJobLaunch, body, &e); err != nil {
		return err
	}
	if e.Child != nil && e.Eval == nil {
		return fmt.Errorf("server: JobLaunch entry at index %d lacks its eval", a.index)
	}
	read := a.txn.Read()
	if l := e.Launch; l != nil {
		old := read.PeriodicLaunch(l.Namespace, l.ID)
		newer := old == nil || l.Launch > old.Launch
		if !newer && !e.Force {
			return nil // launched already
		}
		if newer {
			if err := a.txn.UpsertPeriodicLaunch(l); err != nil {
				return err
			}
		}
	}
	child := e.Child
	if child == nil {
		return nil
	}
	ns := structs.NamespaceOr(child.Namespace)
	if read.JobByID(ns, child.ID) != nil {
		return nil
	}
	if tok := child.DispatchIdempotencyToken; tok != "" {
		for _, c := range read.ChildJobs(ns, child.ParentID) {
			if c.DispatchIdempotencyToken == tok {
				return nil
			}
		}
	}
	if err := a.txn.UpsertJob(child); err != nil {
		return err
	}
	e.Eval.JobModifyIndex = child.JobModifyIndex
	if err := a.txn.UpsertEvals([]*structs.Evaluation{e.Eval}); err != nil {
		return err
	}
	a.evalID, a.jobModifyIndex = e.Eval.ID, child.JobModifyIndex
	a.then(func() { f.handleEvals(e.Eval) })
	return nil
}
