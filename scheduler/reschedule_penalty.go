package scheduler

import "github.com/orch-io/orch/structs"

// scoreReschedulePenalty is Nomad's name for the score.
const scoreReschedulePenalty = "node-reschedule-penalty"

// reschedulePenalty penalises the nodes a replaced allocation and its own
// predecessors failed on, so that a replacement tries another node first: -1
// on those nodes, no opinion elsewhere. The stack points it at the placement in hand (stack.avoid) before
// each selection; placements that replace nothing, or replace an allocation
// that did not fail, penalise nothing.
type reschedulePenalty struct {
	stack *stack
}

func (r *reschedulePenalty) name() string { return scoreReschedulePenalty }

func (r *reschedulePenalty) score(nu *nodeUsage) (float64, bool) {
	if !r.stack.avoid[nu.id] {
		return 0, false
	}
	return -1, true
}

// penaltyNodes are the nodes a placement's replacement should avoid: the
// node its predecessor failed on and those of the failures before it (the
// predecessor's reschedule tracker); nil when the predecessor did not fail.
func penaltyNodes(previous *structs.Allocation) map[string]bool {
	if previous == nil || previous.ClientStatus != structs.AllocClientStatusFailed {
		return nil
	}
	nodes := map[string]bool{previous.NodeID: true}
	if previous.RescheduleTracker != nil {
		for _, e := range previous.RescheduleTracker.Events {
			nodes[e.PrevNodeID] = true
		}
	}
	return nodes
}
