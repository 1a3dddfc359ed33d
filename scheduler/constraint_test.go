package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestCheckConstraint(t *testing.T) {
	node := mockNode("n1").DC("eu-1").Class("large").Attr("kernel.name", "linux").Meta("rack", "r1").
		Attr("cpu.numcores", "8").Attr("ratio", "1.5").Attr("kernel.version", "5.10.1").
		Attr("app.version", "1.2.0-beta.2").Attr("short.version", "1.2").
		Meta("tags", "ssd, gpu,net").Meta("empty", "").Build()
	for _, tc := range []struct {
		l, op, r string
		want     bool
	}{
		{"${attr.kernel.name}", "=", "linux", true},
		{"${attr.kernel.name}", "=", "windows", false},
		{"${attr.kernel.name}", "!=", "windows", true},
		{"${attr.kernel.name}", "!=", "linux", false},
		{"${meta.rack}", "=", "r1", true},
		{"${meta.rack}", "==", "r1", true},
		{"${meta.rack}", "is", "r2", false},
		{"${meta.missing}", "=", "r1", false},
		{"${meta.missing}", "!=", "r1", true}, // missing differs from any value, as in Nomad
		{"${meta.missing}", "!=", "${attr.missing}", false},
		{"${node.unique.id}", "=", "node-n1", true},
		{"${node.unique.name}", "=", "n1", true},
		{"${node.datacenter}", "=", "eu-1", true},
		{"${node.class}", "=", "large", true},
		{"${node.class}", "not", "small", true},
		{"${unknown.thing}", "=", "", false},
		{"r1", "=", "${meta.rack}", true}, // literals on either side
		{"a", "=", "a", true},
		{"${node.pool}", "=", "default", true},
		{"${attr.kernel.name}", "~=", "lin.*", false}, // unknown operand: never satisfied

		// Order: integers, then floats, then strings.
		{"${attr.cpu.numcores}", ">", "4", true},
		{"${attr.cpu.numcores}", ">", "10", false},
		{"${attr.cpu.numcores}", "<", "10", true}, // "8" < "10" as numbers, not as strings
		{"${attr.cpu.numcores}", ">=", "8", true},
		{"${attr.cpu.numcores}", "<=", "8", true},
		{"${attr.cpu.numcores}", "<=", "7", false},
		{"${attr.ratio}", ">", "1.25", true},
		{"${attr.ratio}", "<", "1.75", true},
		{"${attr.ratio}", ">", "1e1", false},
		{"${attr.kernel.name}", ">", "abc", true},
		{"${attr.kernel.name}", "<", "abc", false},
		{"${attr.kernel.name}", "<", "m", true},
		{"${meta.missing}", "<", "m", false},
		{"${meta.missing}", ">=", "", false},

		// regexp: unanchored, a value that does not compile never matches.
		{"${attr.kernel.name}", "regexp", "^lin", true},
		{"${attr.kernel.name}", "regexp", "nux", true},
		{"${attr.kernel.name}", "regexp", "^win", false},
		{"${attr.kernel.name}", "regexp", "(", false},
		{"${meta.missing}", "regexp", ".*", false},

		// version: go-version conditions.
		{"${attr.kernel.version}", "version", ">= 5.4, < 6.0", true},
		{"${attr.kernel.version}", "version", "~> 5.10", true},
		{"${attr.kernel.version}", "version", "> 5.10.1", false},
		{"${attr.kernel.version}", "version", "= 5.10.1", true},
		{"${attr.kernel.version}", "version", "not a constraint", false},
		{"${attr.kernel.name}", "version", ">= 1.0", false}, // not a version
		{"${meta.missing}", "version", ">= 1.0", false},

		// semver: strict versions, pre-releases by precedence.
		{"${attr.app.version}", "semver", ">= 1.2.0, < 2.0.0", false}, // 1.2.0-beta.2 < 1.2.0
		{"${attr.app.version}", "semver", ">= 1.2.0-beta.1", true},
		{"${attr.app.version}", "semver", "< 1.2.0", true},
		{"${attr.app.version}", "semver", "1.2.0-beta.2", true},
		{"${attr.app.version}", "semver", "!= 1.2.0-beta.2", false},
		{"${attr.kernel.version}", "semver", "> 5.0.0", true},
		{"${attr.kernel.version}", "semver", "~> 5.0.0", false}, // no ~> in semver
		{"${attr.kernel.name}", "semver", ">= 1.0.0", false},    // not a version

		// sets
		{"${meta.tags}", "set_contains", "ssd,gpu", true},
		{"${meta.tags}", "set_contains", "gpu", true},
		{"${meta.tags}", "set_contains_all", "ssd, gpu", true},
		{"${meta.tags}", "set_contains", "ssd,tpu", false},
		{"${meta.tags}", "set_contains_any", "tpu,gpu", true},
		{"${meta.tags}", "set_contains_any", "tpu,fpga", false},
		{"${meta.tags}", "set_contains_any", "gp", false}, // items, not substrings
		{"${meta.missing}", "set_contains_any", "gpu", false},

		// is_set / is_not_set
		{"${meta.tags}", "is_set", "", true},
		{"${meta.missing}", "is_set", "", false},
		{"${meta.tags}", "is_not_set", "", false},
		{"${meta.missing}", "is_not_set", "", true},
		{"${meta.empty}", "is_set", "", true}, // set, though empty

		// Decided by the plan, not the node.
		{"", "distinct_hosts", "true", true},
		{"${meta.rack}", "distinct_property", "1", true},
	} {
		c := &structs.Constraint{LTarget: tc.l, Operand: tc.op, RTarget: tc.r}
		if got := checkConstraint(node, c); got != tc.want {
			t.Errorf("%s on n1 = %v, want %v", constraintKey(c), got, tc.want)
		}
	}
}

