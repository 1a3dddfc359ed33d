package client

import (
	"context"
	"strconv"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// statsInterval is how far apart the two samples of a stats request are:
// CPU use is the difference over it.
const statsInterval = 100 * time.Millisecond

// allocStats answers ClientAlloc.Stats: the usage of the allocation's
// running tasks in Nomad's AllocResourceUsage shape.
func (c *Client) allocStats(ctx context.Context, args *structs.AllocStatsRequest) (*structs.AllocResourceUsage, error) {
	e, err := c.runner(args.AllocID)
	if err != nil {
		return nil, err
	}
	first, err := e.ar.TaskStats(ctx, args.Task)
	if err != nil {
		return nil, err
	}
	select {
	case <-time.After(statsInterval):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	second, err := e.ar.TaskStats(ctx, args.Task)
	if err != nil {
		return nil, err
	}
	mhz, _ := strconv.ParseFloat(c.Node().Attributes["cpu.frequency"], 64)
	now := time.Now().UnixNano()
	out := &structs.AllocResourceUsage{ResourceUsage: &structs.ResourceUsage{}, Tasks: map[string]*structs.TaskResourceUsage{}, Timestamp: now}
	for name, s2 := range second {
		ru := taskUsage(first[name], s2, mhz)
		out.Tasks[name] = &structs.TaskResourceUsage{ResourceUsage: ru, Timestamp: s2.Time.UnixNano()}
		out.ResourceUsage.Add(ru)
	}
	if out.ResourceUsage.MemoryStats == nil {
		out.ResourceUsage.MemoryStats, out.ResourceUsage.CpuStats = &structs.MemoryStats{}, &structs.CpuStats{}
	}
	return out, nil
}

// taskUsage is a task's usage at s2, its CPU share measured since s1 (nil:
// no CPU figure).
func taskUsage(s1, s2 *driver.TaskStats, mhzPerCore float64) *structs.ResourceUsage {
	mem := &structs.MemoryStats{RSS: s2.MemoryRSSBytes, Usage: s2.MemoryUsageBytes, Measured: []string{"RSS"}}
	if s2.MemoryUsageBytes != 0 {
		mem.Measured = append(mem.Measured, "Usage")
	}
	cpu := &structs.CpuStats{Measured: []string{"Percent", "Total Ticks"}}
	if s1 != nil {
		if dt := s2.Time.Sub(s1.Time); dt > 0 && s2.CPUTotal >= s1.CPUTotal {
			cpu.Percent = 100 * float64(s2.CPUTotal-s1.CPUTotal) / float64(dt)
			cpu.TotalTicks = cpu.Percent / 100 * mhzPerCore
		}
	}
	return &structs.ResourceUsage{MemoryStats: mem, CpuStats: cpu}
}
