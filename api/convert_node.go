package api

import (
	"math"

	"github.com/orch-io/orch/structs"
)

// Conversions between the node's wire types and structs (see wire.go).

// NodeFromStructs is orch's node on the wire.
func NodeFromStructs(n *structs.Node) *Node {
	if n == nil {
		return nil
	}
	return &Node{
		ID: n.ID, Datacenter: n.Datacenter, Name: n.Name, HTTPAddr: n.HTTPAddr, Attributes: n.Attributes,
		NodeResources: nodeResourcesFromStructs(n.NodeResources, n.SchedulableCores()), ReservedResources: reservedFromStructs(n.ReservedResources),
		Meta: n.Meta, NodeClass: n.NodeClass, NodePool: n.Pool(), SchedulingEligibility: string(n.SchedulingEligibility),
		Drain: n.Draining(), DrainStrategy: drainStrategyFromStructs(n.DrainStrategy), LastDrain: drainMetadataFromStructs(n.LastDrain),
		Events: mapList(n.Events, nodeEventFromStructs),
		Status: string(n.Status), StatusDescription: n.StatusDescription, StatusUpdatedAt: n.StatusUpdatedAt,
		Drivers: driversFromStructs(n.Drivers), CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex,
	}
}

// NodeToStructs is NodeFromStructs' inverse (for the client side: the fields
// only servers know, SecretID and ComputedClass, are empty).
func NodeToStructs(w *Node) *structs.Node {
	if w == nil {
		return nil
	}
	return &structs.Node{
		ID: w.ID, Datacenter: w.Datacenter, Name: w.Name, HTTPAddr: w.HTTPAddr, Attributes: w.Attributes,
		NodeResources: nodeResourcesToStructs(w.NodeResources), ReservedResources: reservedToStructs(w.ReservedResources),
		Meta: w.Meta, NodeClass: w.NodeClass, NodePool: w.NodePool, SchedulingEligibility: structs.NodeEligibility(w.SchedulingEligibility),
		DrainStrategy: drainStrategyToStructs(w.DrainStrategy), LastDrain: drainMetadataToStructs(w.LastDrain),
		Events: mapList(w.Events, nodeEventToStructs),
		Status: structs.NodeStatus(w.Status), StatusDescription: w.StatusDescription, StatusUpdatedAt: w.StatusUpdatedAt,
		Drivers: driversToStructs(w.Drivers), CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex,
	}
}

// NodeStubFromStructs is a node list entry on the wire.
func NodeStubFromStructs(s *structs.NodeListStub) *NodeListStub {
	return &NodeListStub{
		Address: s.Address, ID: s.ID, Datacenter: s.Datacenter, Name: s.Name, NodeClass: s.NodeClass, NodePool: s.NodePool,
		SchedulingEligibility: string(s.SchedulingEligibility), Status: string(s.Status), StatusDescription: s.StatusDescription,
		Drain: s.Drain, LastDrain: drainMetadataFromStructs(s.LastDrain),
		Drivers: driversFromStructs(s.Drivers), NodeResources: nodeResourcesFromStructs(s.NodeResources, s.NodeResources.CoreIDs()),
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
	}
}

// NodeStubToStructs is NodeStubFromStructs' inverse.
func NodeStubToStructs(w *NodeListStub) *structs.NodeListStub {
	return &structs.NodeListStub{
		Address: w.Address, ID: w.ID, Datacenter: w.Datacenter, Name: w.Name, NodeClass: w.NodeClass, NodePool: w.NodePool,
		SchedulingEligibility: structs.NodeEligibility(w.SchedulingEligibility), Status: structs.NodeStatus(w.Status),
		Drain: w.Drain, LastDrain: drainMetadataToStructs(w.LastDrain),
		StatusDescription: w.StatusDescription, Drivers: driversToStructs(w.Drivers),
		NodeResources: nodeResourcesToStructs(w.NodeResources), CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex,
	}
}

// nodeResourcesFromStructs: reservable are the cores allocations may
// reserve (Node.SchedulableCores).
func nodeResourcesFromStructs(r *structs.NodeResources, reservable []int) *NodeResources {
	if r == nil {
		return nil
	}
	return &NodeResources{
		Cpu: NodeCpuResources{CpuShares: int64(r.CPU), TotalCpuCores: uint16(min(len(r.Cores), math.MaxUint16)),
			ReservableCpuCores: coresToWire(reservable)},
		Memory: NodeMemoryResources{MemoryMB: int64(r.MemoryMB)},
		Disk:   NodeDiskResources{DiskMB: int64(r.DiskMB)}, MinDynamicPort: r.MinDynamicPort, MaxDynamicPort: r.MaxDynamicPort,
	}
}

