package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

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
}

var _ raft.FSM = (*FSM)(nil)

// NewFSM returns an FSM writing to st and feeding evaluations to b and bl.
func NewFSM(st *state.StateStore, b *broker.Broker, bl *broker.Blocked, logger *slog.Logger) *FSM {
	return &FSM{state: st, broker: b, blocked: bl, logger: logger.With("component", "fsm"), maxVersion: MaxEntryVersion}
}

// Apply applies one entry: it dispatches on the entry's type through
// entryTypes. An entry of a type it does not know is skipped with a warning
// when the type carries MsgIgnoreUnknownFlag, and is an ErrUnknownMessageType
// otherwise. It returns nil or an error, which raft hands to whoever
// submitted the entry (see Server.raftApply).
func (f *FSM) Apply(l *raft.Log) any {
	if len(l.Data) == 0 {
		return fmt.Errorf("server: raft entry %d is empty", l.Index)
	}
	t, body := MessageType(l.Data[0]), l.Data[1:]
	et, known := entryTypes[t.Number()]
	if known && et.version > f.maxVersion {
		known = false // a server simulating an older build (Config.MaxEntryVersionForTest)
	}
	var err error
	switch {
	case known:
		err = et.apply(f, l.Index, body)
	case t.Ignorable():
		f.logger.Warn("skipping raft entry of unknown type marked ignorable (written by a newer server)",
			"index", l.Index, "type", uint8(t), "max_entry_version", f.maxVersion)
		return nil
	default:
		err = fmt.Errorf("%w: type %d at index %d (this server may be older than the one that wrote it)", ErrUnknownMessageType, uint8(t), l.Index)
	}
	if err != nil {
		f.logger.Error("applying raft entry failed", "index", l.Index, "type", t, "error", err)
		return err
	}
	return nil
}

func decodeEntry(t MessageType, body []byte, out any) error {
	if err := structs.Decode(body, out); err != nil {
		return fmt.Errorf("server: decoding %s entry: %w", t, err)
	}
	return nil
}

func (f *FSM) applyJobRegister(index uint64, body []byte) error {
	var e JobRegisterEntry
	if err := decodeEntry(MsgJobRegister, body, &e); err != nil {
		return err
	}
	if e.Job == nil || e.Eval == nil {
		return fmt.Errorf("server: JobRegister entry at index %d lacks its job or eval", index)
	}
	if err := f.state.UpsertJob(index, e.Job); err != nil {
		return err
	}
	// The state store keeps JobModifyIndex when the specification did not
	// change; the eval plans that version.
	e.Eval.JobModifyIndex = e.Job.JobModifyIndex
	if err := f.state.UpsertEvals(index, []*structs.Evaluation{e.Eval}); err != nil {
		return err
	}
	f.handleEvals(e.Eval)
	return nil
}

func (f *FSM) applyJobDeregister(index uint64, body []byte) error {
	var e JobDeregisterEntry
	if err := decodeEntry(MsgJobDeregister, body, &e); err != nil {
		return err
	}
	if e.Eval == nil {
		return fmt.Errorf("server: JobDeregister entry at index %d lacks its eval", index)
	}
	if e.Purge {
		if err := f.state.DeleteJob(index, e.JobID); err != nil {
			return err
		}
	} else if job := f.state.JobByID(e.JobID); job != nil {
		stopped := job.Copy()
		stopped.Stop = true
		if err := f.state.UpsertJob(index, stopped); err != nil {
			return err
		}
		e.Eval.JobModifyIndex = stopped.JobModifyIndex
	}
	if err := f.state.UpsertEvals(index, []*structs.Evaluation{e.Eval}); err != nil {
		return err
	}
	f.blocked.Untrack(e.JobID)
	f.handleEvals(e.Eval)
	return nil
}

