package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// updateRecorder stands for the servers' Node.UpdateAlloc: it records every
// batch, and fails calls while failNext > 0 or when a batch names an unknown
// allocation.
type updateRecorder struct {
	mu       sync.Mutex
	batches  [][]*structs.Allocation
	failNext int
	unknown  map[string]bool
}

func (r *updateRecorder) rpc(ctx context.Context, method string, args, reply any) error {
	if method != "Node.UpdateAlloc" {
		return fmt.Errorf("unexpected %s", method)
	}
	req := args.(*structs.AllocUpdateRequest)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNext > 0 {
		r.failNext--
		return errors.New("no cluster leader")
	}
	for _, a := range req.Alloc {
		if r.unknown[a.ID] {
			return fmt.Errorf("alloc %s: %w", a.ID, structs.ErrNotFound)
		}
	}
	r.batches = append(r.batches, req.Alloc)
	return nil
}

func (r *updateRecorder) sent() [][]*structs.Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]*structs.Allocation(nil), r.batches...)
}

func startUpdater(t *testing.T, r *updateRecorder, interval time.Duration) *allocUpdater {
	t.Helper()
	cfg := Config{AllocUpdateInterval: interval, RetryInterval: 10 * time.Millisecond, MaxRetryInterval: 50 * time.Millisecond}
	u := newAllocUpdater(r.rpc, cfg, testLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	close(ready)
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.run(ctx, ready)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return u
}

func allocWithStatus(id string, s structs.AllocClientStatus) *structs.Allocation {
	return &structs.Allocation{ID: id, JobID: "j", Job: &structs.Job{ID: "j"}, ClientStatus: s, ClientDescription: string(s)}
}

func TestUpdaterCoalescesAndSendsTheLatest(t *testing.T) {
	r := &updateRecorder{}
	u := startUpdater(t, r, 50*time.Millisecond)
	u.update(allocWithStatus("a", structs.AllocClientStatusPending))
	u.update(allocWithStatus("b", structs.AllocClientStatusPending))
	u.update(allocWithStatus("a", structs.AllocClientStatusRunning))
	waitFor(t, "a batch", func() bool { return len(r.sent()) > 0 })

	b := r.sent()[0]
	if len(b) != 2 || b[0].ID != "a" || b[0].ClientStatus != structs.AllocClientStatusRunning || b[1].ID != "b" {
		t.Fatalf("first batch = %v", b)
	}
	if b[0].Job != nil {
		t.Error("the job was sent with the client update")
	}
}

func TestUpdaterSendsTerminalAtOnce(t *testing.T) {
	r := &updateRecorder{}
	u := startUpdater(t, r, time.Hour) // a batch window that never ends in the test
	u.update(allocWithStatus("a", structs.AllocClientStatusComplete))
	waitFor(t, "the terminal update", func() bool { return len(r.sent()) == 1 })
}

func TestUpdaterRetriesAndNeverLosesTheLastState(t *testing.T) {
	r := &updateRecorder{failNext: 3}
	u := startUpdater(t, r, 10*time.Millisecond)
	u.update(allocWithStatus("a", structs.AllocClientStatusRunning))
	u.update(allocWithStatus("b", structs.AllocClientStatusRunning))
	waitFor(t, "failures", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.failNext <= 1 })
	u.update(allocWithStatus("a", structs.AllocClientStatusFailed))
	waitFor(t, "both delivered", func() bool {
		got := map[string]structs.AllocClientStatus{}
		for _, b := range r.sent() {
			for _, a := range b {
				got[a.ID] = a.ClientStatus
			}
		}
		return got["a"] == structs.AllocClientStatusFailed && got["b"] == structs.AllocClientStatusRunning
	})
}

func TestUpdaterDropsUnknownAllocs(t *testing.T) {
	r := &updateRecorder{unknown: map[string]bool{"gone": true}}
	u := startUpdater(t, r, 10*time.Millisecond)
	u.update(allocWithStatus("gone", structs.AllocClientStatusRunning))
	u.update(allocWithStatus("known", structs.AllocClientStatusRunning))
	waitFor(t, "the known alloc delivered", func() bool { return len(r.sent()) == 1 })
	if b := r.sent()[0]; len(b) != 1 || b[0].ID != "known" {
		t.Fatalf("sent %v", b)
	}
	u.mu.Lock()
	left := len(u.mu.pending)
	u.mu.Unlock()
	if left != 0 {
		t.Errorf("%d updates still pending", left)
	}
}

func TestUpdaterFlushAndDrop(t *testing.T) {
	r := &updateRecorder{}
	u := newAllocUpdater(r.rpc, Config{AllocUpdateInterval: time.Hour, RetryInterval: time.Second, MaxRetryInterval: time.Second}, testLogger(t))
	u.update(allocWithStatus("a", structs.AllocClientStatusRunning))
	u.update(allocWithStatus("b", structs.AllocClientStatusRunning))
	u.drop("b")
	if err := u.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b := r.sent(); len(b) != 1 || len(b[0]) != 1 || b[0][0].ID != "a" {
		t.Fatalf("sent %v", b)
	}
	if err := u.flush(context.Background()); err != nil || len(r.sent()) != 1 {
		t.Errorf("an empty flush sent something: %v", err)
	}
}