func TestConstraintFilterCollectsJobGroupAndTaskConstraintsInOrder(t *testing.T) {
	job := mockJob().
		Constraint("${attr.kernel.name}", "=", "linux").
		GroupConstraint("${meta.rack}", "=", "r1").
		TaskConstraint("${node.class}", "!=", "tiny").
		Build()
	f := newConstraintFilter(job, job.TaskGroups[0], nil, nil)
	for _, tc := range []struct {
		node   *structs.Node
		reason string
	}{
		{mockNode("ok").Meta("rack", "r1").Build(), ""},
		{mockNode("win").Attr("kernel.name", "windows").Meta("rack", "r9").Build(), "${attr.kernel.name} = linux"},
		{mockNode("r9").Meta("rack", "r9").Build(), "${meta.rack} = r1"},
		{mockNode("tiny").Meta("rack", "r1").Class("tiny").Build(), "${node.class} != tiny"},
	} {
		ok, reason := f.feasible(tc.node)
		if ok != (tc.reason == "") || reason != tc.reason {
			t.Errorf("node %s: ok=%v reason=%q, want reason %q", tc.node.Name, ok, reason, tc.reason)
		}
	}
}

func TestConstraintFilteringIsRecordedInMetrics(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(
		mockNode("win1").Attr("kernel.name", "windows").Build(),
		mockNode("win2").Attr("kernel.name", "windows").Build(),
		mockNode("lin").Build(),
	)
	h.run(mockJob().Constraint("${attr.kernel.name}", "=", "linux").Build())
	placed := planAllocs(h.lastPlan().NodeAllocation)
	if len(placed) != 1 || placed[0].NodeName != "lin" {
		t.Fatalf("placed %+v, want one on lin", placed)
	}
	// Only one node is feasible, so the scan visits all three.
	m := placed[0].Metrics
	if m.NodesEvaluated != 3 || m.NodesFiltered != 2 || m.ConstraintFiltered["${attr.kernel.name} = linux"] != 2 ||
		m.NodesAvailable["dc1"] != 3 || m.NodesExhausted != 0 {
		t.Fatalf("metrics %+v", m)
	}

	// A constraint no node satisfies: the failure names it.
	job := h.run(mockJob().ID("racked").Count(2).GroupConstraint("${meta.rack}", "=", "r9").Build())
	e := h.lastEval()
	fm := e.FailedTGAllocs["web"]
	if fm == nil {
		t.Fatalf("no failure recorded: %+v", e)
	}
	got := FailureSummary("web", job.TaskGroups[0].Count, fm.CoalescedFailures+1, fm)
	if want := `could not place 2 of 2 allocations of group web: constraint "${meta.rack} = r9" filtered 3 nodes`; got != want {
		t.Fatalf("summary:\n got %q\nwant %q", got, want)
	}
}

func TestOperandCacheCompilesEachValueOnce(t *testing.T) {
	oc := newOperandCache()
	node := mockNode("n1").Attr("kernel.version", "5.10.1").Build()
	for range 3 {
		oc.check(node, &structs.Constraint{LTarget: "${attr.kernel.name}", Operand: "regexp", RTarget: "^lin"})
		oc.check(node, &structs.Constraint{LTarget: "${attr.kernel.version}", Operand: "version", RTarget: ">= 5"})
		oc.check(node, &structs.Constraint{LTarget: "${attr.kernel.version}", Operand: "semver", RTarget: ">= 5.0.0"})
	}
	re := oc.regexps["^lin"]
	if len(oc.regexps) != 1 || len(oc.versions) != 1 || len(oc.semvers) != 1 || re == nil {
		t.Fatalf("cache: %d regexps, %d versions, %d semvers", len(oc.regexps), len(oc.versions), len(oc.semvers))
	}
	oc.check(node, &structs.Constraint{LTarget: "${attr.kernel.name}", Operand: "regexp", RTarget: "^lin"})
	if oc.regexps["^lin"] != re {
		t.Fatal("regexp compiled again")
	}
}

func TestUniqueTargets(t *testing.T) {
	for target, want := range map[string]bool{
		"${node.unique.id}": true, "${node.unique.name}": true, "${attr.unique.hostname}": true,
		"${meta.unique.x}": true, "${attr.kernel.name}": false, "${node.datacenter}": false, "unique.x": false,
	} {
		if got := isUniqueTarget(target); got != want {
			t.Errorf("isUniqueTarget(%q) = %v, want %v", target, got, want)
		}
	}
}
