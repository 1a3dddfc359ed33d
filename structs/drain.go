package structs

import (
	"errors"
	"maps"
	"slices"
	"time"
)

// DrainSpec is what a user asks of a drain (Nomad's fields).
type DrainSpec struct {
	// Deadline bounds the drain: once it has passed every allocation left
	// on the node is stopped. Negative: now (-force); 0: no deadline.
	Deadline time.Duration
	// IgnoreSystemJobs leaves system and sysbatch allocations running.
	IgnoreSystemJobs bool
}

// DrainStrategy is a drain in progress on a node, as Nomad's API shows it.
type DrainStrategy struct {
	DrainSpec
	// ForceDeadline is when everything left is stopped; zero without a
	// deadline.
	ForceDeadline time.Time
	StartedAt     time.Time
}

// Copy returns a copy of the strategy.
func (d *DrainStrategy) Copy() *DrainStrategy {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}

// DeadlineTime returns whether the drain has a deadline and when it is:
// (false, zero) without one.
func (d *DrainStrategy) DeadlineTime() (bool, time.Time) {
	if d == nil || d.Deadline == 0 {
		return false, time.Time{}
	}
	return true, d.ForceDeadline
}

// DrainStatus is how a node's last drain went.
type DrainStatus string

const (
	DrainStatusDraining DrainStatus = "draining"
	DrainStatusComplete DrainStatus = "complete"
	DrainStatusCanceled DrainStatus = "canceled"
)

// DrainMetadata describes a node's latest drain (Nomad's LastDrain).
type DrainMetadata struct {
	StartedAt time.Time
	UpdatedAt time.Time
	Status    DrainStatus
	Meta      map[string]string
}

// Copy returns a deep copy of the metadata.
func (m *DrainMetadata) Copy() *DrainMetadata {
	if m == nil {
		return nil
	}
	c := *m
	c.Meta = maps.Clone(m.Meta)
	return &c
}

// Node event subsystems and messages, as Nomad words them.
const (
	NodeEventSubsystemDrain     = "Drain"
	NodeEventSubsystemCluster   = "Cluster"
	NodeEventSubsystemScheduler = "Scheduler"

	NodeEventDrainStarted  = "Node drain strategy set"
	NodeEventDrainUpdated  = "Node drain strategy updated"
	NodeEventDrainCanceled = "Node drain disabled"
	NodeEventDrainComplete = "Node drain complete"
	NodeEventEligible      = "Node marked as eligible for scheduling"
	NodeEventIneligible    = "Node marked as ineligible for scheduling"
	NodeEventRegistered    = "Node registered"
	NodeEventHeartbeatMiss = "Node heartbeat missed"
	NodeEventStatusReady   = "Node status ready"
	// MaxRetainedNodeEvents bounds Node.Events; older events are dropped.
	MaxRetainedNodeEvents = 10
)

// NodeEvent is one thing that happened to a node (Nomad's Events field).
type NodeEvent struct {
	Message     string
	Subsystem   string
	Details     map[string]string
	Timestamp   time.Time
	CreateIndex uint64
}

// AddEvent appends ev to the node's events, dropping the oldest beyond
// MaxRetainedNodeEvents. The node must be a copy the caller owns.
func (n *Node) AddEvent(ev *NodeEvent) {
	n.Events = append(slices.Clone(n.Events), ev)
	if len(n.Events) > MaxRetainedNodeEvents {
		n.Events = n.Events[len(n.Events)-MaxRetainedNodeEvents:]
	}
}

// Draining reports whether a drain is in progress on the node.
func (n *Node) Draining() bool { return n.DrainStrategy != nil }

// NodeUpdateEligibilityRequest sets a node's scheduling eligibility.
type NodeUpdateEligibilityRequest struct {
	NodeID      string
	Eligibility NodeEligibility
	WriteRequest
}

// NodeUpdateDrainRequest starts (DrainStrategy set) or cancels (nil) a drain;
// MarkEligible makes a canceled drain's node eligible again. Meta, when not
// nil, is recorded in the node's LastDrain.
type NodeUpdateDrainRequest struct {
	NodeID        string
	DrainStrategy *DrainStrategy
	MarkEligible  bool
	Meta          map[string]string
	WriteRequest
}

// NodeDrainUpdateResponse answers a drain or eligibility update.
type NodeDrainUpdateResponse struct {
	Index uint64
}

// ValidateDrainMeta checks the metadata a drain request records in the
// node's LastDrain under the job limits of meta maps (entries, key and value
// lengths, no NUL), each problem naming its key.
func ValidateDrainMeta(meta map[string]string, limits Limits) error {
	v := &validator{limits: limits.Resolve(), groupIndex: -1, taskIndex: -1}
	v.stringMap("Meta", meta)
	return errors.Join(v.errs...)
}
