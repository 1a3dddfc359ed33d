package scheduler

import "github.com/orch-io/orch/structs"

// annotate counts, per group, the reconciler's decisions, for `job plan`
// (evaluations with AnnotatePlan). A placement that replaces an allocation
// being updated is one destructive update, not a place and a stop; a lost
// allocation is a stop and its replacement a place. Terminal allocations left
// alone are not counted.
func annotate(rec *reconcileResult) *structs.PlanAnnotations {
	updates := map[string]*structs.DesiredUpdates{}
	of := func(group string) *structs.DesiredUpdates {
		u := updates[group]
		if u == nil {
			u = &structs.DesiredUpdates{}
			updates[group] = u
		}
		return u
	}
	for _, a := range rec.Ignore {
		if !a.TerminalStatus() {
			of(a.TaskGroup).Ignore++
		}
	}
	for _, st := range rec.Stop {
		of(st.Alloc.TaskGroup).Stop++
	}
	for _, a := range rec.InPlace {
		of(a.TaskGroup).InPlaceUpdate++
	}
	for _, p := range rec.Place {
		if p.Canary {
			of(p.TaskGroup.Name).Canary++
			continue
		}
		if p.StopPrevious != "" {
			of(p.TaskGroup.Name).DestructiveUpdate++
		} else {
			of(p.TaskGroup.Name).Place++
		}
	}
	return &structs.PlanAnnotations{DesiredTGUpdates: updates}
}