func nodeResourcesToStructs(w *NodeResources) *structs.NodeResources {
	if w == nil {
		return nil
	}
	// The wire names the reservable cores only: they stand for the node's.
	return &structs.NodeResources{CPU: int(w.Cpu.CpuShares), MemoryMB: int(w.Memory.MemoryMB), DiskMB: int(w.Disk.DiskMB),
		MinDynamicPort: w.MinDynamicPort, MaxDynamicPort: w.MaxDynamicPort, Cores: coresToStructs(w.Cpu.ReservableCpuCores)}
}

// reservedFromStructs: reserved amounts are never negative (Validate of the
// client's config); a negative one is sent as 0 rather than wrapped.
func reservedFromStructs(r *structs.NodeResources) *NodeReservedResources {
	if r == nil {
		return nil
	}
	u := func(v int) uint64 { return uint64(max(v, 0)) }
	return &NodeReservedResources{
		Cpu: NodeReservedCpuResources{CpuShares: u(r.CPU)}, Memory: NodeReservedMemoryResources{MemoryMB: u(r.MemoryMB)},
		Disk: NodeReservedDiskResources{DiskMB: u(r.DiskMB)}, Networks: NodeReservedNetworkResources{ReservedHostPorts: r.ReservedHostPorts},
	}
}

func reservedToStructs(w *NodeReservedResources) *structs.NodeResources {
	if w == nil {
		return nil
	}
	return &structs.NodeResources{CPU: int(w.Cpu.CpuShares), MemoryMB: int(w.Memory.MemoryMB), DiskMB: int(w.Disk.DiskMB),
		ReservedHostPorts: w.Networks.ReservedHostPorts}
}

func driversFromStructs(ds map[string]*structs.DriverInfo) map[string]*DriverInfo {
	if ds == nil {
		return nil
	}
	out := make(map[string]*DriverInfo, len(ds))
	for name, d := range ds {
		if d != nil {
			out[name] = &DriverInfo{Attributes: d.Attributes, Detected: d.Detected, Healthy: d.Healthy,
				HealthDescription: d.HealthDescription, UpdateTime: nanosTime(d.UpdateTime)}
		}
	}
	return out
}

func driversToStructs(ws map[string]*DriverInfo) map[string]*structs.DriverInfo {
	if ws == nil {
		return nil
	}
	out := make(map[string]*structs.DriverInfo, len(ws))
	for name, d := range ws {
		if d != nil {
			out[name] = &structs.DriverInfo{Attributes: d.Attributes, Detected: d.Detected, Healthy: d.Healthy,
				HealthDescription: d.HealthDescription, UpdateTime: timeNanos(d.UpdateTime)}
		}
	}
	return out
}

func drainStrategyFromStructs(d *structs.DrainStrategy) *DrainStrategy {
	if d == nil {
		return nil
	}
	return &DrainStrategy{DrainSpec: DrainSpec(d.DrainSpec), ForceDeadline: d.ForceDeadline, StartedAt: d.StartedAt}
}

func drainStrategyToStructs(w *DrainStrategy) *structs.DrainStrategy {
	if w == nil {
		return nil
	}
	return &structs.DrainStrategy{DrainSpec: structs.DrainSpec(w.DrainSpec), ForceDeadline: w.ForceDeadline, StartedAt: w.StartedAt}
}

func drainMetadataFromStructs(m *structs.DrainMetadata) *DrainMetadata {
	if m == nil {
		return nil
	}
	return &DrainMetadata{StartedAt: m.StartedAt, UpdatedAt: m.UpdatedAt, Status: string(m.Status), Meta: m.Meta}
}

func drainMetadataToStructs(w *DrainMetadata) *structs.DrainMetadata {
	if w == nil {
		return nil
	}
	return &structs.DrainMetadata{StartedAt: w.StartedAt, UpdatedAt: w.UpdatedAt, Status: structs.DrainStatus(w.Status), Meta: w.Meta}
}

func nodeEventFromStructs(e *structs.NodeEvent) *NodeEvent {
	return &NodeEvent{Message: e.Message, Subsystem: e.Subsystem, Details: e.Details, Timestamp: e.Timestamp, CreateIndex: e.CreateIndex}
}

func nodeEventToStructs(w *NodeEvent) *structs.NodeEvent {
	return &structs.NodeEvent{Message: w.Message, Subsystem: w.Subsystem, Details: w.Details, Timestamp: w.Timestamp, CreateIndex: w.CreateIndex}
}

// coresToWire converts core IDs to Nomad's []uint16; nil stays nil. IDs are
// at most structs.MaxCoreID.
func coresToWire(cores []int) []uint16 {
	if cores == nil {
		return nil
	}
	out := make([]uint16, len(cores))
	for i, c := range cores {
		out[i] = uint16(min(max(c, 0), math.MaxUint16))
	}
	return out
}

func coresToStructs(cores []uint16) []int {
	if cores == nil {
		return nil
	}
	out := make([]int, len(cores))
	for i, c := range cores {
		out[i] = int(c)
	}
	return out
}
