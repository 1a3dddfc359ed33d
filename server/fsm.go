package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// ErrUnknownMessageType is returned (as the Apply response) for a log entry
// whose type this server does not know and that does not carry
// MsgIgnoreUnknownFlag.
var ErrUnknownMessageType = errors.New("server: unknown raft log entry type")

// FSM applies committed Raft log entries to the state store.
//
// Raft calls Apply, Snapshot and Restore from its FSM goroutine, one at a time.
// Every server applies every entry; only on the leader, where the broker and
// the blocked evals are enabled, do the evaluations an entry creates enter
// them (on followers Enqueue, Block and Unblock are no-ops). Apply must be
// deterministic: it reads only the entry and the state store.
type FSM struct {
	state   *state.StateStore
	broker  *broker.Broker
	blocked *broker.Blocked
	logger  *slog.Logger
	// maxVersion is the highest entry version this FSM reads: entry types
	// introduced later are unknown to it (entry_versions.go).
	maxVersion EntryVersion
	// metrics is the server's; nil in tests of the FSM alone.
	metrics *serverMetrics
	// events receives the events of every entry applied (events.go).
	events *EventBuffer
	// pre holds the entries this server, leading, decoded ahead
	// (fsm_predecode.go).
	pre predecoder
}

var _ raft.FSM = (*FSM)(nil)

// NewFSM returns an FSM writing to st and feeding evaluations to b and bl.
func NewFSM(st *state.StateStore, b *broker.Broker, bl *broker.Blocked, logger *slog.Logger) *FSM {
	return &FSM{state: st, broker: b, blocked: bl, logger: logger.With("component", "fsm"), maxVersion: MaxEntryVersion,
		events: NewEventBuffer(DefaultEventBufferSize)}
}

// Apply applies one entry in one state-store transaction, committed once:
// readers see all of the entry or none of it, and an entry that fails
// part-way leaves nothing behind. It dispatches on the entry's type through
// entryTypes (applyType). The broker and the blocked evals hear of the
// entry's evaluations only after the commit.
//
// It returns, for raft to hand to whoever submitted the entry (see
// Server.raftApply): a *state.RequestOutcome for a WriteEntry (carrying the
// inner entry's error, if any), otherwise nil or an error.
func (f *FSM) Apply(l *raft.Log) any {
	if len(l.Data) == 0 {
		return fmt.Errorf("server: raft entry %d is empty", l.Index)
	}
	t := MessageType(l.Data[0])
	if f.metrics != nil {
		defer since(f.metrics.fsmApply, time.Now(), t.String())
	}
	a := &entryApply{f: f, index: l.Index, txn: f.state.Begin(l.Index), pre: f.pre.take(l.Data)}
	defer func() { a.txn.Abort() }() // a.txn changes on restart
	err := f.applyType(a, t, l.Data[1:])
	if err == nil {
		err = a.txn.Commit()
	}
	if err != nil {
		f.logger.Error("applying raft entry failed", "index", l.Index, "type", t, "error", err)
		return err
	}
	for _, fn := range a.afterCommit {
		fn()
	}
	f.events.Publish(eventsOf(l.Index, a.txn.Changes()))
	if a.outcome != nil {
		return a.outcome
	}
	return nil
}

// entryApply is one entry being applied: its transaction, what it produced
// for the reply, and what to do once it is committed. FSM goroutine only.
type entryApply struct {
	f     *FSM
	index uint64
	txn   *state.WriteTxn
	// pre is the entry's body decoded ahead by this server as leader
	// (fsm_predecode.go); nil when it was not.
	pre any
	// wrapped is set inside a WriteEntry, where the entry fields of version 3
	// (JobRegisterEntry.EnforceIndex) are honoured.
	wrapped bool
	// evalID and jobModifyIndex are the reply of a job write.
	evalID         string
	jobModifyIndex uint64
	// outcome is the response of a WriteEntry.
	outcome *state.RequestOutcome
	// afterCommit runs, in order, once the transaction committed: the
	// broker and blocked-evals effects, which must never see an entry
	// that did not commit.
	afterCommit []func()
}

