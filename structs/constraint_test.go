package structs

import (
	"fmt"
	"strings"
	"testing"
)

func TestConstraintProblems(t *testing.T) {
	for _, tc := range []struct {
		l, op, r string
		want     string // problems as "field = value: rule; ..."; "" when valid
	}{
		{"${attr.a}", "=", "x", ""},
		{"${attr.a}", "!=", "", ""},
		{"${attr.a}", "<", "4", ""},
		{"${attr.a}", ">=", "", `value = "": must be set for operator ">="`},
		{"${attr.a}", "regexp", "^lin.*", ""},
		{"${attr.a}", "regexp", "(", "value = \"(\": must be a valid regular expression: error parsing regexp: missing closing ): `(`"},
		{"${attr.a}", "regexp", "", `value = "": must be set for operator "regexp"`},
		{"${attr.a}", "version", ">= 1.2, < 2.0", ""},
		{"${attr.a}", "version", "~> 1.4", ""},
		{"${attr.a}", "version", ">= banana", `value = ">= banana": must be a version constraint such as ">= 1.2, < 2.0": malformed constraint: >= banana`},
		{"${attr.a}", "semver", ">= 1.2.0, < 2.0.0-rc.1", ""},
		{"${attr.a}", "semver", "~> 1.2.0", `value = "~> 1.2.0": must be a semver constraint such as ">= 1.2.0, < 2.0.0": malformed semver condition "~> 1.2.0"`},
		{"${attr.a}", "set_contains", "a,b", ""},
		{"${attr.a}", "set_contains_any", "", `value = "": must be set for operator "set_contains_any"`},
		{"${attr.a}", "is_set", "", ""},
		{"${attr.a}", "is_not_set", "x", `value = "x": must not be set for operator "is_not_set"`},
		{"", "distinct_hosts", "", ""},
		{"", "distinct_hosts", "true", ""},
		{"", "distinct_hosts", "yes", `value = "yes": must be true or false for distinct_hosts`},
		{"${meta.rack}", "distinct_property", "", ""},
		{"${meta.rack}", "distinct_property", "3", ""},
		{"${meta.rack}", "distinct_property", "0", `value = "0": must be a positive integer (allocations allowed per property value) for distinct_property`},
		{"", "distinct_property", "", `attribute = "": must not be empty`},
		{"", "is_set", "", `attribute = "": must not be empty`},
		{"${attr.a}", "~", "x", `operator = "~": must be one of "=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "regexp", "version", "semver", "set_contains", "set_contains_all", "set_contains_any", "is_set", "is_not_set", "distinct_hosts", "distinct_property"`},
	} {
		c := &Constraint{LTarget: tc.l, Operand: tc.op, RTarget: tc.r}
		var got []string
		for _, p := range c.problems() {
			got = append(got, fmt.Sprintf("%s = %s: %s", p.field, p.value, p.rule))
		}
		if g := strings.Join(got, "; "); g != tc.want {
			t.Errorf("%q %q %q:\n got %s\nwant %s", tc.l, tc.op, tc.r, g, tc.want)
		}
	}
}

func TestVersionConstraintMatch(t *testing.T) {
	for _, tc := range []struct {
		semver    bool
		cons, v   string
		wantMatch bool
	}{
		{false, ">= 1.2, < 2.0", "1.5.3", true},
		{false, ">= 1.2, < 2.0", "2.0", false},
		{false, "~> 1.4", "1.9", true},
		{false, "~> 1.4.0", "1.5.0", false},
		{false, ">= 1.0", "not-a-version", false},
		{true, ">= 1.2.0", "1.2.0-beta.1", false},
		{true, "> 1.2.0-beta.1", "1.2.0-beta.2", true},
		{true, "< 1.2.0", "1.2.0-rc.1", true},
		{true, "1.2.3", "1.2.3", true},
		{true, "!= 1.2.3", "1.2.3", false},
		{true, ">= 1.0.0, <= 1.9.9", "2.0.0", false},
	} {
		parse := ParseVersionConstraint
		if tc.semver {
			parse = ParseSemverConstraint
		}
		vc, err := parse(tc.cons)
		if err != nil {
			t.Fatalf("%q: %v", tc.cons, err)
		}
		if got := vc.Match(tc.v); got != tc.wantMatch {
			t.Errorf("semver=%v %q matches %q = %v, want %v", tc.semver, tc.cons, tc.v, got, tc.wantMatch)
		}
	}
}

func TestConstraintValidationIsPlaced(t *testing.T) {
	job := &Job{ID: "j", Region: "global", Namespace: "default", Type: JobTypeService, Priority: 50,
		Datacenters: []string{"*"},
		TaskGroups: []*TaskGroup{{Name: "g", Count: 1, RestartPolicy: DefaultRestartPolicy(JobTypeService),
			EphemeralDisk: &EphemeralDisk{SizeMB: 300},
			Tasks: []*Task{{Name: "t", Driver: "raw_exec", Resources: &Resources{CPU: 100, MemoryMB: 100},
				Constraints: []*Constraint{{LTarget: "${attr.a}", Operand: "regexp", RTarget: "["}}}}}}}
	err := job.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), `group "g": task "t": constraint[0].value = "[": must be a valid regular expression`) {
		t.Fatalf("got %v", err)
	}
}
