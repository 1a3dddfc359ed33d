package drainer

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/orch-io/orch/structs"
)

// Input is what Decide looks at for one draining node. Nothing in it is
// modified.
type Input struct {
	Now  time.Time
	Node *structs.Node
	// Allocs are the node's allocations, terminal ones included.
	Allocs []*structs.Allocation
	// Jobs holds, by namespace and ID (JobKey), the jobs of Allocs (a
	// purged job is absent).
	Jobs map[structs.NamespacedID]*structs.Job
	// JobAllocs holds, by JobKey, every allocation of those jobs, on any node.
	JobAllocs map[structs.NamespacedID][]*structs.Allocation
}

// Decision is what the drain does next.
type Decision struct {
	// Migrate are the allocations to mark for migration now: the scheduler
	// places their replacements elsewhere and then stops them.
	Migrate []*structs.Allocation
	// Stop are the allocations to stop now, replacement or not: the
	// deadline has passed.
	Stop []*structs.Allocation
	// Complete: every allocation the drain must empty the node of is
	// terminal as its client reported it.
	Complete bool
	// Waiting says, for humans, what the drain waits for; sorted.
	Waiting []string
	// NextCheck, when not zero, is the earliest time at which the decision
	// may change with no change of state (a deadline, a replacement
	// becoming healthy).
	NextCheck time.Time
}

// kind sorts a node's allocations by how the drain treats them.
type kind int

const (
	kindService kind = iota // migrated, paced by migrate
	kindBatch               // left to finish until the deadline
	kindSystem              // stopped last
)

func kindOf(job *structs.Job, a *structs.Allocation) kind {
	typ := structs.JobTypeService
	switch {
	case job != nil:
		typ = job.Type
	case a.Job != nil:
		typ = a.Job.Type
	}
	switch typ {
	case structs.JobTypeBatch:
		return kindBatch
	case structs.JobTypeSystem, structs.JobTypeSysBatch:
		return kindSystem
	}
	return kindService
}

// Decide decides what the drain of in.Node does next. A node that is not
// draining gets the zero Decision.
//
// The rules: service allocations are marked for migration so that no more
// than a group's migrate.max_parallel are out of service at once — one more
// is marked only when enough of the group is healthy (a replacement counts
// once healthy); batch allocations are left to finish; system allocations
// are marked once nothing else remains on the node, unless the drain ignores
// system jobs (then they are left running and do not hold the drain up). At
// the deadline every allocation left is stopped. The drain is complete when
// every allocation it empties the node of is terminal on its client.
func Decide(in Input) Decision {
	var d Decision
	ds := in.Node.DrainStrategy
	if ds == nil {
		return d
	}
	var live []*structs.Allocation // not yet terminal on their client
	others := 0                    // live non-system allocations
	for _, a := range in.Allocs {
		if a.ClientTerminal() {
			continue
		}
		k := kindOf(in.Jobs[JobKey(a)], a)
		if k == kindSystem && ds.IgnoreSystemJobs {
			continue
		}
		if k != kindSystem {
			others++
		}
		live = append(live, a)
	}
	if len(live) == 0 {
		d.Complete = true
		return d
	}
	slices.SortFunc(live, func(x, y *structs.Allocation) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.ID, y.ID))
	})

	if has, deadline := ds.DeadlineTime(); has {
		if !in.Now.Before(deadline) {
			for _, a := range live {
				if !a.ServerTerminal() {
					d.Stop = append(d.Stop, a)
				}
			}
			d.wait("deadline reached: waiting for the client to report %d allocation(s) stopped", len(live))
			slices.Sort(d.Waiting)
			return d
		}
		d.NextCheck = deadline
	}

	groups := map[groupKey][]*structs.Allocation{}
	batch := 0
	var system []*structs.Allocation
	for _, a := range live {
		switch kindOf(in.Jobs[JobKey(a)], a) {
		case kindService:
			k := groupKey{JobKey(a), a.TaskGroup}
			groups[k] = append(groups[k], a)
		case kindBatch:
			batch++
		case kindSystem:
			system = append(system, a)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(groups), groupKey.compare) {
		d.migrateGroup(in, k, groups[k])
	}
	if batch > 0 {
		d.wait("%d batch allocation(s) left to finish%s", batch, untilDeadline(ds))
	}
	if len(system) > 0 {
		if others > 0 {
			d.wait("%d system allocation(s) to stop once the others are gone", len(system))
		} else {
			for _, a := range system {
				if !a.ServerTerminal() && !a.DesiredTransition.Migrate {
					d.Migrate = append(d.Migrate, a)
				}
			}
			d.wait("waiting for the client to report %d system allocation(s) stopped", len(system))
		}
	}
	slices.Sort(d.Waiting)
	return d
}

