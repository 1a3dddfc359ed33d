package server

import (
	"context"
	"strconv"
	"time"

	"github.com/orch-io/orch/structs"
)

// replayIndex answers a retried write from its recorded outcome: done when
// requestID was applied already (index set to its index) or the lookup
// failed.
func (s *Server) replayIndex(t MessageType, requestID string, index *uint64) (done bool, err error) {
	first, err := s.recordedOutcome(t, requestID)
	if first != nil {
		*index = first.Index
	}
	return first != nil || err != nil, err
}

// UpdateEligibility marks a node eligible or ineligible for new allocations;
// an ineligible node keeps what it runs. A draining node cannot be made
// eligible: cancelling the drain does that (POST /v1/node/:id/eligibility).
func (n *nodeEndpoint) UpdateEligibility(ctx context.Context, args *structs.NodeUpdateEligibilityRequest,
	reply *structs.NodeDrainUpdateResponse) error {
	if done, err := n.srv.forward(ctx, "Node.UpdateEligibility", args, reply); done {
		return err
	}
	switch args.Eligibility {
	case structs.NodeEligible, structs.NodeIneligible:
	default:
		return structs.NewError(structs.CodeInvalid, "node eligibility: Eligibility = %q: must be %q or %q",
			args.Eligibility, structs.NodeEligible, structs.NodeIneligible)
	}
	if done, err := n.srv.replayIndex(MsgNodeEligibility, args.RequestID, &reply.Index); done {
		return err
	}
	node := n.srv.state.NodeByID(args.NodeID)
	if node == nil {
		return nodeNotFound(args.NodeID)
	}
	if node.Draining() && args.Eligibility == structs.NodeEligible {
		return structs.NewError(structs.CodeInvalid,
			"node %s is draining: it cannot be made eligible while the drain runs; cancel the drain (orch node drain -disable) instead", node.ID)
	}
	msg := structs.NodeEventIneligible
	if args.Eligibility == structs.NodeEligible {
		msg = structs.NodeEventEligible
	}
	out, err := n.srv.raftApplyWrite(ctx, MsgNodeEligibility, &NodeEligibilityEntry{
		NodeID: node.ID, Eligibility: args.Eligibility,
		Event: &structs.NodeEvent{Message: msg, Subsystem: structs.NodeEventSubsystemCluster, Timestamp: time.Now()},
	}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	n.srv.logger.Info("node eligibility changed", "node_id", node.ID, "eligibility", args.Eligibility, "index", out.Index)
	return nil
}

// UpdateDrain starts, updates or cancels a node's drain. Starting makes the
// node ineligible and hands it to the drainer (server/drainer); cancelling
// stops the drainer there and, with MarkEligible, makes the node eligible
// again. Allocations already migrated stay where they went.
func (n *nodeEndpoint) UpdateDrain(ctx context.Context, args *structs.NodeUpdateDrainRequest,
	reply *structs.NodeDrainUpdateResponse) error {
	if done, err := n.srv.forward(ctx, "Node.UpdateDrain", args, reply); done {
		return err
	}
	if err := structs.ValidateDrainMeta(args.Meta, n.srv.config.Limits); err != nil {
		return structs.NewError(structs.CodeInvalid, "node drain: %v", err)
	}
	if done, err := n.srv.replayIndex(MsgNodeDrain, args.RequestID, &reply.Index); done {
		return err
	}
	node := n.srv.state.NodeByID(args.NodeID)
	if node == nil {
		return nodeNotFound(args.NodeID)
	}
	now := time.Now()
	entry := &NodeDrainEntry{NodeID: node.ID, MarkEligible: args.MarkEligible, UpdatedAt: now.UnixNano(), Meta: args.Meta}
	event := &structs.NodeEvent{Subsystem: structs.NodeEventSubsystemDrain, Timestamp: now}
	if s := args.DrainStrategy; s != nil {
		strategy := &structs.DrainStrategy{DrainSpec: s.DrainSpec, StartedAt: now}
		switch {
		case s.Deadline < 0: // -force
			strategy.ForceDeadline = now
		case s.Deadline > 0:
			strategy.ForceDeadline = now.Add(s.Deadline)
		}
		entry.DrainStrategy = strategy
		event.Message = structs.NodeEventDrainStarted
		if node.Draining() {
			event.Message = structs.NodeEventDrainUpdated
		}
		event.Details = map[string]string{
			"deadline":           s.Deadline.String(),
			"ignore_system_jobs": strconv.FormatBool(s.IgnoreSystemJobs),
		}
	} else {
		if !node.Draining() && !args.MarkEligible {
			reply.Index = node.ModifyIndex
			return nil // nothing to cancel
		}
		event.Message = structs.NodeEventDrainCanceled
		if !node.Draining() {
			event = &structs.NodeEvent{Message: structs.NodeEventEligible, Subsystem: structs.NodeEventSubsystemCluster, Timestamp: now}
		}
	}
	entry.Event = event
	out, err := n.srv.raftApplyWrite(ctx, MsgNodeDrain, entry, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	n.srv.logger.Info(event.Message, "node_id", node.ID, "index", out.Index)
	return nil
}
