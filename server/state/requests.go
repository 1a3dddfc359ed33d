package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// The request window: the outcomes of recent writes, by request ID
// (structs.WriteRequest.RequestID), so that a write sent again — a client
// retrying after an indeterminate error, a new leader receiving a retry of a
// write its predecessor committed — is answered with its first outcome
// instead of being applied twice.
//
// The window is part of the replicated state: written by the FSM in the
// transaction of the entry it records, pruned there, and carried by
// snapshots. Everything that decides what it holds comes from the log (the
// entry's index and the time the leader stamped on it), never from the
// applying server's clock, so every server holds the same window.

// TableRequests holds the RequestOutcome of recent writes.
const TableRequests = "requests"

// The bounds of the window. They decide what the FSM applies, so every server
// of a cluster must use the same values: they are constants, and changing
// them is a change of the log format (a release note, not a setting).
const (
	// RequestWindowAge is how long (in the time stamped on entries) an
	// outcome is remembered: well beyond how long any client retries a write.
	RequestWindowAge = 10 * time.Minute
	// RequestWindowEntries bounds the window in Raft entries: an outcome is
	// forgotten once this many log entries have been written after it,
	// which also bounds the table to this many records.
	RequestWindowEntries = 20000
)

// RequestOutcome is what a write with a request ID did: enough to answer
// the same request again (reply fields, or the error) without applying it.
type RequestOutcome struct {
	// ID is the request ID.
	ID string
	// Type is the log entry type the write was applied as (the server's
	// MessageType); a request ID reused for another kind of write is refused.
	Type uint8
	// Index is the Raft index of the entry that applied the write.
	Index uint64
	// Time is the entry's time stamp (unix nanoseconds, the leader's clock
	// when it wrote the entry), which ages the outcome out of the window.
	Time int64
	// EvalID and JobModifyIndex are the reply of a job write: the
	// evaluation it created, the job's modify index after it.
	EvalID         string
	JobModifyIndex uint64
	// ErrCode and ErrMsg are the error the write failed with when the FSM
	// refused it (a check-index conflict, ...); empty when it succeeded.
	ErrCode structs.ErrorCode
	ErrMsg  string
}

// Err returns the error the write failed with, nil when it succeeded.
func (o *RequestOutcome) Err() error {
	if o.ErrCode == "" {
		return nil
	}
	return &structs.Error{Code: o.ErrCode, Msg: o.ErrMsg}
}

// SetErr records err (nil for success) as the outcome's error.
func (o *RequestOutcome) SetErr(err error) {
	o.ErrCode, o.ErrMsg = "", ""
	if err != nil {
		o.ErrCode, o.ErrMsg = structs.CodeOf(err), err.Error()
	}
}

func requestsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: TableRequests,
		Indexes: map[string]*memdb.IndexSchema{
			"id":    {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"index": {Name: "index", Indexer: &memdb.UintFieldIndex{Field: "Index"}}, // big-endian: ordered
		},
	}
}

// RequestByID returns the outcome of the write with this request ID while
// it is in the window, or nil.
func (s *Snapshot) RequestByID(id string) *RequestOutcome {
	return first[*RequestOutcome](s.txn, TableRequests, "id", id)
}

// RequestByID returns the outcome of the write with this request ID, or nil.
func (s *StateStore) RequestByID(id string) *RequestOutcome { return s.Snapshot().RequestByID(id) }

// RecordRequest stores o (which the store then owns; its Index is set to
// the transaction's) and forgets the outcomes that left the window as of
// o: those RequestWindowEntries or more entries older, or stamped more than
// RequestWindowAge before o.Time. Outcomes are visited oldest index first
// and pruning stops at the first one still in the window, so an outcome
// stamped earlier than a younger-indexed one (leaders' clocks differ) may
// stay a little longer; never less long.
func (w *WriteTxn) RecordRequest(o *RequestOutcome) error {
	o.Index = w.index
	if err := w.pruneRequests(o.Index, o.Time); err != nil {
		return err
	}
	if err := w.txn.Insert(TableRequests, o); err != nil {
		return fmt.Errorf("state: recording request %q: %w", o.ID, err)
	}
	return nil
}

func (w *WriteTxn) pruneRequests(index uint64, now int64) error {
	it, err := w.txn.Get(TableRequests, "index")
	if err != nil {
		return fmt.Errorf("state: listing requests: %w", err)
	}
	var gone []*RequestOutcome // not deleted while iterating: memdb forbids it
	for raw := it.Next(); raw != nil; raw = it.Next() {
		o := raw.(*RequestOutcome)
		if o.Index+RequestWindowEntries > index && o.Time+int64(RequestWindowAge) >= now {
			break
		}
		gone = append(gone, o)
	}
	for _, o := range gone {
		if err := w.txn.Delete(TableRequests, o); err != nil {
			return fmt.Errorf("state: forgetting request %q: %w", o.ID, err)
		}
	}
	return nil
}

// persistRequests writes the window to a snapshot.
func (s *Snapshot) persistRequests(put func(recordKind, any) error) error {
	for _, o := range list[*RequestOutcome](s.txn, TableRequests, "id") {
		if err := put(recordRequest, o); err != nil {
			return fmt.Errorf("state: persisting request %q: %w", o.ID, err)
		}
	}
	return nil
}
