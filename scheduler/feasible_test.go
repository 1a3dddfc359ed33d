package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/orch-io/orch/structs"
)

// naiveFeasible is the reference the cached checks must agree with: the
// drivers and every node-level constraint, checked on the node itself.
func naiveFeasible(job *structs.Job, tg *structs.TaskGroup, node *structs.Node) bool {
	if ok, _ := newDriverFilter(tg).feasible(node); !ok {
		return false
	}
	for _, c := range groupConstraints(job, tg) {
		if !checkConstraint(node, c) {
			return false
		}
	}
	return true
}

// checkAll runs the group's feasibility stage over every candidate of s, in
// source order, and returns the names of the feasible nodes and the metric.
func checkAll(s *stack, tg *structs.TaskGroup) (map[string]bool, *structs.AllocMetric) {
	p := s.pipeline(tg)
	m := newMetric(s.source.available)
	ok := map[string]bool{}
	for _, nu := range s.source.nodes {
		if p.feas.check(nu, m) {
			ok[nu.node.Name] = true
		}
	}
	return ok, m
}

func TestFeasibilityIsCheckedOncePerComputedClass(t *testing.T) {
	job := mockJob().
		Constraint("${attr.kernel.name}", "=", "linux").
		GroupConstraint("${attr.kernel.version}", "version", ">= 5.4").
		TaskConstraint("${attr.cpu.arch}", "regexp", "^amd").
		TaskConstraint("${node.unique.name}", "!=", "n17"). // unique: checked per node
		Build()
	nodes := mockNodes(5000, "n", func(b *nodeBuilder) {
		b.Attr("kernel.version", "5.10.0").Attr("unique.hostname", b.n.Name) // unique.* is not in the class
	})
	s := stackOver(t, job, nodes, nil)
	tg := job.TaskGroups[0]
	got, m := checkAll(s, tg)
	if checks := s.groups[tg.Name].feas.classChecks; checks != 1 {
		t.Fatalf("class checks ran %d times on 5,000 identical nodes, want 1", checks)
	}
	if len(got) != 4999 || got["n17"] || m.ConstraintFiltered["${node.unique.name} != n17"] != 1 {
		t.Fatalf("%d feasible (n17: %v), metric %+v", len(got), got["n17"], m)
	}
	for _, n := range nodes {
		if want := naiveFeasible(job, tg, n); got[n.Name] != want {
			t.Fatalf("node %s: cached %v, reference %v", n.Name, got[n.Name], want)
		}
	}

	// A whole evaluation places on them with one class check too.
	s2 := stackOver(t, job, nodes, nil)
	for range 100 {
		nu, _ := s2.selectNode(tg)
		if nu == nil || nu.node.Name == "n17" {
			t.Fatalf("picked %v", nu)
		}
	}
	if checks := s2.groups[tg.Name].feas.classChecks; checks != 1 {
		t.Fatalf("class checks ran %d times over 100 placements, want 1", checks)
	}
}

func TestFeasibilityCacheRecordsClassFiltered(t *testing.T) {
	job := mockJob().Constraint("${attr.kernel.name}", "=", "linux").Build()
	var nodes []*structs.Node
	for i := range 30 {
		b := mockNode(fmt.Sprint("n", i))
		switch i % 3 {
		case 0:
			b.Class("win").Attr("kernel.name", "windows")
		case 1:
			b.Class("sick").Driver("raw_exec", false)
		case 2:
			b.Class("ok")
		}
		nodes = append(nodes, b.Build())
	}
	nodes = append(nodes, mockNode("noclass").Attr("kernel.name", "windows").Build())
	s := stackOver(t, job, nodes, nil)
	tg := job.TaskGroups[0]
	got, m := checkAll(s, tg)
	if checks := s.groups[tg.Name].feas.classChecks; checks != 4 {
		t.Errorf("class checks ran %d times for 4 classes", checks)
	}
	if len(got) != 10 {
		t.Errorf("%d feasible, want 10", len(got))
	}
	want := structs.AllocMetric{NodesFiltered: 21,
		ConstraintFiltered: map[string]int{"${attr.kernel.name} = linux": 11, filterMissingDrivers: 10},
		ClassFiltered:      map[string]int{"win": 10, "sick": 10}} // noclass has no node class
	if m.NodesFiltered != want.NodesFiltered || !equalMaps(m.ConstraintFiltered, want.ConstraintFiltered) ||
		!equalMaps(m.ClassFiltered, want.ClassFiltered) {
		t.Errorf("metric %+v", m)
	}
}

