package client

import (
	"time"

	"github.com/orch-io/orch/client/driver"
)

// startReconcilers starts, for every driver whose tasks can outlive their
// allocation's record (docker containers), a loop that has it remove the
// tasks of allocations this client does not know. Called once, after the
// allocations in the local state were restored, so that theirs are owned.
func (c *Client) startReconcilers() {
	for _, d := range c.drivers {
		r, ok := d.(driver.Reconciler)
		if !ok || r.DanglingPeriod() <= 0 {
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.reconcileLoop(d.Name(), r)
		}()
	}
}

func (c *Client) reconcileLoop(name string, r driver.Reconciler) {
	t := time.NewTicker(r.DanglingPeriod())
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		n, err := r.ReconcileDangling(c.ctx, c.ownsAlloc)
		if err != nil {
			c.logger.Warn("removing dangling tasks", "driver", name, "error", err)
		}
		if n > 0 {
			c.logger.Info("removed dangling tasks", "driver", name, "count", n)
		}
	}
}

// ownsAlloc reports whether the client runs (or still lists) allocation id.
func (c *Client) ownsAlloc(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.mu.runners[id]
	return ok
}
