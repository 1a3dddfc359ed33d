package scheduler

import (
	"fmt"
	"slices"

	"github.com/orch-io/orch/structs"
)

// Cores (resources { cores = N }): a task that asks for cores gets that many
// specific cores of its node, which no other allocation holds while it runs;
// they count as cpu too, N × the node's MHz per core, as in Nomad. The fit
// (binPack) checks that enough of the node's schedulable cores are free as
// the plan leaves them; assignCores picks them once a node is chosen.

// groupCores is how many cores one allocation of tg reserves.
func groupCores(tg *structs.TaskGroup) int {
	n := 0
	for _, t := range tg.Tasks {
		if t.Resources != nil {
			n += t.Resources.Cores
		}
	}
	return n
}

// addCores counts a's cores as held on nu (n = 1) or released (n = -1).
func (nu *nodeUsage) addCores(a *structs.Allocation, n int) {
	if a.AllocatedResources == nil {
		return
	}
	for _, r := range a.AllocatedResources.Tasks {
		if r == nil || len(r.ReservedCores) == 0 {
			continue
		}
		if nu.cores == nil {
			nu.cores = map[int]int{}
		}
		for _, c := range r.ReservedCores {
			nu.cores[c] += n
		}
	}
}

// freeCores returns the node's schedulable cores that no allocation holds
// once the plan is applied, lowest first.
func (nu *nodeUsage) freeCores() []int {
	return slices.DeleteFunc(nu.node.SchedulableCores(), func(c int) bool { return nu.cores[c] > 0 })
}

// coresFit reports whether want more cores are free on nu, and what they
// add to its cpu (MHz).
func coresFit(nu *nodeUsage, want int) (ok bool, mhz int) {
	per := nu.node.MHzPerCore()
	if per == 0 || len(nu.freeCores()) < want {
		return false, 0
	}
	return true, want * per
}

// assignCores gives each task of alloc that asks for cores its own free cores
// of nu, lowest IDs first, and sets its cpu to their MHz. The caller has
// checked the fit: too few free cores is a bug.
func assignCores(nu *nodeUsage, tg *structs.TaskGroup, alloc *structs.Allocation) {
	free := nu.freeCores()
	per := nu.node.MHzPerCore()
	for _, t := range tg.Tasks {
		if t.Resources == nil || t.Resources.Cores == 0 {
			continue
		}
		n := t.Resources.Cores
		if n > len(free) {
			panic(fmt.Sprintf("scheduler: node %s passed the cores fit for group %s but has %d free cores for %d", nu.id, tg.Name, len(free), n))
		}
		r := alloc.AllocatedResources.Tasks[t.Name]
		r.ReservedCores = slices.Clone(free[:n])
		r.CPU = n * per
		free = free[n:]
	}
}
