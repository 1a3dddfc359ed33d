package client

import (
	"context"
	"sync"
	"time"

	"github.com/orch-io/orch/client/allocrunner"
	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// Per-allocation resource usage (telemetry.publish_allocation_metrics), as
// Nomad's client publishes it. One loop samples the running tasks of every
// allocation every CollectionInterval through their drivers (Stats: /proc or
// a cgroup for raw_exec and exec, the daemon for docker, which may take a
// second) and keeps each task's last sample; the series are read from those
// at scrape time, so a scrape never waits on a driver, and a task that ended
// leaves the series at the next sample.

// allocUsageLabels are the labels of the per-task usage series.
var allocUsageLabels = []string{"namespace", "job", "task_group", "alloc_id", "task"}

// taskSample is one task's last usage sample.
type taskSample struct {
	labels [5]string // allocUsageLabels' values
	stats  *driver.TaskStats
}

// allocUsage holds the last samples. Its methods are safe for concurrent
// use: the sampling loop writes, scrapes read.
type allocUsage struct {
	mu struct {
		sync.Mutex
		// samples is replaced whole by each pass, never changed in place.
		samples []taskSample
	}
}

// registerAllocUsage defines the usage series of c, read from u.
func (c *Client) registerAllocUsage(u *allocUsage) {
	r := c.cfg.Metrics
	each := func(value func(*driver.TaskStats) (float64, bool)) func(emit func(float64, ...string)) {
		return func(emit func(float64, ...string)) {
			for _, s := range u.last() {
				if v, ok := value(s.stats); ok {
					emit(v, s.labels[:]...)
				}
			}
		}
	}
	r.GaugeFunc("orch_client_alloc_memory_rss_bytes",
		"Resident memory of each running task, by namespace, job, task group, allocation and task (with telemetry.publish_allocation_metrics, sampled every collection_interval).",
		allocUsageLabels, each(func(s *driver.TaskStats) (float64, bool) { return float64(s.MemoryRSSBytes), true }))
	r.GaugeFunc("orch_client_alloc_memory_usage_bytes",
		"Memory each running task is charged for by its limit (page cache included), where its driver measures it (exec's and docker's cgroup), with the labels of orch_client_alloc_memory_rss_bytes.",
		allocUsageLabels, each(func(s *driver.TaskStats) (float64, bool) { return float64(s.MemoryUsageBytes), s.MemoryUsageBytes > 0 }))
	r.CounterFunc("orch_client_alloc_cpu_seconds_total",
		"CPU time (user and system) each running task used since it started, with the labels of orch_client_alloc_memory_rss_bytes: rate() is its share of a core.",
		allocUsageLabels, each(func(s *driver.TaskStats) (float64, bool) { return s.CPUTotal.Seconds(), true }))
}

// last returns the last pass's samples; the caller must not change them.
func (u *allocUsage) last() []taskSample {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.mu.samples
}

// runAllocUsage samples every CollectionInterval until the client stops.
// Started by NewClient with publish_allocation_metrics, counted in c.wg.
func (c *Client) runAllocUsage(u *allocUsage) {
	defer c.wg.Done()
	for {
		u.sample(c.ctx, c.runners(), c.cfg.CollectionInterval)
		tick := make(chan struct{})
		t := c.cfg.Clock.AfterFunc(c.cfg.CollectionInterval, func() { close(tick) })
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
	}
}

// sample takes one pass over runners, each task's Stats bounded by timeout,
// and replaces the samples with it.
func (u *allocUsage) sample(ctx context.Context, runners []*allocrunner.AllocRunner, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out []taskSample
	for _, ar := range runners {
		a := ar.Alloc()
		if a.ClientTerminal() {
			continue
		}
		stats, err := ar.TaskStats(ctx, "")
		if err != nil {
			continue // the allocation's tasks are gone meanwhile
		}
		for task, st := range stats {
			out = append(out, taskSample{labels: [5]string{structs.NamespaceOr(a.Namespace), a.JobID, a.TaskGroup, a.ID, task}, stats: st})
		}
	}
	u.mu.Lock()
	u.mu.samples = out
	u.mu.Unlock()
}

// runners returns the client's alloc runners.
func (c *Client) runners() []*allocrunner.AllocRunner {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*allocrunner.AllocRunner, 0, len(c.mu.runners))
	for _, e := range c.mu.runners {
		out = append(out, e.ar)
	}
	return out
}