func TestNodesWithoutComputedClassAreCheckedOneByOne(t *testing.T) {
	job := mockJob().Constraint("${attr.kernel.name}", "=", "linux").Build()
	nodes := mockNodes(5, "n", nil)
	nodes[2].Attributes["kernel.name"] = "windows"
	s := stackOver(t, job, nodes, nil)
	for _, nu := range s.source.nodes {
		nu.node = nu.node.Copy()
		nu.node.ComputedClass = ""
	}
	got, _ := checkAll(s, job.TaskGroups[0])
	if checks := s.groups["web"].feas.classChecks; checks != 5 || len(got) != 4 || got["n3"] {
		t.Fatalf("checks %d, feasible %v", checks, got)
	}
}

// randomConstraint draws a constraint over the attributes randomNode sets,
// with any node-level operator, mostly with values the target may take.
func randomConstraint(r *rand.Rand) *structs.Constraint {
	targets := map[string][]string{
		"${attr.kernel.name}":     {"linux", "windows"},
		"${attr.cpu.numcores}":    {"4", "8", "16", "1.5e1"},
		"${attr.version}":         {"1.2.0", "1.10.2", "2.0.0-rc.1"},
		"${meta.rack}":            {"r1", "r2", "r3", "${meta.rack}"},
		"${meta.tags}":            {"ssd", "gpu", "nvme", "gpu,ssd", "nvme, tpu"},
		"${node.class}":           {"large", "small", ""},
		"${node.datacenter}":      {"dc1", "dc2"},
		"${node.pool}":            {"default", "gpu"},
		"${node.unique.name}":     {"n1", "n2", "n3"},
		"${attr.unique.hostname}": {"h1", "h2", "h3"},
		"${meta.missing}":         {"x", "${meta.rack}"},
	}
	names := make([]string, 0, len(targets))
	for k := range targets {
		names = append(names, k)
	}
	slices.Sort(names)
	pick := func(ss ...string) string { return ss[r.IntN(len(ss))] }
	l := pick(names...)
	c := &structs.Constraint{LTarget: l, RTarget: pick(targets[l]...)}
	// Mostly an operator that makes sense for the target, else any.
	sensible := map[string][]string{
		"${attr.kernel.name}":     {"=", "!=", "regexp", "set_contains_any", "is_set"},
		"${attr.cpu.numcores}":    {"<", "<=", ">", ">=", "=", "!="},
		"${attr.version}":         {"version", "semver", "<", ">"},
		"${meta.rack}":            {"=", "!=", "<", ">=", "regexp", "set_contains_any"},
		"${meta.tags}":            {"set_contains", "set_contains_all", "set_contains_any", "is_set", "is_not_set", "regexp"},
		"${node.class}":           {"=", "!=", "is_set", "regexp"},
		"${node.datacenter}":      {"=", "!=", "regexp"},
		"${node.pool}":            {"=", "!="},
		"${node.unique.name}":     {"=", "!=", "<", "regexp"},
		"${attr.unique.hostname}": {"!=", ">", "regexp"},
		"${meta.missing}":         {"is_not_set", "is_set", "!="},
	}
	op := pick(sensible[l]...)
	if r.IntN(4) == 0 {
		op = pick("=", "!=", "<", "<=", ">", ">=", "regexp", "version", "semver",
			"set_contains", "set_contains_all", "set_contains_any", "is_set", "is_not_set")
	}
	switch op {
	case "regexp":
		c.Operand, c.RTarget = op, pick("^lin", "dows$", "r[12]", "^[0-9]+$", "ssd", "(", "n[13]|h2", "^1\\.")
	case "version", "semver":
		c.Operand, c.RTarget = op, pick(">= 1.2.0", "< 2.0.0, > 1.0.0", "~> 1.4", "= 1.10.2", ">= 1.5.0-beta.1", "bogus")
	case "is_set", "is_not_set":
		c.Operand, c.RTarget = op, ""
	default:
		c.Operand = op
	}
	return c
}