// restart discards everything applied so far and opens a fresh transaction
// at the same index.
func (a *entryApply) restart() {
	a.txn.Abort()
	a.txn = a.f.state.Begin(a.index)
	a.evalID, a.jobModifyIndex, a.afterCommit = "", 0, nil
}

// then schedules fn for after the commit.
func (a *entryApply) then(fn func()) { a.afterCommit = append(a.afterCommit, fn) }

// applyType applies an entry of type t. An entry of a type this FSM does not
// know is skipped with a warning when the type carries MsgIgnoreUnknownFlag,
// and is an ErrUnknownMessageType otherwise.
func (f *FSM) applyType(a *entryApply, t MessageType, body []byte) error {
	et, known := entryTypes[t.Number()]
	if known && et.version > f.maxVersion {
		known = false // a server simulating an older build (Config.MaxEntryVersionForTest)
	}
	switch {
	case known:
		return et.apply(f, a, body)
	case t.Ignorable():
		f.logger.Warn("skipping raft entry of unknown type marked ignorable (written by a newer server)",
			"index", a.index, "type", uint8(t), "max_entry_version", f.maxVersion)
		return nil
	default:
		return fmt.Errorf("%w: type %d at index %d (this server may be older than the one that wrote it)", ErrUnknownMessageType, uint8(t), a.index)
	}
}

func decodeEntry(t MessageType, body []byte, out any) error {
	if err := structs.Decode(body, out); err != nil {
		return fmt.Errorf("server: decoding %s entry: %w", t, err)
	}
	return nil
}

// applyWrite applies a WriteEntry: its inner entry, unless its request ID is
// in the request window, and records the outcome there. An inner entry that
// fails is discarded whole; its error is the recorded outcome, so that a
// retry gets the same error (a check-index conflict stays a conflict).
func (f *FSM) applyWrite(a *entryApply, body []byte) error {
	var e WriteEntry
	if err := decodeEntry(MsgWrite, body, &e); err != nil {
		return err
	}
	if e.Type.Number() == MsgWrite {
		return fmt.Errorf("server: Write entry at index %d wraps another Write entry", a.index)
	}
	if e.RequestID != "" {
		if first := a.txn.Read().RequestByID(e.RequestID); first != nil {
			a.outcome = first
			if first.Type != uint8(e.Type.Number()) {
				a.outcome = &state.RequestOutcome{ID: e.RequestID, Type: uint8(e.Type.Number()), Index: a.index, Time: e.Time}
				a.outcome.SetErr(errRequestReused(first))
			}
			return nil
		}
	}
	a.wrapped = true
	err := f.applyType(a, e.Type, e.Body)
	if err != nil {
		a.restart()
	}
	o := &state.RequestOutcome{ID: e.RequestID, Type: uint8(e.Type.Number()), Index: a.index, Time: e.Time,
		EvalID: a.evalID, JobModifyIndex: a.jobModifyIndex}
	f.logger.Debug("write applied", "request_id", e.RequestID, "type", e.Type, "index", a.index, "eval_id", a.evalID, "error", err)
	o.SetErr(err)
	a.outcome = o
	if e.RequestID == "" {
		return nil
	}
	return a.txn.RecordRequest(o)
}

func (f *FSM) applyJobRegister(a *entryApply, body []byte) error {
	var e JobRegisterEntry
	if err := decodeEntry(MsgJobRegister, body, &e); err != nil {
		return err
	}
	if e.Job == nil || e.Eval == nil {
		return fmt.Errorf("server: JobRegister entry at index %d lacks its job or eval", a.index)
	}
	if a.wrapped && e.EnforceIndex {
		if err := checkJobModifyIndex(e.Job.ID, a.txn.Read().JobByID(structs.NamespaceOr(e.Job.Namespace), e.Job.ID), e.JobModifyIndex); err != nil {
			return err
		}
	}
	if err := a.txn.UpsertJob(e.Job); err != nil {
		return err
	}
	// The state store keeps JobModifyIndex when the specification did not
	// change; the eval plans that version.
	e.Eval.JobModifyIndex = e.Job.JobModifyIndex
	if err := a.txn.UpsertEvals([]*structs.Evaluation{e.Eval}); err != nil {
		return err
	}
	a.evalID, a.jobModifyIndex = e.Eval.ID, e.Job.JobModifyIndex
	a.then(func() { f.handleEvals(e.Eval) })
	return nil
}

