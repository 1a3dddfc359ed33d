package serviceregistration

import (
	"strconv"

	"github.com/orch-io/orch/structs"
)

// Active is one service of an allocation that should be registered now.
type Active struct {
	Service *structs.Service // read only: the job's
	// Task is the task of a task service, "" for a group service; Owner
	// names the service's owner in its registration ID ("group-<group>" or
	// the task).
	Task, Owner string
	// Name is the service's name, interpolated.
	Name string
}

// ActiveServices returns the services alloc should have registered in its
// present state: none once the allocation is terminal (on either side); its
// group's services while its client status is running; each task's
// services while that task runs; only those of provider "nomad". In the
// job's order; the caller owns the slice. Names are interpolated with
// alloc's variables and node's (nil: node references stay; names.go).
func ActiveServices(alloc *structs.Allocation, node *structs.Node) []Active {
	if alloc == nil || alloc.Job == nil || alloc.TerminalStatus() {
		return nil
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if tg == nil {
		return nil
	}
	var out []Active
	add := func(s *structs.Service, task, owner string) {
		if s == nil || (s.Provider != "" && s.Provider != structs.ServiceProviderNomad) {
			return
		}
		out = append(out, Active{Service: s, Task: task, Owner: owner, Name: serviceName(s, alloc, node, task)})
	}
	if alloc.ClientStatus == structs.AllocClientStatusRunning {
		for _, s := range tg.Services {
			add(s, "", "group-"+tg.Name)
		}
	}
	for _, t := range tg.Tasks {
		if ts := alloc.TaskStates[t.Name]; ts == nil || ts.State != structs.TaskStateRunning {
			continue
		}
		for _, s := range t.Services {
			add(s, t.Name, t.Name)
		}
	}
	return out
}

// Instances returns the service instances alloc should have registered in
// its present state, on node (see ActiveServices). The instances of a
// canary (DeploymentStatus.Canary; the client clears it in the copy it
// passes once the deployment promoted the canary) carry their services'
// canary_tags, when set, in place of their tags, as in Nomad. The caller
// owns them.
func Instances(alloc *structs.Allocation, node *structs.Node) []*structs.ServiceRegistration {
	active := ActiveServices(alloc, node)
	if len(active) == 0 {
		return nil
	}
	ns := alloc.Namespace
	if ns == "" {
		ns = alloc.Job.Namespace
	}
	dc := ""
	if node != nil {
		dc = node.Datacenter
	}
	canary := alloc.DeploymentStatus.IsCanary()
	out := make([]*structs.ServiceRegistration, 0, len(active))
	for _, as := range active {
		s := as.Service
		tags := s.Tags
		if canary && len(s.CanaryTags) > 0 {
			tags = s.CanaryTags
		}
		addr, port := Address(alloc, node, s.PortLabel, s.AddressMode)
		if s.Address != "" {
			addr = interpolate(s.Address, alloc, node, as.Task)
		}
		out = append(out, &structs.ServiceRegistration{
			ID:          structs.ServiceRegistrationID(alloc.ID, as.Owner, as.Name, s.PortLabel),
			ServiceName: as.Name, Namespace: ns, NodeID: alloc.NodeID, Datacenter: dc,
			JobID: alloc.JobID, AllocID: alloc.ID, Tags: interpolateAll(tags, alloc, node, as.Task),
			Address: addr, Port: port,
		})
	}
	return out
}

// Address returns where a service or check of alloc on node answers: the
// address of the port labelled label (or the node's) and the port, the host
// port for address modes auto and host, the port the task listens on ("to",
// else the host port) for alloc and driver. A label that is a number is that
// port; "" is port 0.
func Address(alloc *structs.Allocation, node *structs.Node, label, mode string) (string, int) {
	addr := "127.0.0.1"
	if node != nil {
		addr = node.HostIP()
	}
	if label == "" {
		return addr, 0
	}
	if n, err := strconv.Atoi(label); err == nil {
		return addr, n
	}
	if alloc.AllocatedResources == nil {
		return addr, 0
	}
	p, ok := alloc.AllocatedResources.Shared.Ports.Get(label)
	if !ok {
		return addr, 0
	}
	if p.HostIP != "" {
		addr = p.HostIP
	}
	if (mode == structs.AddressModeAlloc || mode == structs.AddressModeDriver) && p.To > 0 {
		return addr, p.To
	}
	return addr, p.Value
}
