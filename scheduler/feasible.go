package scheduler

import "github.com/orch-io/orch/structs"

// feasibility decides whether a candidate node can run one group, as the
// first stage after the node source. Its checks come in three kinds:
//
//   - class checks (the drivers, and the constraints whose targets do not
//     name anything unique to a node) read only what the node's computed
//     class hashes (structs.Node.ComputeClass): they run once per computed
//     class and group in an evaluation, and their verdict is cached, so 5,000
//     identical nodes cost one check. A node without a computed class is
//     checked on its own.
//   - node checks: constraints on ${node.unique.*}, ${attr.unique.*} or
//     ${meta.unique.*}, run for every node.
//   - plan checks: distinct_hosts and distinct_property, which depend on what
//     the plan placed so far (distinct.go), run for every node and placement.
//
// A node the class checks reject counts in AllocMetric.ClassFiltered under
// its node class (when it has one, as in Nomad) and, like every rejection, in
// ConstraintFiltered under the reason.
type feasibility struct {
	classFilters []filter
	nodeFilters  []filter
	planFilters  []planFilter
	classCache   map[string]classVerdict // by computed class
	// last is the class and verdict of the previous lookup: on a cluster of
	// few classes most lookups hit it, at the cost of a string comparison.
	lastClass   string
	lastVerdict classVerdict
	// classChecks counts how many times the class checks ran (a test hook:
	// once per computed class and group).
	classChecks int
}

// planFilter is a feasibility check that depends on the plan in progress.
type planFilter interface {
	feasible(nu *nodeUsage) (ok bool, reason string)
}

type classVerdict struct {
	ok     bool
	reason string
}

// newFeasibility builds the checks of tg of job for one evaluation. usage is
// the plan's; operands caches compiled regexps and versions across groups.
func newFeasibility(job *structs.Job, tg *structs.TaskGroup, usage *planUsage, operands *operandCache) *feasibility {
	unique := func(c *structs.Constraint) bool { return isUniqueTarget(c.LTarget) || isUniqueTarget(c.RTarget) }
	f := &feasibility{
		classFilters: []filter{
			newDriverFilter(tg),
			newConstraintFilter(job, tg, operands, func(c *structs.Constraint) bool { return !unique(c) }),
		},
		classCache: map[string]classVerdict{},
	}
	if nf := newConstraintFilter(job, tg, operands, unique); len(nf.constraints) > 0 {
		f.nodeFilters = append(f.nodeFilters, nf)
	}
	if dh := newDistinctHosts(job, tg); dh != nil {
		f.planFilters = append(f.planFilters, dh)
	}
	for _, dp := range newDistinctProperties(job, tg, usage) {
		f.planFilters = append(f.planFilters, dp)
	}
	return f
}

// check reports whether the candidate nu can run the group, recording in m
// why not.
func (f *feasibility) check(nu *nodeUsage, m *structs.AllocMetric) bool {
	if ok, _ := f.checkNode(nu.node, m); !ok {
		return false
	}
	return f.checkPlan(nu, m)
}

// checkNode runs the class checks (cached per computed class) and the node
// checks: what the node itself decides, whatever the plan does. When the node
// is rejected it records why in m and returns the reason.
func (f *feasibility) checkNode(node *structs.Node, m *structs.AllocMetric) (bool, string) {
	var v classVerdict
	if class := node.ComputedClass; class != "" {
		if class == f.lastClass {
			v = f.lastVerdict
		} else {
			var seen bool
			if v, seen = f.classCache[class]; !seen {
				v = f.classCheck(node)
				f.classCache[class] = v
			}
			f.lastClass, f.lastVerdict = class, v
		}
	} else {
		v = f.classCheck(node)
	}
	if !v.ok {
		recordFiltered(m, v.reason)
		if node.NodeClass != "" {
			if m.ClassFiltered == nil {
				m.ClassFiltered = map[string]int{}
			}
			m.ClassFiltered[node.NodeClass]++
		}
		return false, v.reason
	}
	for _, nf := range f.nodeFilters {
		if ok, reason := nf.feasible(node); !ok {
			recordFiltered(m, reason)
			return false, reason
		}
	}
	return true, ""
}

// checkPlan runs the plan checks (distinct_hosts, distinct_property): their
// verdict on a node changes as the plan places allocations, so they run for
// every node and placement, never cached.
func (f *feasibility) checkPlan(nu *nodeUsage, m *structs.AllocMetric) bool {
	for _, pf := range f.planFilters {
		if ok, reason := pf.feasible(nu); !ok {
			recordFiltered(m, reason)
			return false
		}
	}
	return true
}

// nodeFeasible reports whether the node itself can run the group: checkNode
// without a metric. The system scheduler asks it of nodes that may already
// run the group, where the plan checks would count the node's own allocation
// against it.
func (f *feasibility) nodeFeasible(node *structs.Node) bool {
	ok, _ := f.checkNode(node, &structs.AllocMetric{})
	return ok
}

// classEligibility returns the cached class verdicts, by computed class (see
// structs.AllocMetric.ClassEligibility). Nil when none is cached.
func (f *feasibility) classEligibility() map[string]bool {
	if len(f.classCache) == 0 {
		return nil
	}
	out := make(map[string]bool, len(f.classCache))
	for class, v := range f.classCache {
		out[class] = v.ok
	}
	return out
}

func (f *feasibility) classCheck(node *structs.Node) classVerdict {
	f.classChecks++
	for _, cf := range f.classFilters {
		if ok, reason := cf.feasible(node); !ok {
			return classVerdict{false, reason}
		}
	}
	return classVerdict{ok: true}
}
