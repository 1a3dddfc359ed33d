package api

import "time"

// Node is a client node on the wire (GET /v1/node/:id).
type Node struct {
	ID                    string
	Datacenter            string
	Name                  string
	HTTPAddr              string
	Attributes            map[string]string
	NodeResources         *NodeResources
	ReservedResources     *NodeReservedResources
	Meta                  map[string]string
	NodeClass             string
	NodePool              string
	Drain                 bool
	DrainStrategy         *DrainStrategy
	SchedulingEligibility string
	Status                string
	StatusDescription     string
	StatusUpdatedAt       int64 // unix seconds
	Events                []*NodeEvent
	Drivers               map[string]*DriverInfo
	LastDrain             *DrainMetadata
	CreateIndex           uint64
	ModifyIndex           uint64
}

// DrainSpec is what a drain is asked to do: Deadline is a duration (integer
// nanoseconds; negative: now, 0: none).
type DrainSpec struct {
	Deadline         time.Duration
	IgnoreSystemJobs bool
}

// DrainStrategy is the drain in progress on a node.
type DrainStrategy struct {
	DrainSpec
	ForceDeadline time.Time
	StartedAt     time.Time
}

// DrainMetadata describes a node's latest drain; Status is "draining",
// "complete" or "canceled". AccessorID (the ACL token that asked) is always
// empty: orch has no ACLs.
type DrainMetadata struct {
	StartedAt  time.Time
	UpdatedAt  time.Time
	Status     string
	AccessorID string
	Meta       map[string]string
}

// NodeEvent is one thing that happened to a node.
type NodeEvent struct {
	Message     string
	Subsystem   string
	Details     map[string]string
	Timestamp   time.Time
	CreateIndex uint64
}

// NodeResources are a node's schedulable totals, nested as Nomad's.
type NodeResources struct {
	Cpu            NodeCpuResources
	Memory         NodeMemoryResources
	Disk           NodeDiskResources
	MinDynamicPort int
	MaxDynamicPort int
}

// NodeCpuResources is a node's CPU, in MHz, and its cores: all of them
// (TotalCpuCores) and those allocations may reserve (ReservableCpuCores:
// less the node's reserved cores).
type NodeCpuResources struct {
	CpuShares          int64
	TotalCpuCores      uint16
	ReservableCpuCores []uint16
}

// NodeMemoryResources is a node's memory.
type NodeMemoryResources struct{ MemoryMB int64 }

// NodeDiskResources is a node's disk.
type NodeDiskResources struct{ DiskMB int64 }

// NodeReservedResources is what a node holds back for itself.
type NodeReservedResources struct {
	Cpu      NodeReservedCpuResources
	Memory   NodeReservedMemoryResources
	Disk     NodeReservedDiskResources
	Networks NodeReservedNetworkResources
}

// NodeReservedCpuResources is reserved CPU, in MHz.
type NodeReservedCpuResources struct{ CpuShares uint64 }

// NodeReservedMemoryResources is reserved memory.
type NodeReservedMemoryResources struct{ MemoryMB uint64 }

// NodeReservedDiskResources is reserved disk.
type NodeReservedDiskResources struct{ DiskMB uint64 }

// NodeReservedNetworkResources are the host ports no allocation may use.
type NodeReservedNetworkResources struct{ ReservedHostPorts string }

// DriverInfo is one driver's fingerprint on a node.
type DriverInfo struct {
	Attributes        map[string]string
	Detected          bool
	Healthy           bool
	HealthDescription string
	UpdateTime        time.Time
}

// NodeListStub is an entry of GET /v1/nodes.
type NodeListStub struct {
	Address               string
	ID                    string
	Datacenter            string
	Name                  string
	NodeClass             string
	NodePool              string
	Drain                 bool
	SchedulingEligibility string
	Status                string
	StatusDescription     string
	Drivers               map[string]*DriverInfo
	NodeResources         *NodeResources `json:",omitempty"`
	LastDrain             *DrainMetadata
	CreateIndex           uint64
	ModifyIndex           uint64
}

// NodePool is an entry of GET /v1/node/pools.
type NodePool struct {
	Name        string
	Description string
	Meta        map[string]string
	CreateIndex uint64
	ModifyIndex uint64
}
