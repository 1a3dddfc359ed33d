package scheduler

import (
	"fmt"

	"github.com/orch-io/orch/structs"
)

// Fixtures. mockNode("n1").CPU(4000).Mem(8192).Build() is a ready node in dc1
// with a healthy raw_exec driver; mockJob().Count(3).Build() is a service job
// "job" with one group "web" of one raw_exec task asking 500 MHz and 256 MB.

type nodeBuilder struct{ n *structs.Node }

func mockNode(name string) *nodeBuilder {
	return &nodeBuilder{&structs.Node{
		ID:         "node-" + name,
		Name:       name,
		Datacenter: "dc1",
		Attributes: map[string]string{"kernel.name": "linux", "cpu.arch": "amd64"},
		Meta:       map[string]string{},
		NodeResources: &structs.NodeResources{
			CPU: 4000, MemoryMB: 8192, DiskMB: 100_000,
		},
		Drivers: map[string]*structs.DriverInfo{
			"raw_exec": {Detected: true, Healthy: true},
		},
		Status:                structs.NodeStatusReady,
		SchedulingEligibility: structs.NodeEligible,
	}}
}

func (b *nodeBuilder) CPU(mhz int) *nodeBuilder      { b.n.NodeResources.CPU = mhz; return b }
func (b *nodeBuilder) Mem(mb int) *nodeBuilder       { b.n.NodeResources.MemoryMB = mb; return b }
func (b *nodeBuilder) Disk(mb int) *nodeBuilder      { b.n.NodeResources.DiskMB = mb; return b }
func (b *nodeBuilder) DC(dc string) *nodeBuilder     { b.n.Datacenter = dc; return b }
func (b *nodeBuilder) Class(c string) *nodeBuilder   { b.n.NodeClass = c; return b }
func (b *nodeBuilder) Attr(k, v string) *nodeBuilder { b.n.Attributes[k] = v; return b }
func (b *nodeBuilder) Meta(k, v string) *nodeBuilder { b.n.Meta[k] = v; return b }
func (b *nodeBuilder) Status(s structs.NodeStatus) *nodeBuilder {
	b.n.Status = s
	return b
}
func (b *nodeBuilder) Ineligible() *nodeBuilder {
	b.n.SchedulingEligibility = structs.NodeIneligible
	return b
}
func (b *nodeBuilder) Driver(name string, healthy bool) *nodeBuilder {
	b.n.Drivers[name] = &structs.DriverInfo{Detected: true, Healthy: healthy}
	return b
}
func (b *nodeBuilder) NoDriver(name string) *nodeBuilder { delete(b.n.Drivers, name); return b }
func (b *nodeBuilder) Build() *structs.Node              { return b.n }

// mockNodes builds n identical nodes named prefix1..prefixN.
func mockNodes(n int, prefix string, configure func(*nodeBuilder)) []*structs.Node {
	out := make([]*structs.Node, n)
	for i := range out {
		b := mockNode(fmt.Sprintf("%s%d", prefix, i+1))
		if configure != nil {
			configure(b)
		}
		out[i] = b.Build()
	}
	return out
}

type jobBuilder struct{ j *structs.Job }

func mockJob() *jobBuilder {
	return &jobBuilder{&structs.Job{
		Region:      structs.DefaultRegion,
		Namespace:   structs.DefaultNamespace,
		ID:          "job",
		Name:        "job",
		Type:        structs.JobTypeService,
		Priority:    structs.DefaultJobPriority,
		Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name:          "web",
			Count:         1,
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: 300},
			Tasks: []*structs.Task{{
				Name:      "web",
				Driver:    "raw_exec",
				Config:    map[string]any{"command": "/bin/sleep", "args": []string{"3600"}},
				Resources: &structs.Resources{CPU: 500, MemoryMB: 256},
			}},
		}},
	}}
}

func (b *jobBuilder) group() *structs.TaskGroup { return b.j.TaskGroups[len(b.j.TaskGroups)-1] }
func (b *jobBuilder) task() *structs.Task {
	g := b.group()
	return g.Tasks[len(g.Tasks)-1]
}

func (b *jobBuilder) ID(id string) *jobBuilder { b.j.ID, b.j.Name = id, id; return b }
func (b *jobBuilder) Batch() *jobBuilder       { b.j.Type = structs.JobTypeBatch; return b }
func (b *jobBuilder) DCs(dcs ...string) *jobBuilder {
	b.j.Datacenters = dcs
	return b
}

// Count, CPU, Mem, Disk, Driver, Command apply to the last group (and its last task).
func (b *jobBuilder) Count(n int) *jobBuilder      { b.group().Count = n; return b }
func (b *jobBuilder) CPU(mhz int) *jobBuilder      { b.task().Resources.CPU = mhz; return b }
func (b *jobBuilder) Mem(mb int) *jobBuilder       { b.task().Resources.MemoryMB = mb; return b }
func (b *jobBuilder) Disk(mb int) *jobBuilder      { b.group().EphemeralDisk.SizeMB = mb; return b }
func (b *jobBuilder) Driver(d string) *jobBuilder  { b.task().Driver = d; return b }
func (b *jobBuilder) Command(c string) *jobBuilder { b.task().Config["command"] = c; return b }
func (b *jobBuilder) Group(name string) *jobBuilder { // adds a group like the first
	g := b.j.TaskGroups[0].Copy()
	g.Name, g.Count = name, 1
	b.j.TaskGroups = append(b.j.TaskGroups, g)
	return b
}

// Constraint adds a job-level constraint; GroupConstraint and TaskConstraint
// add one to the last group and its last task.
func (b *jobBuilder) Constraint(l, op, r string) *jobBuilder {
	b.j.Constraints = append(b.j.Constraints, &structs.Constraint{LTarget: l, Operand: op, RTarget: r})
	return b
}
func (b *jobBuilder) GroupConstraint(l, op, r string) *jobBuilder {
	g := b.group()
	g.Constraints = append(g.Constraints, &structs.Constraint{LTarget: l, Operand: op, RTarget: r})
	return b
}
func (b *jobBuilder) TaskConstraint(l, op, r string) *jobBuilder {
	t := b.task()
	t.Constraints = append(t.Constraints, &structs.Constraint{LTarget: l, Operand: op, RTarget: r})
	return b
}
func (b *jobBuilder) Build() *structs.Job { return b.j }
