package state

import (
	"testing"
	"time"
)

// record stores an outcome for id at index, stamped at, in its own
// transaction.
func record(t *testing.T, s *StateStore, id string, index uint64, at time.Duration) {
	t.Helper()
	if err := s.write(index, func(w *WriteTxn) error {
		return w.RecordRequest(&RequestOutcome{ID: id, Time: int64(at)})
	}); err != nil {
		t.Fatalf("recording %s: %v", id, err)
	}
}

func TestRequestWindow_ForgetsByAgeInEntryTime(t *testing.T) {
	s := NewStateStore()
	record(t, s, "old", 1, 0)
	record(t, s, "young", 2, RequestWindowAge/2)
	if s.RequestByID("old") == nil {
		t.Fatalf("an outcome was forgotten before it aged")
	}
	record(t, s, "now", 3, RequestWindowAge+time.Nanosecond) // "old" is now past the window
	if s.RequestByID("old") != nil {
		t.Errorf("an outcome older than RequestWindowAge (in entry time) is still remembered")
	}
	if s.RequestByID("young") == nil || s.RequestByID("now") == nil {
		t.Errorf("outcomes within the window were forgotten")
	}
	// Time going backwards (a new leader whose clock is behind) forgets
	// nothing early.
	record(t, s, "behind", 4, 0)
	if s.RequestByID("young") == nil {
		t.Errorf("an entry stamped earlier made the window forget")
	}
}

func TestRequestWindow_ForgetsByEntries(t *testing.T) {
	s := NewStateStore()
	record(t, s, "first", 10, 0)
	record(t, s, "second", 11, 0)
	record(t, s, "edge", 10+RequestWindowEntries-1, 0)
	if s.RequestByID("first") == nil {
		t.Fatalf("forgotten %d entries later, before the bound", RequestWindowEntries-1)
	}
	record(t, s, "past", 10+RequestWindowEntries, 0)
	if s.RequestByID("first") != nil {
		t.Errorf("still remembered %d entries later", RequestWindowEntries)
	}
	if s.RequestByID("second") == nil {
		t.Errorf("an outcome within the bound was forgotten")
	}
}
