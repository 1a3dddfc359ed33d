package structs

import (
	"maps"
	"slices"
)

// NodeStatus is the liveness of a client node, decided by the leader.
type NodeStatus string

const (
	NodeStatusInit  NodeStatus = "initializing"
	NodeStatusReady NodeStatus = "ready"
	NodeStatusDown  NodeStatus = "down"
)

// NodeEligibility says whether the scheduler may place new allocations on a node.
type NodeEligibility string

const (
	NodeEligible   NodeEligibility = "eligible"
	NodeIneligible NodeEligibility = "ineligible"
)

// Node is a client agent's machine as it registered itself.
type Node struct {
	ID         string
	SecretID   string `json:"-"` // authenticates the client's RPCs; never shown
	Name       string
	Datacenter string
	NodeClass  string
	HTTPAddr   string

	// Attributes are fingerprinted facts: "kernel.name", "os.name", "cpu.arch",
	// "cpu.numcores", "cpu.totalcompute", "memory.totalbytes", "unique.hostname",
	// "driver.raw_exec", ...
	Attributes map[string]string
	Meta       map[string]string

	NodeResources     *NodeResources
	ReservedResources *NodeResources // held back for the OS and the agent
	Drivers           map[string]*DriverInfo

	Status                NodeStatus
	StatusDescription     string
	StatusUpdatedAt       int64 // unix seconds, as in Nomad
	SchedulingEligibility NodeEligibility
	// DrainStrategy is the drain in progress, nil when none; LastDrain
	// describes the latest drain (drain.go). Both belong to the servers.
	DrainStrategy *DrainStrategy
	LastDrain     *DrainMetadata
	// Events are the latest things that happened to the node, oldest first.
	Events []*NodeEvent

	// NodePool is the pool the node belongs to; "" means "default" (see Pool).
	NodePool string
	// ComputedClass is the hash of what the scheduler's feasibility checks
	// read (ComputeClass, node_class.go); set when the node registers.
	ComputedClass string

	CreateIndex uint64
	ModifyIndex uint64
}

// NodeResources are a node's schedulable totals (Node.NodeResources), or what
// is held back of them (Node.ReservedResources).
type NodeResources struct {
	CPU      int // MHz, all cores together
	MemoryMB int
	DiskMB   int

	// MinDynamicPort and MaxDynamicPort bound the host ports the scheduler
	// picks dynamic ports from (Node.NodeResources only; zero means Nomad's
	// default, 20000 and 32000). See Node.DynamicPortRange.
	MinDynamicPort int `json:",omitempty"`
	MaxDynamicPort int `json:",omitempty"`
	// ReservedHostPorts lists host ports no allocation may use, as
	// "22,80,8000-8100" (Node.ReservedResources only). See Node.ReservedPorts.
	ReservedHostPorts string `json:",omitempty"`
	// Cores are the IDs of the node's CPU cores (Node.NodeResources), or of
	// those no allocation may reserve (Node.ReservedResources). See
	// SchedulableCores.
	Cores []int `json:",omitempty"`
}

// Copy returns a deep copy. Safe on nil.
func (r *NodeResources) Copy() *NodeResources {
	c := clonePtr(r)
	if c != nil {
		c.Cores = slices.Clone(r.Cores)
	}
	return c
}

// CoreIDs returns r.Cores. Safe on nil.
func (r *NodeResources) CoreIDs() []int {
	if r == nil {
		return nil
	}
	return r.Cores
}

// DriverInfo is the fingerprint of one task driver on a node.
type DriverInfo struct {
	Detected          bool
	Healthy           bool
	HealthDescription string
	Attributes        map[string]string
	UpdateTime        int64
}

// Ready reports whether the scheduler may place allocations on the node.
func (n *Node) Ready() bool {
	return n.Status == NodeStatusReady && n.SchedulingEligibility != NodeIneligible
}

// Comparable returns the resources a node offers to allocations: totals less reserved.
func (n *Node) Comparable() ComparableResources {
	var c ComparableResources
	if n.NodeResources != nil {
		c = ComparableResources{CPU: n.NodeResources.CPU, MemoryMB: n.NodeResources.MemoryMB, DiskMB: n.NodeResources.DiskMB}
	}
	if r := n.ReservedResources; r != nil {
		c.Subtract(ComparableResources{CPU: r.CPU, MemoryMB: r.MemoryMB, DiskMB: r.DiskMB})
	}
	return c
}

// Copy returns a deep copy of the node.
func (n *Node) Copy() *Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Attributes = maps.Clone(n.Attributes)
	c.Meta = maps.Clone(n.Meta)
	c.DrainStrategy, c.LastDrain = n.DrainStrategy.Copy(), n.LastDrain.Copy()
	c.Events = make([]*NodeEvent, len(n.Events))
	for i, e := range n.Events {
		ec := *e
		ec.Details = maps.Clone(e.Details)
		c.Events[i] = &ec
	}
	c.NodeResources, c.ReservedResources = n.NodeResources.Copy(), n.ReservedResources.Copy()
	if n.Drivers != nil {
		c.Drivers = make(map[string]*DriverInfo, len(n.Drivers))
		for k, d := range n.Drivers {
			if dc := clonePtr(d); dc != nil {
				dc.Attributes = maps.Clone(d.Attributes)
				c.Drivers[k] = dc
			} else {
				c.Drivers[k] = nil
			}
		}
	}
	return &c
}

// NodeListStub is the summary of a node returned by list endpoints.
type NodeListStub struct {
	ID                    string
	Name                  string
	Datacenter            string
	NodeClass             string
	Address               string
	Status                NodeStatus
	StatusDescription     string
	SchedulingEligibility NodeEligibility
	// Drain: a drain is in progress (Nomad's field); LastDrain as on the node.
	Drain         bool
	LastDrain     *DrainMetadata
	Drivers       map[string]*DriverInfo
	NodeResources *NodeResources
	NodePool      string
	CreateIndex   uint64
	ModifyIndex   uint64
}

// Stub summarises the node for list endpoints.
func (n *Node) Stub() *NodeListStub {
	c := n.Copy()
	return &NodeListStub{
		ID: c.ID, Name: c.Name, Datacenter: c.Datacenter, NodeClass: c.NodeClass, Address: c.HTTPAddr,
		Status: c.Status, StatusDescription: c.StatusDescription, SchedulingEligibility: c.SchedulingEligibility,
		Drain: c.DrainStrategy != nil, LastDrain: c.LastDrain,
		Drivers: c.Drivers, NodeResources: c.NodeResources, NodePool: c.Pool(), CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
	}
}
