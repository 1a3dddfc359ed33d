package scheduler

import (
	"strings"

	"github.com/orch-io/orch/structs"
)

// constraintFilter passes nodes that satisfy every constraint of the job, the
// group and the group's tasks.
type constraintFilter struct {
	constraints []*structs.Constraint
	keys        []string // constraintKey of each, computed once
}

func newConstraintFilter(job *structs.Job, tg *structs.TaskGroup) *constraintFilter {
	f := &constraintFilter{}
	add := func(cs []*structs.Constraint) {
		for _, c := range cs {
			f.constraints = append(f.constraints, c)
			f.keys = append(f.keys, constraintKey(c))
		}
	}
	add(job.Constraints)
	add(tg.Constraints)
	for _, t := range tg.Tasks {
		add(t.Constraints)
	}
	return f
}

func (f *constraintFilter) feasible(node *structs.Node) (bool, string) {
	for i, c := range f.constraints {
		if !checkConstraint(node, c) {
			return false, f.keys[i]
		}
	}
	return true, ""
}

// constraintKey is how a constraint is named in metrics and explanations:
// "${attr.kernel.name} = linux".
func constraintKey(c *structs.Constraint) string {
	return c.LTarget + " " + c.Operand + " " + c.RTarget
}

// checkConstraint reports whether node satisfies c. With "=", both sides must
// resolve and be equal; with "!=", they must differ, where a side that does not
// resolve differs from any value (as in Nomad). An unknown operand is never
// satisfied (job validation rejects it before it gets here).
func checkConstraint(node *structs.Node, c *structs.Constraint) bool {
	l, lok := resolveTarget(node, c.LTarget)
	r, rok := resolveTarget(node, c.RTarget)
	switch c.Operand {
	case structs.ConstraintEqual, "==", "is":
		return lok && rok && l == r
	case structs.ConstraintNotEqual, "not":
		return lok != rok || l != r
	}
	return false
}

// resolveTarget returns the value a constraint target names on node: a
// literal is itself; ${attr.X}, ${meta.X}, ${node.unique.id},
// ${node.unique.name}, ${node.datacenter} and ${node.class} are looked up.
// ok is false when the node has no such value.
func resolveTarget(node *structs.Node, target string) (value string, ok bool) {
	if !strings.HasPrefix(target, "${") || !strings.HasSuffix(target, "}") {
		return target, true
	}
	name := target[2 : len(target)-1]
	switch name {
	case "node.unique.id":
		return node.ID, true
	case "node.unique.name":
		return node.Name, true
	case "node.datacenter":
		return node.Datacenter, true
	case "node.class":
		return node.NodeClass, true
	}
	if key, found := strings.CutPrefix(name, "attr."); found {
		value, ok = node.Attributes[key]
		return value, ok
	}
	if key, found := strings.CutPrefix(name, "meta."); found {
		value, ok = node.Meta[key]
		return value, ok
	}
	return "", false
}
