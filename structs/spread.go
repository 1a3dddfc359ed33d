package structs

import (
	"fmt"
	"strconv"
)

// Spread asks the scheduler to spread a group's allocations over the values
// of a node attribute, as Nomad's `spread` block: either evenly over the
// values seen among feasible nodes, or by the percentages of its targets.
// Job-level spreads apply to every group.
type Spread struct {
	// Attribute names the node value to spread over: "${meta.rack}",
	// "${node.datacenter}", ...
	Attribute string
	// Weight (1..100) sets the spread's importance relative to the group's
	// other spreads. Default 50 (set by jobspec).
	Weight int8
	// SpreadTarget lists desired shares of the allocations per value; empty
	// means an even spread. Values not listed share what is left of 100%.
	SpreadTarget []*SpreadTarget
}

// SpreadTarget is the share of a group's allocations wanted on nodes whose
// spread attribute has Value.
type SpreadTarget struct {
	Value   string
	Percent uint8
}

// Limits of spreads, checked by Validate.
const (
	MaxSpreadWeight     = 100
	DefaultSpreadWeight = 50
)

// Affinity expresses a preference (positive weight) or an aversion (negative
// weight) for nodes on which LTarget Operand RTarget holds, as Nomad's
// `affinity` block. Weight is in -100..100 and never 0.
type Affinity struct {
	LTarget string
	RTarget string
	Operand string
	Weight  int8
}

// Limits of affinities, checked by Validate.
const (
	MaxAffinityWeight     = 100
	DefaultAffinityWeight = 50
)

func copySpreads(ss []*Spread) []*Spread {
	if ss == nil {
		return nil
	}
	out := make([]*Spread, len(ss))
	for i, s := range ss {
		if s == nil {
			continue
		}
		c := *s
		if s.SpreadTarget != nil {
			c.SpreadTarget = make([]*SpreadTarget, len(s.SpreadTarget))
			for j, t := range s.SpreadTarget {
				c.SpreadTarget[j] = clonePtr(t)
			}
		}
		out[i] = &c
	}
	return out
}

func copyAffinities(as []*Affinity) []*Affinity {
	if as == nil {
		return nil
	}
	out := make([]*Affinity, len(as))
	for i, a := range as {
		out[i] = clonePtr(a)
	}
	return out
}

func (v *validator) spreads(ss []*Spread) {
	for i, s := range ss {
		field := fmt.Sprintf("spread[%d]", i)
		if s == nil {
			v.add(field, "", "must not be null")
			continue
		}
		if s.Attribute == "" {
			v.add(field+".attribute", `""`, "must not be empty")
		}
		if s.Weight <= 0 || s.Weight > MaxSpreadWeight {
			// As in Nomad: a spread of weight 0 would have no say, and in
			// JSON a missing weight reads as 0, which must not pass silently.
			v.add(field+".weight", strconv.Itoa(int(s.Weight)), fmt.Sprintf("must be between 1 and %d", MaxSpreadWeight))
		}
		seen := map[string]bool{}
		percent := 0
		for j, t := range s.SpreadTarget {
			tf := fmt.Sprintf("%s.target[%d]", field, j)
			if t == nil {
				v.add(tf, "", "must not be null")
				continue
			}
			switch {
			case t.Value == "":
				v.add(tf, `""`, "the target's value must not be empty")
			case seen[t.Value]:
				v.add(tf, strconv.Quote(t.Value), "another target of the spread has the same value")
			}
			seen[t.Value] = true
			if t.Percent > 100 {
				v.add(tf+".percent", strconv.Itoa(int(t.Percent)), "must be between 0 and 100")
			}
			percent += int(t.Percent)
		}
		if percent > 100 {
			v.add(field+".target", "", fmt.Sprintf("the targets' percentages must sum to at most 100 (they sum to %d)", percent))
		}
	}
}

func (v *validator) affinities(as []*Affinity) {
	for i, a := range as {
		field := fmt.Sprintf("affinity[%d]", i)
		if a == nil {
			v.add(field, "", "must not be null")
			continue
		}
		if a.LTarget == "" {
			v.add(field+".attribute", `""`, "must not be empty")
		}
		if _, ok := NormalizeConstraintOperand(a.Operand); !ok {
			v.add(field+".operator", strconv.Quote(a.Operand), "must be a supported constraint operator")
		}
		if a.Weight == 0 || a.Weight < -MaxAffinityWeight || a.Weight > MaxAffinityWeight {
			v.add(field+".weight", strconv.Itoa(int(a.Weight)),
				fmt.Sprintf("must be between -%d and %d, and not 0", MaxAffinityWeight, MaxAffinityWeight))
		}
	}
}
