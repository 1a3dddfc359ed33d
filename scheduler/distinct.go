package scheduler

import "github.com/orch-io/orch/structs"

// distinctHosts rejects a node that already runs an allocation of the group
// (group or task level distinct_hosts) or of the job (job level), counting
// the plan's placements and stops.
type distinctHosts struct {
	group    string
	jobLevel bool
}

// reasonDistinctHosts is the reason recorded when distinct_hosts rejects a node.
const reasonDistinctHosts = structs.ConstraintDistinctHosts

// newDistinctHosts returns nil when no enabled distinct_hosts constraint
// applies to tg.
func newDistinctHosts(job *structs.Job, tg *structs.TaskGroup) *distinctHosts {
	for _, c := range job.Constraints {
		if c.DistinctHostsEnabled() {
			return &distinctHosts{group: tg.Name, jobLevel: true}
		}
	}
	for _, c := range ownConstraints(tg) {
		if c.DistinctHostsEnabled() {
			return &distinctHosts{group: tg.Name}
		}
	}
	return nil
}

func (d *distinctHosts) feasible(nu *nodeUsage) (bool, string) {
	if d.jobLevel {
		for _, n := range nu.jobAllocs {
			if n > 0 {
				return false, reasonDistinctHosts
			}
		}
		return true, ""
	}
	if nu.collisions(d.group) > 0 {
		return false, reasonDistinctHosts
	}
	return true, ""
}

// distinctProperty lets at most limit allocations of the group (group or
// task level constraint) or of the job (job level) run on nodes with the same
// value of a property (its LTarget, "${meta.rack}"), counting the plan's
// placements and stops. A node without the property is rejected; allocations
// on such nodes count for no value.
//
// It keeps the count per value up to date by replaying the plan usage's log
// of job allocation changes since it last looked: O(1) per change.
type distinctProperty struct {
	c      *structs.Constraint
	key    string
	group  string // "" for a job-level constraint: every group counts
	limit  int
	usage  *planUsage
	cursor int                      // next entry of usage.log to apply
	counts map[string]int           // allocations per property value
	values map[*nodeUsage]nodeValue // property of nodes seen in the log
}

type nodeValue struct {
	value string
	ok    bool
}

func newDistinctProperties(job *structs.Job, tg *structs.TaskGroup, usage *planUsage) []*distinctProperty {
	var out []*distinctProperty
	add := func(c *structs.Constraint, group string) {
		if c.Operand != structs.ConstraintDistinctProperty {
			return
		}
		limit, ok := c.DistinctPropertyLimit()
		if !ok { // validation rejects it; be safe
			limit = 1
		}
		out = append(out, &distinctProperty{
			c: c, key: constraintKey(c), group: group, limit: limit, usage: usage,
			counts: map[string]int{}, values: map[*nodeUsage]nodeValue{},
		})
	}
	for _, c := range job.Constraints {
		add(c, "")
	}
	for _, c := range ownConstraints(tg) {
		add(c, tg.Name)
	}
	return out
}

func (d *distinctProperty) feasible(nu *nodeUsage) (bool, string) {
	d.sync()
	v, ok := resolveTarget(nu.node, d.c.LTarget)
	if !ok || d.counts[v] >= d.limit {
		return false, d.key
	}
	return true, ""
}

// sync applies the changes logged since the last call.
func (d *distinctProperty) sync() {
	log := d.usage.log
	for ; d.cursor < len(log); d.cursor++ {
		ch := log[d.cursor]
		if d.group != "" && ch.group != d.group {
			continue
		}
		if nv := d.value(ch.nu); nv.ok {
			d.counts[nv.value] += ch.delta
		}
	}
}

// value returns the property on a node that runs (or ran) allocations of the
// job: from the candidate's node, or looked up in the state for nodes that
// are not candidates.
func (d *distinctProperty) value(nu *nodeUsage) nodeValue {
	if nv, seen := d.values[nu]; seen {
		return nv
	}
	node := nu.node
	if node == nil {
		node = d.usage.state.NodeByID(nu.id)
	}
	var nv nodeValue
	if node != nil {
		nv.value, nv.ok = resolveTarget(node, d.c.LTarget)
	}
	d.values[nu] = nv
	return nv
}
