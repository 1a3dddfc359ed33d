package scheduler

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/orch-io/orch/structs"
)

// constraintFilter passes nodes that satisfy every node-level constraint of
// the job, the group and the group's tasks (distinct_hosts and
// distinct_property depend on the plan, not the node: see distinct.go).
type constraintFilter struct {
	constraints []*structs.Constraint
	keys        []string // constraintKey of each, computed once
	cache       *operandCache
}

// newConstraintFilter collects the node-level constraints of job and tg for
// which keep returns true (nil keeps all). cache is shared by the filters of
// one evaluation; nil gets a fresh one.
func newConstraintFilter(job *structs.Job, tg *structs.TaskGroup, cache *operandCache, keep func(*structs.Constraint) bool) *constraintFilter {
	if cache == nil {
		cache = newOperandCache()
	}
	f := &constraintFilter{cache: cache}
	for _, c := range groupConstraints(job, tg) {
		if isPlanConstraint(c) || (keep != nil && !keep(c)) {
			continue
		}
		f.constraints = append(f.constraints, c)
		f.keys = append(f.keys, constraintKey(c))
	}
	return f
}

// groupConstraints are the constraints that apply to tg: the job's, then
// ownConstraints(tg).
func groupConstraints(job *structs.Job, tg *structs.TaskGroup) []*structs.Constraint {
	return append(append([]*structs.Constraint(nil), job.Constraints...), ownConstraints(tg)...)
}

// ownConstraints are the constraints of tg and of its tasks, in that order.
func ownConstraints(tg *structs.TaskGroup) []*structs.Constraint {
	out := append([]*structs.Constraint(nil), tg.Constraints...)
	for _, t := range tg.Tasks {
		out = append(out, t.Constraints...)
	}
	return out
}

// isPlanConstraint reports whether c depends on the plan rather than on the
// node alone.
func isPlanConstraint(c *structs.Constraint) bool {
	return c.Operand == structs.ConstraintDistinctHosts || c.Operand == structs.ConstraintDistinctProperty
}

func (f *constraintFilter) feasible(node *structs.Node) (bool, string) {
	for i, c := range f.constraints {
		if !f.cache.check(node, c) {
			return false, f.keys[i]
		}
	}
	return true, ""
}

// constraintKey is how a constraint is named in metrics and explanations:
// "${attr.kernel.name} = linux".
func constraintKey(c *structs.Constraint) string {
	switch {
	case c.RTarget == "":
		return c.LTarget + " " + c.Operand
	case c.LTarget == "":
		return c.Operand + " " + c.RTarget
	}
	return c.LTarget + " " + c.Operand + " " + c.RTarget
}

// checkConstraint reports whether node satisfies c, with a fresh cache (for
// tests and one-off checks).
func checkConstraint(node *structs.Node, c *structs.Constraint) bool {
	return newOperandCache().check(node, c)
}

// operandCache holds what one evaluation compiled or parsed from constraint
// values: regular expressions, version and semver constraints, keyed by the
// value's text. A value that does not compile is cached as nil (it never
// matches). Used by one goroutine.
type operandCache struct {
	regexps  map[string]*regexp.Regexp
	versions map[string]*structs.VersionConstraint
	semvers  map[string]*structs.VersionConstraint
}

func newOperandCache() *operandCache {
	return &operandCache{
		regexps:  map[string]*regexp.Regexp{},
		versions: map[string]*structs.VersionConstraint{},
		semvers:  map[string]*structs.VersionConstraint{},
	}
}

// check reports whether node satisfies c; plan-dependent operands
// (distinct_hosts, distinct_property) are satisfied here.
func (oc *operandCache) check(node *structs.Node, c *structs.Constraint) bool {
	l, lok := resolveTarget(node, c.LTarget)
	r, rok := resolveTarget(node, c.RTarget)
	return oc.checkOperand(c.Operand, l, lok, r, rok)
}

