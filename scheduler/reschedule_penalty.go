package scheduler

import "github.com/orch-io/orch/structs"

// scoreReschedulePenalty is Nomad's name for the score.
const scoreReschedulePenalty = "node-reschedule-penalty"

// reschedulePenalty penalises the node a replaced allocation failed on, so
// that a replacement tries another node first: -1 on that node, no opinion
// elsewhere. The stack points it at the placement in hand (stack.avoid) before
// each selection; placements that replace nothing, or replace an allocation
// that did not fail, penalise nothing.
type reschedulePenalty struct {
	stack *stack
}

func (r *reschedulePenalty) name() string { return scoreReschedulePenalty }

func (r *reschedulePenalty) score(nu *nodeUsage) (float64, bool) {
	if r.stack.avoid == "" || nu.id != r.stack.avoid {
		return 0, false
	}
	return -1, true
}

// penaltyNode is the node a placement's replacement should avoid: the node
// its predecessor failed on, or "" when it did not fail there.
func penaltyNode(previous *structs.Allocation) string {
	if previous == nil || previous.ClientStatus != structs.AllocClientStatusFailed {
		return ""
	}
	return previous.NodeID
}