// randomNode draws a node from small pools of values. Each field comes from
// one of four templates (seeded by the scenario) or, one time in six, is
// drawn for the node alone: computed classes repeat, and nodes often differ
// from their template in one field only. Unique values (name,
// unique.hostname) differ on every node.
func randomNode(r *rand.Rand, i int, templates uint64) *structs.Node {
	tr := rand.New(rand.NewPCG(templates, uint64(r.IntN(4))))
	pick := func(ss ...string) string {
		t, own := ss[tr.IntN(len(ss))], ss[r.IntN(len(ss))]
		if r.IntN(6) == 0 {
			return own
		}
		return t
	}
	b := mockNode(fmt.Sprint("n", i)).DC(pick("dc1", "dc2")).Class(pick("", "large", "small")).
		Attr("kernel.name", pick("linux", "linux", "windows")).Attr("cpu.numcores", pick("4", "8", "16")).
		Attr("version", pick("1.2.0", "1.4.7", "1.10.2", "2.0.0-rc.1", "1.5.0-beta.2")).
		Attr("unique.hostname", fmt.Sprint("h", i)).Meta("rack", pick("r1", "r2", "r3"))
	if tags := pick("ssd", "gpu,ssd", "ssd, nvme", "", "-"); tags != "-" {
		b.Meta("tags", tags)
	}
	if pick("healthy", "healthy", "healthy", "sick") == "sick" {
		b.Driver("raw_exec", false)
	}
	n := b.Build()
	n.NodePool = pick("", "default", "default", "gpu")
	return n
}

// TestPropertyCachedFeasibilityEqualsNaiveScan: on small random clusters
// with random constraints at every level, the feasibility stage (verdicts
// cached per computed class, unique targets per node) passes exactly the
// nodes a naive scan passes, and a whole evaluation places only on those,
// failing only when none has room.
func TestPropertyCachedFeasibilityEqualsNaiveScan(t *testing.T) {
	partial := 0 // scenarios where the constraints keep some candidates but not all
	defer func() {
		if partial < 50 {
			t.Errorf("only %d of 200 scenarios filter some nodes but not all: the generator is too weak", partial)
		}
	}()
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		var nodes []*structs.Node
		for i := range 1 + r.IntN(40) {
			nodes = append(nodes, randomNode(r, i, seed))
		}
		jb := mockJob().DCs("*").Count(1 + r.IntN(10)).CPU(100).Mem(100)
		for range 1 + r.IntN(3) {
			c := randomConstraint(r)
			switch r.IntN(3) { // job, group or task level
			case 0:
				jb.Constraint(c.LTarget, c.Operand, c.RTarget)
			case 1:
				jb.GroupConstraint(c.LTarget, c.Operand, c.RTarget)
			case 2:
				jb.TaskConstraint(c.LTarget, c.Operand, c.RTarget)
			}
		}
		job := jb.Build()
		job.NodePool = []string{"default", "all", "all"}[r.IntN(3)]
		tg := job.TaskGroups[0]

		s := stackOver(t, job, nodes, nil)
		got, _ := checkAll(s, tg)
		want := map[string]bool{}
		for _, n := range nodes {
			if n.Ready() && inPool(job.NodePool, n) && naiveFeasible(job, tg, n) {
				want[n.Name] = true
			}
		}
		ready := 0
		for _, n := range nodes {
			if n.Ready() && inPool(job.NodePool, n) {
				ready++
			}
		}
		if len(want) > 0 && len(want) < ready {
			partial++
		}

		if !equalMaps(got, want) {
			t.Fatalf("seed %d: cached feasible %v\nnaive %v\nconstraints %s", seed, got, want, describeConstraints(job))
		}

		h := newHarness(t)
		h.seed = seed
		h.upsertNodes(nodes...)
		h.run(job)
		placed := h.running(job.ID)
		for _, a := range placed {
			if !want[a.NodeName] {
				t.Fatalf("seed %d: placed on %s, which the naive scan rejects", seed, a.NodeName)
			}
		}
		// Each node has room for 40 such allocations, so a shortfall means no
		// feasible node at all.
		if fm := h.lastEval().FailedTGAllocs["web"]; fm != nil && len(want) > 0 {
			t.Fatalf("seed %d: %d placed, failure %+v, but %d nodes are feasible", seed, len(placed), fm, len(want))
		}
		if len(placed) != tg.Count && len(want) > 0 {
			t.Fatalf("seed %d: %d of %d placed", seed, len(placed), tg.Count)
		}
	}
}

func describeConstraints(job *structs.Job) string {
	var out []string
	for _, c := range groupConstraints(job, job.TaskGroups[0]) {
		out = append(out, constraintKey(c))
	}
	return fmt.Sprint(out)
}