func (f *FSM) applyEvalUpdate(index uint64, body []byte) error {
	var e EvalUpdateEntry
	if err := decodeEntry(MsgEvalUpdate, body, &e); err != nil {
		return err
	}
	if err := f.state.UpsertEvals(index, e.Evals); err != nil {
		return err
	}
	f.handleEvals(e.Evals...)
	return nil
}

func (f *FSM) applyNodeRegister(index uint64, body []byte) error {
	var e NodeRegisterEntry
	if err := decodeEntry(MsgNodeRegister, body, &e); err != nil {
		return err
	}
	if e.Node == nil {
		return fmt.Errorf("server: NodeRegister entry at index %d lacks its node", index)
	}
	if err := f.state.UpsertNode(index, e.Node); err != nil {
		return err
	}
	if len(e.Evals) > 0 {
		if err := f.state.UpsertEvals(index, e.Evals); err != nil {
			return err
		}
		f.handleEvals(e.Evals...)
	}
	if e.Node.Ready() {
		f.blocked.Unblock(e.Node.ComputedClass, index) // capacity may have appeared
	}
	return nil
}

func (f *FSM) applyNodeUpdateStatus(index uint64, body []byte) error {
	var e NodeUpdateStatusEntry
	if err := decodeEntry(MsgNodeUpdateStatus, body, &e); err != nil {
		return err
	}
	if err := f.state.UpdateNodeStatus(index, e.NodeID, e.Status, e.UpdatedAt); err != nil {
		return err
	}
	if len(e.Evals) > 0 {
		if err := f.state.UpsertEvals(index, e.Evals); err != nil {
			return err
		}
		f.handleEvals(e.Evals...)
	}
	if e.Status == structs.NodeStatusReady {
		f.unblockNodes(index, e.NodeID)
	}
	return nil
}

func (f *FSM) applyPlanResults(index uint64, body []byte) error {
	var e ApplyPlanResultsEntry
	if err := decodeEntry(MsgApplyPlanResults, body, &e); err != nil {
		return err
	}
	if err := f.state.UpsertPlanResults(index, e.Job, e.Allocs); err != nil {
		return err
	}
	if evals := preemptionEvals(f.state, index, e.Allocs); len(evals) > 0 {
		if err := f.state.UpsertEvals(index, evals); err != nil {
			return err
		}
		f.handleEvals(evals...)
	}
	var freed []string // nodes where a stop frees resources for the scheduler
	for _, a := range e.Allocs {
		if a.ServerTerminal() {
			freed = append(freed, a.NodeID)
		}
	}
	if len(freed) > 0 {
		f.unblockNodes(index, freed...)
	}
	return nil
}

func (f *FSM) applyAllocClientUpdate(index uint64, body []byte) error {
	var e AllocClientUpdateEntry
	if err := decodeEntry(MsgAllocClientUpdate, body, &e); err != nil {
		return err
	}
	// Which updates make an allocation terminal for the first time: those
	// free capacity.
	before := f.state.Snapshot()
	var freed []string // the nodes of those allocations
	for _, a := range e.Allocs {
		if old := before.AllocByID(a.ID); old != nil && !old.ClientTerminal() && a.ClientTerminal() {
			freed = append(freed, old.NodeID)
		}
	}
	if err := f.state.UpdateAllocsFromClient(index, e.Allocs); err != nil {
		return err
	}
	if len(freed) > 0 {
		f.unblockNodes(index, freed...)
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
			f.blocked.Untrack(e.JobID)
		}
	}
}

// Snapshot captures the state for Raft. Taking a state snapshot is cheap
// (an immutable memdb view); Persist, which raft runs concurrently with
// Apply, streams it.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{snap: f.state.Snapshot()}, nil
}

// Restore replaces the whole state with a snapshot written by Persist.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.state.Restore(rc); err != nil {
		return fmt.Errorf("server: restoring raft snapshot: %w", err)
	}
	return nil
}

type fsmSnapshot struct {
	snap *state.Snapshot
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.snap.Persist(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("server: persisting raft snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
