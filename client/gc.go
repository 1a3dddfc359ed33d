package client

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/orch-io/orch/structs"
)

// Garbage collection of terminal allocations on the client (Nomad's client
// GC): an allocation whose tasks have all ended keeps its directory (logs,
// files) and its record in the local state until it is collected, so that
// `alloc logs` and `alloc fs` still read it. The collector removes the
// oldest terminal allocations while the node holds more than GCMaxAllocs
// allocations, or the file system of the allocation directories is fuller
// than GCDiskUsageThreshold (blocks) or GCInodeUsageThreshold (inodes),
// percent. It never touches an allocation with a task running or one whose
// terminal status the servers have not been sent yet. It runs every
// GCInterval and on demand (PUT /v1/client/gc, /v1/client/allocation/:id/gc).
//
// Which allocation goes next is nextGC, a pure function; collect is the
// loop around it that reads the disk and destroys.

// GCPolicy are the client's collection thresholds (Nomad's names).
type GCPolicy struct {
	// Interval between periodic collections. Default 1m.
	Interval time.Duration
	// MaxAllocs is how many allocations, running or not, the node keeps
	// before collecting terminal ones. Default 50.
	MaxAllocs int
	// DiskUsageThreshold and InodeUsageThreshold are percentages of the
	// alloc directories' file system above which terminal allocations are
	// collected. Defaults 80 and 70.
	DiskUsageThreshold  float64
	InodeUsageThreshold float64
	// ParallelDestroys bounds the allocations destroyed at once. Default 2.
	ParallelDestroys int
}

// DefaultGCPolicy is Nomad's defaults.
func DefaultGCPolicy() GCPolicy {
	return GCPolicy{Interval: time.Minute, MaxAllocs: 50, DiskUsageThreshold: 80, InodeUsageThreshold: 70, ParallelDestroys: 2}
}

func (p GCPolicy) withDefaults() GCPolicy {
	d := DefaultGCPolicy()
	if p.Interval == 0 {
		p.Interval = d.Interval
	}
	if p.MaxAllocs == 0 {
		p.MaxAllocs = d.MaxAllocs
	}
	if p.DiskUsageThreshold == 0 {
		p.DiskUsageThreshold = d.DiskUsageThreshold
	}
	if p.InodeUsageThreshold == 0 {
		p.InodeUsageThreshold = d.InodeUsageThreshold
	}
	if p.ParallelDestroys == 0 {
		p.ParallelDestroys = d.ParallelDestroys
	}
	return p
}

func (p GCPolicy) validate() []error {
	var errs []error
	if p.Interval < 0 {
		errs = append(errs, fmt.Errorf("client config: gc_interval = %v: must not be negative", p.Interval))
	}
	if p.MaxAllocs < 0 {
		errs = append(errs, fmt.Errorf("client config: gc_max_allocs = %d: must be >= 0 (0: the default, 50)", p.MaxAllocs))
	}
	if p.ParallelDestroys < 0 {
		errs = append(errs, fmt.Errorf("client config: gc_parallel_destroys = %d: must be >= 0 (0: the default, 2)", p.ParallelDestroys))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"gc_disk_usage_threshold", p.DiskUsageThreshold}, {"gc_inode_usage_threshold", p.InodeUsageThreshold}} {
		if f.v < 0 || f.v > 100 {
			errs = append(errs, fmt.Errorf("client config: %s = %v: must be between 0 and 100 (percent; 0: the default)", f.name, f.v))
		}
	}
	return errs
}

// gcCandidate is a terminal allocation that may be collected.
type gcCandidate struct {
	ID string
	// Finished is when it ended (unix nanoseconds): the oldest go first.
	Finished int64
}

// diskUsage is the fullness of a file system, percent.
type diskUsage struct{ Blocks, Inodes float64 }

// nextGC returns the candidate to collect next, and why, or false when the
// node is within every threshold. total counts every allocation the node
// holds (candidates included); candidates are sorted oldest first.
func nextGC(candidates []gcCandidate, total int, usage diskUsage, p GCPolicy) (gcCandidate, string, bool) {
	if len(candidates) == 0 {
		return gcCandidate{}, "", false
	}
	var why string
	switch {
	case total > p.MaxAllocs:
		why = fmt.Sprintf("the node holds %d allocations, more than gc_max_allocs = %d", total, p.MaxAllocs)
	case usage.Blocks > p.DiskUsageThreshold:
		why = fmt.Sprintf("disk usage %.1f%% is above gc_disk_usage_threshold = %v", usage.Blocks, p.DiskUsageThreshold)
	case usage.Inodes > p.InodeUsageThreshold:
		why = fmt.Sprintf("inode usage %.1f%% is above gc_inode_usage_threshold = %v", usage.Inodes, p.InodeUsageThreshold)
	default:
		return gcCandidate{}, "", false
	}
	return candidates[0], why, true
}

// sortCandidates orders candidates oldest first (ties by ID, so the order
// is the same on every run).
func sortCandidates(c []gcCandidate) {
	slices.SortFunc(c, func(a, b gcCandidate) int {
		return cmp.Or(cmp.Compare(a.Finished, b.Finished), cmp.Compare(a.ID, b.ID))
	})
}