func (f *FSM) applyJobDeregister(a *entryApply, body []byte) error {
	var e JobDeregisterEntry
	if err := decodeEntry(MsgJobDeregister, body, &e); err != nil {
		return err
	}
	if e.Eval == nil {
		return fmt.Errorf("server: JobDeregister entry at index %d lacks its eval", a.index)
	}
	a.jobModifyIndex = a.index
	// An entry from before namespaces names none: its job is in "default"
	// (as its evaluation says).
	ns := e.Namespace
	if ns == "" {
		ns = structs.NamespaceOr(e.Eval.Namespace)
	}
	if e.Purge {
		if err := a.txn.DeleteJob(ns, e.JobID); err != nil {
			return err
		}
	} else if job := a.txn.Read().JobByID(ns, e.JobID); job != nil {
		stopped := job.Copy()
		stopped.Stop = true
		if err := a.txn.UpsertJob(stopped); err != nil {
			return err
		}
		e.Eval.JobModifyIndex = stopped.JobModifyIndex
		a.jobModifyIndex = stopped.JobModifyIndex
	}
	if err := a.txn.UpsertEvals([]*structs.Evaluation{e.Eval}); err != nil {
		return err
	}
	a.evalID = e.Eval.ID
	a.then(func() {
		f.blocked.Untrack(ns, e.JobID)
		f.handleEvals(e.Eval)
	})
	return nil
}

func (f *FSM) applyEvalUpdate(a *entryApply, body []byte) error {
	var e EvalUpdateEntry
	if err := decodeEntry(MsgEvalUpdate, body, &e); err != nil {
		return err
	}
	return a.upsertEvals(e.Evals)
}

// upsertEvals writes evaluations and hands them to the broker and the
// blocked evals after the commit.
func (a *entryApply) upsertEvals(evals []*structs.Evaluation) error {
	if len(evals) == 0 {
		return nil
	}
	if err := a.txn.UpsertEvals(evals); err != nil {
		return err
	}
	a.then(func() { a.f.handleEvals(evals...) })
	return nil
}

func (f *FSM) applyNodeRegister(a *entryApply, body []byte) error {
	var e NodeRegisterEntry
	if err := decodeEntry(MsgNodeRegister, body, &e); err != nil {
		return err
	}
	if e.Node == nil {
		return fmt.Errorf("server: NodeRegister entry at index %d lacks its node", a.index)
	}
	if err := a.txn.UpsertNode(e.Node); err != nil {
		return err
	}
	if err := a.upsertEvals(e.Evals); err != nil {
		return err
	}
	if e.Node.Ready() {
		a.then(func() { f.blocked.Unblock(e.Node.ComputedClass, a.index) }) // capacity may have appeared
	}
	return nil
}

func (f *FSM) applyNodeUpdateStatus(a *entryApply, body []byte) error {
	var e NodeUpdateStatusEntry
	if err := decodeEntry(MsgNodeUpdateStatus, body, &e); err != nil {
		return err
	}
	if err := a.txn.UpdateNodeStatus(e.NodeID, e.Status, e.UpdatedAt); err != nil {
		return err
	}
	if err := a.upsertEvals(e.Evals); err != nil {
		return err
	}
	if e.Status == structs.NodeStatusReady {
		a.then(func() { f.unblockNodes(a.index, e.NodeID) })
	}
	return nil
}

func (f *FSM) applyNodesDown(a *entryApply, body []byte) error {
	var e NodesDownEntry
	if err := decodeEntry(MsgNodesDown, body, &e); err != nil {
		return err
	}
	for _, id := range e.NodeIDs {
		err := a.txn.UpdateNodeStatus(id, structs.NodeStatusDown, e.UpdatedAt)
		if err != nil && structs.CodeOf(err) != structs.CodeNotFound {
			return err
		}
	}
	return a.upsertEvals(e.Evals)
}

