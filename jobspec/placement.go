package jobspec

import (
	"fmt"
	"math"

	"github.com/hashicorp/hcl/v2"
	"github.com/orch-io/orch/structs"
)

// The placement preference blocks: affinity (job, group, task) and spread
// (job, group), in Nomad's syntax:
//
//	affinity { attribute = "${node.datacenter}" operator = "=" value = "dc1" weight = 50 }
//	spread { attribute = "${meta.rack}" weight = 50 target "r1" { percent = 20 } }
var (
	affinitySchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "attribute"}, {Name: "operator"}, {Name: "value"}, {Name: "weight"},
		}},
	}
	spreadSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: "attribute"}, {Name: "weight"}},
			Blocks:     []hcl.BlockHeaderSchema{{Type: "target", LabelNames: []string{"value"}}},
		},
	}
	spreadTargetSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "percent"}}},
	}
)

// affinities decodes affinity blocks; the operator is normalized as a
// constraint's, and weight defaults to 50 as in Nomad.
func (d *decoder) affinities(blocks hcl.Blocks, loc *scope) []*structs.Affinity {
	var out []*structs.Affinity
	for i, b := range blocks {
		prefix := fmt.Sprintf("affinity[%d]", i)
		loc.field(prefix, b.DefRange)
		aff := &structs.Affinity{Weight: structs.DefaultAffinityWeight}
		c := d.content(b.Body, affinitySchema)
		var opAttr *hcl.Attribute
		aff.LTarget, aff.RTarget, aff.Operand, opAttr = d.predicate(c, loc, prefix)
		if aff.Operand == structs.ConstraintDistinctHosts || aff.Operand == structs.ConstraintDistinctProperty {
			d.invalid(opAttr, "operator %q is not valid in an affinity (it is a constraint on the plan)", aff.Operand)
		}
		if a := c.Attributes["weight"]; a != nil {
			loc.field(prefix+".weight", a.Range)
			if n, ok := d.int8(a); ok {
				aff.Weight = n
			}
		}
		out = append(out, aff)
	}
	return out
}

// spreads decodes spread blocks; weight defaults to 50 as in Nomad.
func (d *decoder) spreads(blocks hcl.Blocks, loc *scope) []*structs.Spread {
	var out []*structs.Spread
	for i, b := range blocks {
		prefix := fmt.Sprintf("spread[%d]", i)
		loc.field(prefix, b.DefRange)
		sp := &structs.Spread{Weight: structs.DefaultSpreadWeight}
		c := d.content(b.Body, spreadSchema)
		if a := c.Attributes["attribute"]; a != nil {
			loc.field(prefix+".attribute", a.Range)
			sp.Attribute, _ = d.str(a)
		}
		if a := c.Attributes["weight"]; a != nil {
			loc.field(prefix+".weight", a.Range)
			if n, ok := d.int8(a); ok {
				sp.Weight = n
			}
		}
		for j, tb := range c.Blocks.OfType("target") {
			tprefix := fmt.Sprintf("%s.target[%d]", prefix, j)
			loc.field(tprefix, tb.LabelRanges[0])
			t := &structs.SpreadTarget{Value: tb.Labels[0]}
			tc := d.content(tb.Body, spreadTargetSchema)
			if a := tc.Attributes["percent"]; a != nil {
				loc.field(tprefix+".percent", a.Range)
				if n, ok := d.integer(a); ok {
					if n < 0 || n > 100 {
						d.invalid(a, "percent = %d: must be between 0 and 100", n)
					} else {
						t.Percent = uint8(n)
					}
				}
			}
			sp.SpreadTarget = append(sp.SpreadTarget, t)
		}
		out = append(out, sp)
	}
	return out
}

// int8 decodes a whole number that fits a weight.
func (d *decoder) int8(a *hcl.Attribute) (int8, bool) {
	n, ok := d.integer(a)
	if !ok {
		return 0, false
	}
	if n < math.MinInt8 || n > math.MaxInt8 {
		d.invalid(a, "%d is out of range: must be between -100 and 100", n)
		return 0, false
	}
	return int8(n), true
}
