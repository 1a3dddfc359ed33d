package scheduler

import "github.com/orch-io/orch/structs"

// filterMissingDrivers is the reason recorded when a node lacks a driver.
const filterMissingDrivers = "missing drivers"

// driverFilter passes nodes on which every driver the group's tasks use is
// detected and healthy.
type driverFilter struct {
	drivers []string // distinct, in task order
}

func newDriverFilter(tg *structs.TaskGroup) *driverFilter {
	f := &driverFilter{}
	seen := map[string]bool{}
	for _, t := range tg.Tasks {
		if !seen[t.Driver] {
			seen[t.Driver] = true
			f.drivers = append(f.drivers, t.Driver)
		}
	}
	return f
}

func (f *driverFilter) feasible(node *structs.Node) (bool, string) {
	for _, d := range f.drivers {
		info := node.Drivers[d]
		if info == nil || !info.Detected || !info.Healthy {
			return false, filterMissingDrivers
		}
	}
	return true, ""
}