func (f *FSM) applyPlanResults(a *entryApply, body []byte) error {
	e, err := entryBody[ApplyPlanResultsEntry](a, MsgApplyPlanResults, body)
	if err != nil {
		return err
	}
	if e.Deployment != nil {
		if err := a.txn.UpsertDeployment(e.Deployment); err != nil {
			return err
		}
	}
	if err := a.txn.UpsertPlanResults(e.Job, e.Allocs); err != nil {
		return err
	}
	for _, u := range e.DeploymentUpdates {
		// A deployment gone since the plan was made has nothing to cancel.
		if err := a.txn.UpdateDeploymentStatus(u, 0); err != nil && !errors.Is(err, structs.ErrNotFound) {
			return err
		}
	}
	if err := a.upsertEvals(preemptionEvals(a.txn.Read(), a.index, e.Allocs)); err != nil {
		return err
	}
	var freed []string // nodes where a stop frees resources for the scheduler
	for _, al := range e.Allocs {
		if al.ServerTerminal() {
			freed = append(freed, al.NodeID)
		}
	}
	if len(freed) > 0 {
		a.then(func() { f.unblockNodes(a.index, freed...) })
	}
	return nil
}

func (f *FSM) applyAllocClientUpdate(a *entryApply, body []byte) error {
	e, err := entryBody[AllocClientUpdateEntry](a, MsgAllocClientUpdate, body)
	if err != nil {
		return err
	}
	// Which updates make an allocation terminal for the first time: those
	// free capacity.
	before := a.txn.Read()
	var freed []string // the nodes of those allocations
	for _, al := range e.Allocs {
		if old := before.AllocByID(al.ID); old != nil && !old.ClientTerminal() && al.ClientTerminal() {
			freed = append(freed, old.NodeID)
		}
	}
	evals := allocFailureEvals(before, a.index, e.Allocs)
	if err := a.txn.UpdateAllocsFromClient(e.Allocs); err != nil {
		return err
	}
	if err := a.upsertEvals(evals); err != nil {
		return err
	}
	if len(freed) > 0 {
		a.then(func() { f.unblockNodes(a.index, freed...) })
	}
	return nil
}

// handleEvals hands evaluations just written to the broker (pending) or to
// the blocked evals (blocked), and stops tracking a job's blocked evaluation
// once an evaluation of it completed with everything placed.
func (f *FSM) handleEvals(evals ...*structs.Evaluation) {
	for _, e := range evals {
		switch {
		case e.Status == structs.EvalStatusPending:
			f.broker.Enqueue(e)
		case e.Status == structs.EvalStatusBlocked:
			f.blocked.Block(e)
		case e.Status == structs.EvalStatusComplete && len(e.FailedTGAllocs) == 0:
			f.blocked.Untrack(structs.NamespaceOr(e.Namespace), e.JobID)
		}
	}
}

// Snapshot captures the state for Raft. Taking a state snapshot is cheap
// (an immutable memdb view); Persist, which raft runs concurrently with
// Apply, streams it.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	if f.metrics != nil {
		defer since(f.metrics.snapshot, time.Now(), "snapshot")
	}
	return &fsmSnapshot{snap: f.state.Snapshot(), metrics: f.metrics}, nil
}

// Restore replaces the whole state with a snapshot written by Persist.
func (f *FSM) Restore(rc io.ReadCloser) error {
	if f.metrics != nil {
		defer since(f.metrics.snapshot, time.Now(), "restore")
	}
	defer rc.Close()
	if err := f.state.Restore(rc); err != nil {
		return fmt.Errorf("server: restoring raft snapshot: %w", err)
	}
	return nil
}

type fsmSnapshot struct {
	snap *state.Snapshot
	// metrics is the FSM's (nil in tests of the FSM alone).
	metrics *serverMetrics
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if s.metrics != nil {
		defer since(s.metrics.snapshot, time.Now(), "persist")
	}
	if err := s.snap.Persist(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("server: persisting raft snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