// groupKey names a task group of a job.
type groupKey struct {
	job   structs.NamespacedID
	group string
}

func (k groupKey) compare(o groupKey) int {
	return cmp.Or(cmp.Compare(k.job.Namespace, o.job.Namespace), cmp.Compare(k.job.ID, o.job.ID), cmp.Compare(k.group, o.group))
}

// JobKey is the key of an allocation's job in Input's maps.
func JobKey(a *structs.Allocation) structs.NamespacedID {
	return structs.NamespacedID{Namespace: structs.NamespaceOr(a.Namespace), ID: a.JobID}
}

// migrateGroup marks as many of one service group's allocations on the node
// (onNode, live, sorted) as its migrate block allows: the group keeps
// count - max_parallel healthy allocations that are not marked.
func (d *Decision) migrateGroup(in Input, k groupKey, onNode []*structs.Allocation) {
	job := in.Jobs[k.job]
	var tg *structs.TaskGroup
	if !job.Stopped() {
		tg = job.LookupTaskGroup(k.group)
	}
	if tg == nil { // stopped, purged or without the group: the scheduler stops them
		d.wait("job %q group %q: %d allocation(s) being stopped by the scheduler", k.job, k.group, len(onNode))
		return
	}
	m := tg.Migrate
	if m == nil {
		m = structs.DefaultMigrateStrategy(structs.JobTypeService)
	}
	healthy := 0
	replaced := map[string]*structs.Allocation{} // by the allocation they replace
	for _, a := range in.JobAllocs[k.job] {
		if a.TaskGroup != k.group || a.TerminalStatus() {
			continue
		}
		if a.PreviousAllocation != "" {
			replaced[a.PreviousAllocation] = a
		}
		if a.DesiredTransition.Migrate {
			continue
		}
		ok, at := allocHealthy(a, m, in.Now)
		if ok {
			healthy++
		} else if at.After(in.Now) {
			d.later(at)
		}
	}
	var candidates, marked []*structs.Allocation
	for _, a := range onNode {
		switch {
		case a.ServerTerminal():
		case a.DesiredTransition.Migrate:
			marked = append(marked, a)
		default:
			candidates = append(candidates, a)
		}
	}
	allowed := healthy - (tg.Count - m.MaxParallel)
	n := min(max(allowed, 0), len(candidates))
	d.Migrate = append(d.Migrate, candidates[:n]...)
	if waiting := len(candidates) - n; waiting > 0 {
		d.wait("job %q group %q: %d allocation(s) wait for replacements to be healthy (%d of %d healthy, migrate max_parallel = %d)",
			k.job, k.group, waiting, healthy, tg.Count, m.MaxParallel)
	}
	unplaced := 0
	for _, a := range marked {
		if replaced[a.ID] == nil {
			unplaced++
		}
	}
	if unplaced > 0 {
		d.wait("job %q group %q: %d replacement(s) not placed yet: no other node fits them (see orch job status %s); the deadline stops what is left",
			k.job, k.group, unplaced, k.job)
	}
}

// allocHealthy reports whether a counts as in service, and if not yet, when
// it will by time alone (zero when time alone will not do it). The client's
// DeploymentStatus.Healthy decides when set; otherwise the servers' stand-in
// from task states (TODO(#8): client-reported health).
func allocHealthy(a *structs.Allocation, m *structs.MigrateStrategy, now time.Time) (bool, time.Time) {
	if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
		return *a.DeploymentStatus.Healthy, time.Time{}
	}
	return a.HealthyByTaskStates(m.MinHealthyTime, now)
}

func (d *Decision) wait(format string, args ...any) {
	d.Waiting = append(d.Waiting, fmt.Sprintf(format, args...))
}

// later brings NextCheck forward to t.
func (d *Decision) later(t time.Time) {
	if d.NextCheck.IsZero() || t.Before(d.NextCheck) {
		d.NextCheck = t
	}
}

func untilDeadline(ds *structs.DrainStrategy) string {
	if has, at := ds.DeadlineTime(); has {
		return " (until the deadline, " + at.UTC().Format(time.RFC3339) + ")"
	}
	return " (no deadline)"
}