// checkOperand applies op to resolved values; lok and rok say whether each
// side resolved. As in Nomad:
//
//   - "=" holds when both sides resolve and are equal; "!=" when they differ,
//     a side that does not resolve differing from any value;
//   - "<", "<=", ">", ">=" need both sides, and compare as integers when both
//     parse as integers, as floats when both parse as numbers, else as strings;
//   - "regexp" matches the left side against the right (unanchored);
//   - "version" and "semver" check the left side, a version, against the
//     right, a list of conditions (structs.ParseVersionConstraint and
//     ParseSemverConstraint);
//   - "set_contains" and "set_contains_all" hold when every comma-separated
//     item of the right side is an item of the left side; "set_contains_any"
//     when one is (items are trimmed of spaces);
//   - "is_set" holds when the left side resolves, "is_not_set" when it does
//     not;
//   - distinct_hosts and distinct_property hold (the plan decides them);
//   - any other operand never holds (validation rejects it earlier).
func (oc *operandCache) checkOperand(op, l string, lok bool, r string, rok bool) bool {
	switch op {
	case structs.ConstraintEqual, "==", "is":
		return lok && rok && l == r
	case structs.ConstraintNotEqual, "not":
		return lok != rok || l != r
	case structs.ConstraintLess, structs.ConstraintLessEqual, structs.ConstraintGreater, structs.ConstraintGreaterEqual:
		return lok && rok && checkOrder(op, l, r)
	case structs.ConstraintRegex:
		return lok && rok && oc.regexp(r) != nil && oc.regexp(r).MatchString(l)
	case structs.ConstraintVersion:
		cs := oc.version(r)
		return lok && rok && cs != nil && cs.Match(l)
	case structs.ConstraintSemver:
		cs := oc.semver(r)
		return lok && rok && cs != nil && cs.Match(l)
	case structs.ConstraintSetContains, structs.ConstraintSetContainsAll:
		return lok && rok && setContains(l, r, true)
	case structs.ConstraintSetContainsAny:
		return lok && rok && setContains(l, r, false)
	case structs.ConstraintAttributeIsSet:
		return lok
	case structs.ConstraintAttributeIsNot:
		return !lok
	case structs.ConstraintDistinctHosts, structs.ConstraintDistinctProperty:
		return true
	}
	return false
}

func (oc *operandCache) regexp(s string) *regexp.Regexp {
	re, ok := oc.regexps[s]
	if !ok {
		re, _ = regexp.Compile(s) // nil on error: never matches
		oc.regexps[s] = re
	}
	return re
}

func (oc *operandCache) version(s string) *structs.VersionConstraint {
	cs, ok := oc.versions[s]
	if !ok {
		cs, _ = structs.ParseVersionConstraint(s) // nil on error: never matches
		oc.versions[s] = cs
	}
	return cs
}

func (oc *operandCache) semver(s string) *structs.VersionConstraint {
	cs, ok := oc.semvers[s]
	if !ok {
		cs, _ = structs.ParseSemverConstraint(s)
		oc.semvers[s] = cs
	}
	return cs
}

// checkOrder compares l and r with op: as integers if both parse as
// integers, else as floats if both parse as numbers, else as strings.
func checkOrder(op, l, r string) bool {
	var c int
	li, lerr := strconv.ParseInt(l, 10, 64)
	ri, rerr := strconv.ParseInt(r, 10, 64)
	if lerr == nil && rerr == nil {
		c = cmpOrdered(li, ri)
	} else {
		lf, lerr := strconv.ParseFloat(l, 64)
		rf, rerr := strconv.ParseFloat(r, 64)
		if lerr == nil && rerr == nil && !math.IsNaN(lf) && !math.IsNaN(rf) {
			c = cmpOrdered(lf, rf)
		} else {
			c = strings.Compare(l, r)
		}
	}
	switch op {
	case structs.ConstraintLess:
		return c < 0
	case structs.ConstraintLessEqual:
		return c <= 0
	case structs.ConstraintGreater:
		return c > 0
	case structs.ConstraintGreaterEqual:
		return c >= 0
	}
	return false
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// setContains reports whether the comma-separated set have holds all (or,
// with all false, any) of the comma-separated items of want.
func setContains(have, want string, all bool) bool {
	set := map[string]struct{}{}
	for item := range strings.SplitSeq(have, ",") {
		set[strings.TrimSpace(item)] = struct{}{}
	}
	for item := range strings.SplitSeq(want, ",") {
		_, ok := set[strings.TrimSpace(item)]
		if ok && !all {
			return true
		}
		if !ok && all {
			return false
		}
	}
	return all
}

// resolveTarget returns the value a constraint target names on node: a
// literal is itself; ${attr.X}, ${meta.X}, ${node.unique.id},
// ${node.unique.name}, ${node.datacenter}, ${node.class} and ${node.pool} are
// looked up. ok is false when the node has no such value.
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
	case "node.pool":
		return node.Pool(), true
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

// isUniqueTarget reports whether a constraint target names something unique
// to a node (${node.unique.*}, ${attr.unique.*}, ${meta.unique.*}), which the
// node's computed class does not capture.
func isUniqueTarget(target string) bool {
	return strings.HasPrefix(target, "${node.unique.") ||
		strings.HasPrefix(target, "${attr.unique.") ||
		strings.HasPrefix(target, "${meta.unique.")
}
