package client

import (
	"fmt"
	"time"

	"github.com/orch-io/orch/structs"
)

// watchAllocs is the alloc watcher: a blocking query on the node's allocations
// (Node.GetClientAllocs), and on every answer with a new index, reconcile. It
// starts once the node is registered and runs on its own goroutine until
// Shutdown.
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
	for {
		var resp structs.NodeClientAllocsResponse
		req := &structs.NodeSpecificRequest{
			NodeID: c.nodeID, SecretID: c.secretID,
			QueryOptions: structs.QueryOptions{Region: c.cfg.Region, MinQueryIndex: index, MaxQueryTime: c.cfg.AllocQueryWait},
		}
		err := c.callRPC(c.ctx, "Node.GetClientAllocs", req, &resp)
		if c.ctx.Err() != nil {
			return
		}
		if err == nil && (first || resp.Index != index) {
			// An index lower than ours means the servers' state was rebuilt:
			// take theirs and reconcile with what they say now.
			err = c.reconcileAllocs(resp.Allocs)
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

// reconcileAllocs brings the runners in line with the servers' list of the
// node's allocations (shared with the servers: only copies are kept):
//   - a new allocation the servers want running is persisted, then run;
//   - a known allocation the servers changed (AllocModifyIndex, or its desired
//     status) is handed to its runner, which stops it if told to;
//   - a known allocation the servers no longer list is stopped, its directory
//     removed, and it is forgotten.
//
// An error (persisting failed) means the list should be reconciled again.
// Called only from the watcher goroutine.
func (c *Client) reconcileAllocs(allocs []*structs.Allocation) error {
	c.mu.Lock()
	known := make(map[string]*runnerEntry, len(c.mu.runners))
	for id, e := range c.mu.runners {
		known[id] = e
	}
	c.mu.Unlock()

	listed := make(map[string]bool, len(allocs))
	var persistErr error
	for _, a := range allocs {
		if a == nil || a.NodeID != "" && a.NodeID != c.nodeID {
			continue
		}
		listed[a.ID] = true
		if e, ok := known[a.ID]; ok {
			if e.destroying {
				continue
			}
			cur := e.ar.Alloc()
			if a.AllocModifyIndex > cur.AllocModifyIndex || a.DesiredStatus != cur.DesiredStatus {
				c.logger.Info("allocation updated by the servers", "alloc_id", a.ID, "desired_status", a.DesiredStatus)
				e.ar.Update(a.Copy())
			}
			continue
		}
		if a.DesiredStatus != structs.AllocDesiredStatusRun || a.ClientTerminal() {
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
		if listed[id] || e.destroying {
			continue
		}
		e.destroying = true
		c.logger.Info("allocation no longer listed by the servers; removing it", "alloc_id", id)
		c.wg.Add(1)
		go c.destroyAlloc(id, e)
	}
	return persistErr
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
	c.mu.Lock()
	delete(c.mu.runners, id)
	c.mu.Unlock()
}
