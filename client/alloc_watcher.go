package client

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/orch-io/orch/client/allocrunner"
	"github.com/orch-io/orch/structs"
)

// watchAllocs is the alloc watcher: a blocking query on the node's allocations
// (Node.GetClientAllocs, which names each with its AllocModifyIndex), and on
// every answer with a new index, fetch what is new or changed
// (Alloc.GetAllocs) and reconcile. It starts once the node is registered and
// runs on its own goroutine until Shutdown.
func (c *Client) watchAllocs() {
	defer close(c.watcherDone)
	select {
	case <-c.registered:
	case <-c.ctx.Done():
		return
	}

	var index uint64
	first := true
	failures := 0
	fetched := AllocIndexes{}
	confirm := false
	for {
		var resp structs.NodeClientAllocsResponse
		req := WatchAllocsRequest(c.nodeID, c.secretID, c.cfg.Region, index, c.cfg.AllocQueryWait, confirm)
		err := c.callRPC(c.ctx, "Node.GetClientAllocs", req, &resp)
		if c.ctx.Err() != nil {
			return
		}
		if confirm = err == nil && !confirm && StaleBehind(&resp, index); confirm {
			continue
		}
		confirm = false
		if err == nil && (first || resp.Index != index) {
			// An index lower than ours means the servers' state was rebuilt:
			// take theirs and reconcile with what they say now.
			err = c.syncAllocs(&resp, fetched)
			if err == nil {
				first = false
				// At least 1, so that the next query blocks even while the
				// servers have no allocation at all (index 0).
				index = max(resp.Index, 1)
			}
		}
		if err == nil {
			failures = 0
			continue
		}

		failures++
		wait := backoff(c.cfg.RetryInterval, c.cfg.MaxRetryInterval, failures)
		c.logger.Warn("watching allocations", "retry_in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
	}
}

// WatchAllocsRequest is a Node.GetClientAllocs request of the allocation
// watch from index on. Any server answers it from its own state (AllowStale,
// as Nomad's client asks): the watches of thousands of nodes spread over the
// servers instead of all waiting on the leader, which a write of 1,000
// allocations would make wake 1,000 of them at once, beside its Raft
// duties. A follower behind the client's index answers only once it caught
// up, or, when the wait runs out first, with an older view (StaleBehind);
// confirm then asks the leader for its current one instead (no wait): only
// the leader's word may take allocations away.
func WatchAllocsRequest(nodeID, secretID, region string, index uint64, wait time.Duration, confirm bool) *structs.NodeSpecificRequest {
	q := structs.QueryOptions{Region: region, MinQueryIndex: index, MaxQueryTime: wait, AllowStale: true}
	if confirm {
		q.MinQueryIndex, q.AllowStale = 0, false
	}
	return &structs.NodeSpecificRequest{NodeID: nodeID, SecretID: secretID, QueryOptions: q}
}

// StaleBehind reports whether resp, the answer of a server that may lag (an
// AllowStale watch), is older than index, what the watch has taken in: a
// follower still catching up, or a state rebuilt from an older snapshot.
// The leader is asked to tell which (WatchAllocsRequest with confirm).
func StaleBehind(resp *structs.NodeClientAllocsResponse, index uint64) bool {
	return resp.Index < index
}

// syncAllocs fetches the listed allocations that are new or changed since
// fetched says (AllocIndexes.Pull, FetchAllocs) and reconciles with them.
// Only once that succeeded does fetched take their indexes, so an allocation
// whose start failed is fetched and tried again. Called only from the
// watcher goroutine.
func (c *Client) syncAllocs(list *structs.NodeClientAllocsResponse, fetched AllocIndexes) error {
	// Through callRPC: the fetch authenticates with the node's secret.
	allocs, err := FetchAllocs(c.ctx, rpcFunc(c.callRPC), c.cfg.Region, list, fetched.Pull(list.Allocs))
	if err != nil {
		return err
	}
	if err := c.reconcileAllocs(list.Allocs, allocs); err != nil {
		return err
	}
	fetched.Took(list.Allocs, allocs)
	return nil
}

// AllocIndexes is what an allocation watch has taken in: the
// AllocModifyIndex of each listed allocation as last fetched and handled. One
// the servers list (Node.GetClientAllocs) with a higher index changed since,
// one missing here is new. Owned by the watch's goroutine; the simulated
// clients of internal/sim keep one each too.
type AllocIndexes map[string]uint64

// Pull returns, sorted, the IDs of the listed allocations that f lacks or
// holds at a lower AllocModifyIndex: the ones to fetch.
func (f AllocIndexes) Pull(listed map[string]uint64) []string {
	var pull []string
	for id, modify := range listed {
		if seen, ok := f[id]; !ok || modify > seen {
			pull = append(pull, id)
		}
	}
	slices.Sort(pull)
	return pull
}

// Took records that allocs were fetched and handled, and forgets the
// allocations no longer listed.
func (f AllocIndexes) Took(listed map[string]uint64, allocs []*structs.Allocation) {
	for _, a := range allocs {
		f[a.ID] = a.AllocModifyIndex
	}
	for id := range f {
		if _, ok := listed[id]; !ok {
			delete(f, id)
		}
	}
}

// FetchAllocs reads the allocations of ids with Alloc.GetAllocs, at most
// structs.MaxAllocsGet a call, from a state no older than list (its index
// minus one is the calls' MinQueryIndex). Allocations garbage collected
// meanwhile are missing from the result; the caller owns the rest. The
// simulated clients of internal/sim use it too.
func FetchAllocs(ctx context.Context, servers RPCer, region string, list *structs.NodeClientAllocsResponse, ids []string) ([]*structs.Allocation, error) {
	var out []*structs.Allocation
	for batch := range slices.Chunk(ids, structs.MaxAllocsGet) {
		req := &structs.AllocsGetRequest{AllocIDs: batch, QueryOptions: structs.QueryOptions{
			Region: region, MinQueryIndex: max(list.Index, 1) - 1, AllowStale: true,
		}}
		var resp structs.AllocsGetResponse
		if err := servers.RPC(ctx, "Alloc.GetAllocs", req, &resp); err != nil {
			return nil, fmt.Errorf("fetching %d allocations: %w", len(batch), err)
		}
		if err := resp.Resolve(); err != nil {
			return nil, err
		}
		out = append(out, resp.Allocs...)
	}
	return out, nil
}

// reconcileAllocs brings the runners in line with the servers' list of the
// node's allocations (listed: ID → AllocModifyIndex) and the allocations
// fetched because they are new or changed (owned by the caller; the client
// keeps copies):
//   - a new allocation the servers want running is persisted, then run;
//   - a known allocation the servers changed (AllocModifyIndex, or its desired
//     status) is handed to its runner, which stops it if told to;
//   - a known allocation the servers no longer list is stopped, its directory
//     removed, and it is forgotten.
//
// An error (persisting failed) means the list should be reconciled again.
// Called only from the watcher goroutine.
func (c *Client) reconcileAllocs(listed map[string]uint64, allocs []*structs.Allocation) error {
	c.mu.Lock()
	known := make(map[string]*runnerEntry, len(c.mu.runners))
	for id, e := range c.mu.runners {
		known[id] = e
	}
	c.mu.Unlock()

	var persistErr error
	for _, a := range allocs {
		if a == nil || a.NodeID != "" && a.NodeID != c.nodeID {
			continue
		}
		if e, ok := known[a.ID]; ok {
			if e.destroying.Load() {
				continue
			}
			cur := e.ar.Alloc()
			if a.AllocModifyIndex > cur.AllocModifyIndex || a.DesiredStatus != cur.DesiredStatus {
				c.logger.Info("allocation updated by the servers", "alloc_id", a.ID, "desired_status", a.DesiredStatus)
				e.ar.Update(a.Copy())
			}
			continue
		}
		if a.DesiredStatus != structs.AllocDesiredStatusRun || a.ClientTerminal() || c.wasCollected(a.ID) {
			continue // nothing to run; the servers will forget it in time
		}

		alloc := a.Copy()
		if err := c.db.PutAllocation(alloc); err != nil {
			persistErr = fmt.Errorf("allocation %s not started: %w", a.ID, err)
			c.logger.Error("persisting new allocation", "alloc_id", a.ID, "error", err)
			continue
		}
		ar := c.newAllocRunner(alloc)
		c.mu.Lock()
		c.mu.runners[a.ID] = &runnerEntry{ar: ar}
		c.mu.Unlock()
		c.logger.Info("starting allocation", "alloc_id", a.ID, "job_id", a.JobID, "task_group", a.TaskGroup)
		ar.Run()
	}

	for id, e := range known {
		if _, ok := listed[id]; ok || !e.destroying.CompareAndSwap(false, true) {
			continue
		}
		c.logger.Info("allocation no longer listed by the servers; removing it", "alloc_id", id)
		c.wg.Add(1)
		go c.destroyAlloc(id, e)
	}
	c.mu.Lock()
	for id := range c.mu.collected {
		if _, ok := listed[id]; !ok {
			delete(c.mu.collected, id)
		}
	}
	c.mu.Unlock()
	return persistErr
}

// wasCollected reports whether the client GC removed the allocation.
func (c *Client) wasCollected(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.collected[id]
}

// destroyAlloc stops and forgets an allocation the servers no longer list. It
// runs on its own goroutine.
func (c *Client) destroyAlloc(id string, e *runnerEntry) {
	defer c.wg.Done()
	if err := e.ar.Destroy(); err != nil {
		c.logger.Warn("removing allocation directory", "alloc_id", id, "error", err)
	}
	c.updater.drop(id)
	c.services.AllocRemoved(id)
	c.checks.AllocRemoved(id)
	if err := c.db.DeleteAllocation(id); err != nil {
		c.logger.Error("forgetting allocation", "alloc_id", id, "error", err)
	}
	deploymentID := e.ar.Alloc().DeploymentID
	c.mu.Lock()
	delete(c.mu.runners, id)
	others := make([]*allocrunner.AllocRunner, 0, len(c.mu.runners))
	for _, other := range c.mu.runners {
		others = append(others, other.ar)
	}
	c.mu.Unlock()
	if deploymentID != "" && !slices.ContainsFunc(others, func(ar *allocrunner.AllocRunner) bool {
		return ar.Alloc().DeploymentID == deploymentID
	}) {
		c.canaries.forget(deploymentID)
	}
}
