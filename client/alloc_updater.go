package client

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orch-io/orch/structs"
)

// rpcFunc calls the servers, giving up waiting when ctx ends (Client.callRPC).
type rpcFunc func(ctx context.Context, method string, args, reply any) error

// RPC makes an rpcFunc an RPCer.
func (f rpcFunc) RPC(ctx context.Context, method string, args, reply any) error {
	return f(ctx, method, args, reply)
}

// allocUpdater sends the client status of allocations to the servers
// (Node.UpdateAlloc) in batches: updates are gathered for AllocUpdateInterval
// and only the latest of each allocation is sent; a terminal status is sent at
// once. A batch that fails is retried with backoff, merged with whatever newer
// came meanwhile, so the last state of an allocation is never lost.
//
// update and drop may be called from any goroutine; run is the updater's own
// goroutine; flush is called by Shutdown after run has returned.
type allocUpdater struct {
	rpc      rpcFunc
	region   string
	interval time.Duration
	retry    time.Duration
	maxRetry time.Duration
	logger   *slog.Logger

	kick chan struct{} // capacity 1: something was queued

	mu struct {
		sync.Mutex
		pending map[string]*structs.Allocation // latest unsent update, by alloc ID
		urgent  bool                           // a terminal status is pending
	}
}

func newAllocUpdater(rpc rpcFunc, cfg Config, logger *slog.Logger) *allocUpdater {
	u := &allocUpdater{
		rpc:      rpc,
		region:   cfg.Region,
		interval: cfg.AllocUpdateInterval,
		retry:    cfg.RetryInterval,
		maxRetry: cfg.MaxRetryInterval,
		logger:   logger,
		kick:     make(chan struct{}, 1),
	}
	u.mu.pending = make(map[string]*structs.Allocation)
	return u
}

// update queues the client state of a (which the updater keeps) for sending,
// replacing any older unsent state of the same allocation. Never blocks.
func (u *allocUpdater) update(a *structs.Allocation) {
	u.mu.Lock()
	u.mu.pending[a.ID] = a
	if a.ClientTerminal() {
		u.mu.urgent = true
	}
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// drop forgets any unsent update of an allocation the servers no longer know.
func (u *allocUpdater) drop(allocID string) {
	u.mu.Lock()
	delete(u.mu.pending, allocID)
	u.mu.Unlock()
}

// pendingFor reports whether an update of the allocation waits to be sent.
func (u *allocUpdater) pendingFor(allocID string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.mu.pending[allocID]
	return ok
}

// run sends updates until ctx ends. It waits for ready (the node is registered)
// before sending anything.
func (u *allocUpdater) run(ctx context.Context, ready <-chan struct{}) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}

	// Go >= 1.23 timers: after Stop or Reset no stale tick is ever received,
	// so the timer is never drained.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false // timer runs: a batch window or a retry backoff
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-u.kick:
			u.mu.Lock()
			urgent := u.mu.urgent
			u.mu.Unlock()
			switch {
			case failures > 0:
				continue // the retry timer will send everything
			case !urgent:
				if !armed {
					timer.Reset(u.interval)
					armed = true
				}
				continue
			}
			timer.Stop()
			armed = false
		case <-timer.C:
			armed = false
		}

		if err := u.flush(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait := backoff(u.retry, u.maxRetry, failures)
			u.logger.Warn("sending allocation updates", "retry_in", wait, "error", err)
			timer.Reset(wait)
			armed = true
			continue
		}
		failures = 0
	}
}

// flush sends every pending update once. What could not be sent goes back to
// pending, unless a newer update of the same allocation arrived meanwhile.
func (u *allocUpdater) flush(ctx context.Context) error {
	u.mu.Lock()
	batch := u.mu.pending
	u.mu.pending = make(map[string]*structs.Allocation)
	u.mu.urgent = false
	u.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}

	allocs := make([]*structs.Allocation, 0, len(batch))
	for _, a := range batch {
		allocs = append(allocs, clientUpdate(a))
	}
	slices.SortFunc(allocs, func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })

	failed, err := u.send(ctx, allocs)
	if len(failed) > 0 {
		u.mu.Lock()
		for _, a := range failed {
			if _, newer := u.mu.pending[a.ID]; !newer {
				u.mu.pending[a.ID] = batch[a.ID]
				if a.ClientTerminal() {
					u.mu.urgent = true
				}
			}
		}
		u.mu.Unlock()
	}
	return err
}

// send sends allocs in one call. If the servers answer "not found" (some
// allocation was garbage-collected), each is sent alone and the unknown ones
// are dropped, so one does not hold back the others. It returns the
// allocations that still have to be sent.
func (u *allocUpdater) send(ctx context.Context, allocs []*structs.Allocation) (failed []*structs.Allocation, err error) {
	err = u.call(ctx, allocs)
	if err == nil {
		u.logger.Debug("sent allocation updates", "count", len(allocs))
		return nil, nil
	}
	if !errors.Is(err, structs.ErrNotFound) {
		return allocs, err
	}
	var errs []error
	for _, a := range allocs {
		err := u.call(ctx, []*structs.Allocation{a})
		switch {
		case err == nil:
		case errors.Is(err, structs.ErrNotFound):
			u.logger.Warn("servers do not know the allocation; dropping its update", "alloc_id", a.ID, "error", err)
		default:
			failed = append(failed, a)
			errs = append(errs, err)
		}
	}
	return failed, errors.Join(errs...)
}

func (u *allocUpdater) call(ctx context.Context, allocs []*structs.Allocation) error {
	req := &structs.AllocUpdateRequest{Alloc: allocs, WriteRequest: structs.WriteRequest{Region: u.region}}
	return u.rpc(ctx, "Node.UpdateAlloc", req, &structs.GenericResponse{})
}

// clientUpdate is what the servers take from a client's allocation: its
// identity and client state, without the job.
func clientUpdate(a *structs.Allocation) *structs.Allocation {
	u := &structs.Allocation{
		ID: a.ID, Namespace: a.Namespace, EvalID: a.EvalID, Name: a.Name, NodeID: a.NodeID,
		NodeName: a.NodeName, JobID: a.JobID, TaskGroup: a.TaskGroup,
		ClientStatus: a.ClientStatus, ClientDescription: a.ClientDescription,
		DeploymentStatus: a.DeploymentStatus.Copy(),
		ModifyTime:       time.Now().UnixNano(),
	}
	if a.TaskStates != nil {
		u.TaskStates = make(map[string]*structs.TaskState, len(a.TaskStates))
		for k, ts := range a.TaskStates {
			u.TaskStates[k] = ts.Copy()
		}
	}
	return u
}