// statDisk reads the usage of the file system holding dir.
func statDisk(dir string) (diskUsage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return diskUsage{}, fmt.Errorf("client: statfs %s: %w", dir, err)
	}
	var u diskUsage
	if st.Blocks > 0 {
		u.Blocks = 100 * float64(st.Blocks-st.Bavail) / float64(st.Blocks)
	}
	if st.Files > 0 {
		u.Inodes = 100 * float64(st.Files-st.Ffree) / float64(st.Files)
	}
	return u, nil
}

// gcCandidates returns the allocations that may be collected, oldest first,
// and how many allocations the node holds. A candidate is terminal on this
// client (every task ended for good), has nothing left to send to the
// servers, and is not being destroyed already.
func (c *Client) gcCandidates() ([]gcCandidate, int) {
	c.mu.Lock()
	entries := make(map[string]*runnerEntry, len(c.mu.runners))
	for id, e := range c.mu.runners {
		entries[id] = e
	}
	c.mu.Unlock()
	total := 0
	var out []gcCandidate
	for id, e := range entries {
		if e.destroying.Load() {
			continue
		}
		total++
		if cand, ok := c.collectable(id, e); ok {
			out = append(out, cand)
		}
	}
	sortCandidates(out)
	return out, total
}

// collectable reports whether the allocation of e may be collected now.
func (c *Client) collectable(id string, e *runnerEntry) (gcCandidate, bool) {
	select {
	case <-e.ar.WaitCh():
	default:
		return gcCandidate{}, false // a task runs, or will
	}
	a := e.ar.Alloc()
	if !a.ClientTerminal() || c.updater.pendingFor(id) {
		return gcCandidate{}, false
	}
	finished := a.ModifyTime
	for _, ts := range a.TaskStates {
		finished = max(finished, ts.FinishedAt)
	}
	return gcCandidate{ID: id, Finished: finished}, true
}

// collect removes terminal allocations while the node is over a threshold;
// with force, every terminal allocation. It returns the IDs removed.
// Called by the GC loop and the GC endpoints, possibly concurrently: an
// allocation is destroyed once (destroying is claimed atomically).
func (c *Client) collect(force bool) []string {
	p := c.cfg.GC
	cands, total := c.gcCandidates()
	var removed []string
	sem := make(chan struct{}, p.ParallelDestroys)
	var wg sync.WaitGroup
	for len(cands) > 0 {
		next, why := cands[0], "forced"
		if !force {
			usage, err := statDisk(c.allocsDir)
			if err != nil {
				c.logger.Warn("client gc: reading disk usage", "error", err)
			}
			var ok bool
			if next, why, ok = nextGC(cands, total, usage, p); !ok {
				break
			}
		}
		cands = cands[1:]
		total--
		e := c.claimForGC(next.ID)
		if e == nil {
			continue
		}
		removed = append(removed, next.ID)
		c.logger.Info("garbage collecting allocation", "alloc_id", next.ID, "reason", why)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.destroyCollected(next.ID, e)
		}()
		if !force {
			// Disk usage is read again once this one is gone.
			wg.Wait()
		}
	}
	wg.Wait()
	return removed
}

// claimForGC marks the allocation's runner as being destroyed and
// remembers it as collected, so that the watcher never runs it again; nil
// when it is gone or already being destroyed.
func (c *Client) claimForGC(id string) *runnerEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.mu.runners[id]
	if e == nil || !e.destroying.CompareAndSwap(false, true) {
		return nil
	}
	c.mu.collected[id] = true
	return e
}

// destroyCollected removes a collected allocation's directory and local
// state; the servers keep it (until their own GC), the client forgets it.
func (c *Client) destroyCollected(id string, e *runnerEntry) {
	c.wg.Add(1)
	c.destroyAlloc(id, e)
	c.metrics.allocsCollected.Inc()
}

// GCAlloc collects one allocation now (the /v1/client/allocation/:id/gc
// endpoint): it must be terminal on this client.
func (c *Client) GCAlloc(id string) error {
	e, err := c.runner(id)
	if err != nil {
		return err
	}
	if _, ok := c.collectable(id, e); !ok {
		return structs.NewError(structs.CodeInvalid, "allocation %s is not terminal on node %s (a task runs, or its status is not sent yet): not collected", id, c.nodeID)
	}
	if e := c.claimForGC(id); e != nil {
		c.logger.Info("garbage collecting allocation", "alloc_id", id, "reason", "asked for")
		c.destroyCollected(id, e)
	}
	return nil
}

// GC collects every terminal allocation now (PUT /v1/client/gc).
func (c *Client) GC() []string { return c.collect(true) }

// runGC collects every GC interval until the client shuts down. Its own
// goroutine; timed by the client's clock.
func (c *Client) runGC() {
	defer c.wg.Done()
	for {
		tick := make(chan struct{})
		t := c.cfg.Clock.AfterFunc(c.cfg.GC.Interval, func() { close(tick) })
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
		c.collect(false)
		if h := c.cfg.gcRanForTest; h != nil {
			h()
		}
	}
}
