package scheduler

import "github.com/orch-io/orch/structs"

// Spread adds a job-level spread over attribute with weight and targets
// ("value", percent, "value", percent, ...).
func (b *jobBuilder) Spread(attribute string, weight int8, targets ...any) *jobBuilder {
	b.j.Spreads = append(b.j.Spreads, newSpread(attribute, weight, targets...))
	return b
}

// GroupSpread adds a spread to the last group.
func (b *jobBuilder) GroupSpread(attribute string, weight int8, targets ...any) *jobBuilder {
	g := b.group()
	g.Spreads = append(g.Spreads, newSpread(attribute, weight, targets...))
	return b
}

func newSpread(attribute string, weight int8, targets ...any) *structs.Spread {
	s := &structs.Spread{Attribute: attribute, Weight: weight}
	for i := 0; i+1 < len(targets); i += 2 {
		s.SpreadTarget = append(s.SpreadTarget, &structs.SpreadTarget{Value: targets[i].(string), Percent: uint8(targets[i+1].(int))})
	}
	return s
}
