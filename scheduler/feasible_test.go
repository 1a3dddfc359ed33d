package scheduler

import (
	"fmt"
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
