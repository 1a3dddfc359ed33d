package structs

import (
	"strings"
	"testing"
)

func TestValidateSpreadsAndAffinities(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(j *Job)
		want   []string // each must appear; none means valid
	}{
		{"valid", func(j *Job) {
			j.Spreads = []*Spread{{Attribute: "${meta.rack}", Weight: 100, SpreadTarget: []*SpreadTarget{{Value: "a", Percent: 60}, {Value: "b", Percent: 40}}}}
			j.Affinities = []*Affinity{{LTarget: "${node.datacenter}", Operand: "=", RTarget: "dc1", Weight: -100}}
			j.TaskGroups[0].Tasks[0].Affinities = []*Affinity{{LTarget: "${attr.x}", Operand: "is", RTarget: "y", Weight: 1}}
		}, nil},
		{"nil entries", func(j *Job) {
			j.Spreads = []*Spread{nil, {Attribute: "${meta.rack}", Weight: 5, SpreadTarget: []*SpreadTarget{nil}}}
			j.TaskGroups[0].Affinities = []*Affinity{nil}
		}, []string{"spread[0]: must not be null", "spread[1].target[0]: must not be null", `group "web": affinity[0]: must not be null`}},
		{"spread rules", func(j *Job) {
			j.TaskGroups[0].Spreads = []*Spread{{Weight: 101, SpreadTarget: []*SpreadTarget{
				{Value: "a", Percent: 101}, {Value: "", Percent: 1}, {Value: "a", Percent: 1}}}}
		}, []string{`spread[0].attribute = "": must not be empty`, "spread[0].weight = 101: must be between 1 and 100",
			"spread[0].target[0].percent = 101: must be between 0 and 100", `spread[0].target[1] = "": the target's value must not be empty`,
			`spread[0].target[2] = "a": another target of the spread has the same value`,
			"spread[0].target: the targets' percentages must sum to at most 100 (they sum to 103)"}},
		{"affinity rules", func(j *Job) {
			j.Affinities = []*Affinity{{Operand: "regexp-ish", Weight: 0}}
		}, []string{`affinity[0].attribute = "": must not be empty`, `affinity[0].operator = "regexp-ish": must be a supported constraint operator`,
			"affinity[0].weight = 0: must be between -100 and 100, and not 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.modify(j)
			err := j.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCopyDeepCopiesSpreadsAndAffinities(t *testing.T) {
	j := validJob()
	j.Spreads = []*Spread{{Attribute: "a", Weight: 1, SpreadTarget: []*SpreadTarget{{Value: "v", Percent: 1}}}}
	j.Affinities = []*Affinity{{LTarget: "a", Weight: 1}}
	j.TaskGroups[0].Spreads = []*Spread{{Attribute: "g", Weight: 1}}
	j.TaskGroups[0].Tasks[0].Affinities = []*Affinity{{LTarget: "t", Weight: 1}}
	c := j.Copy()
	c.Spreads[0].SpreadTarget[0].Percent = 99
	c.Affinities[0].Weight = 99
	c.TaskGroups[0].Spreads[0].Weight = 99
	c.TaskGroups[0].Tasks[0].Affinities[0].Weight = 99
	if j.Spreads[0].SpreadTarget[0].Percent != 1 || j.Affinities[0].Weight != 1 ||
		j.TaskGroups[0].Spreads[0].Weight != 1 || j.TaskGroups[0].Tasks[0].Affinities[0].Weight != 1 {
		t.Fatal("Copy shares spreads or affinities with the original")
	}
}
