package structs

// Resource usage of an allocation's tasks, as Nomad's AllocResourceUsage
// (GET /v1/client/allocation/:id/stats; the ClientAlloc.Stats call). Field
// names are Nomad's JSON.

// AllocStatsRequest asks the client running AllocID for the usage of its
// running tasks (Task: only that one).
type AllocStatsRequest struct {
	AllocID string
	Task    string
}

func (r *AllocStatsRequest) CallAllocID() string { return r.AllocID }

// AllocResourceUsage is the usage of an allocation: the sum of its tasks'
// and each task's.
type AllocResourceUsage struct {
	ResourceUsage *ResourceUsage
	Tasks         map[string]*TaskResourceUsage
	Timestamp     int64 // unix nanoseconds
}

// TaskResourceUsage is one task's usage.
type TaskResourceUsage struct {
	ResourceUsage *ResourceUsage
	Timestamp     int64
	Pids          map[string]*ResourceUsage
}

// ResourceUsage is memory and CPU usage.
type ResourceUsage struct {
	MemoryStats *MemoryStats
	CpuStats    *CpuStats //nolint:revive // Nomad's name
	DeviceStats []any
}

// MemoryStats are bytes; Measured names the fields the driver measures.
type MemoryStats struct {
	RSS            uint64
	Cache          uint64
	Swap           uint64
	Usage          uint64
	MaxUsage       uint64
	KernelUsage    uint64
	KernelMaxUsage uint64
	Measured       []string
}

// CpuStats: Percent of one core over the sampling interval; TotalTicks the
// same in MHz (Percent/100 × the node's MHz per core).
type CpuStats struct { //nolint:revive // Nomad's name
	SystemMode       float64
	UserMode         float64
	TotalTicks       float64
	ThrottledPeriods uint64
	ThrottledTime    uint64
	Percent          float64
	Measured         []string
}

// Add adds o's memory and CPU to u.
func (u *ResourceUsage) Add(o *ResourceUsage) {
	if o == nil {
		return
	}
	if u.MemoryStats == nil {
		u.MemoryStats = &MemoryStats{}
	}
	if u.CpuStats == nil {
		u.CpuStats = &CpuStats{}
	}
	if m := o.MemoryStats; m != nil {
		u.MemoryStats.RSS += m.RSS
		u.MemoryStats.Usage += m.Usage
		u.MemoryStats.Measured = m.Measured
	}
	if c := o.CpuStats; c != nil {
		u.CpuStats.Percent += c.Percent
		u.CpuStats.TotalTicks += c.TotalTicks
		u.CpuStats.Measured = c.Measured
	}
}
