package serviceregistration

import (
	"strconv"

	"github.com/orch-io/orch/structs"
)

// Instances returns the service instances alloc should have registered in
// its present state, on node: none once the allocation is terminal (on
// either side); its group's services while its client status is running;
// each task's services while that task runs. The result is sorted as the
// job lists the services; the caller owns it.
func Instances(alloc *structs.Allocation, node *structs.Node) []*structs.ServiceRegistration {
	if alloc == nil || alloc.Job == nil || alloc.TerminalStatus() {
		return nil
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if tg == nil {
		return nil
	}
	var out []*structs.ServiceRegistration
	if alloc.ClientStatus == structs.AllocClientStatusRunning {
		for _, s := range tg.Services {
			out = appendInstance(out, alloc, node, s, "", "group-"+tg.Name)
		}
	}
	for _, t := range tg.Tasks {
		if ts := alloc.TaskStates[t.Name]; ts == nil || ts.State != structs.TaskStateRunning {
			continue
		}
		for _, s := range t.Services {
			out = appendInstance(out, alloc, node, s, t.Name, t.Name)
		}
	}
	return out
}

func appendInstance(out []*structs.ServiceRegistration, alloc *structs.Allocation, node *structs.Node, s *structs.Service, task, owner string) []*structs.ServiceRegistration {
	if s == nil || (s.Provider != "" && s.Provider != structs.ServiceProviderNomad) {
		return out
	}
	name := s.ServiceName(alloc.Job.Name, alloc.TaskGroup, task)
	addr, port := Address(alloc, node, s.PortLabel, s.AddressMode)
	if s.Address != "" {
		addr = s.Address
	}
	ns := alloc.Namespace
	if ns == "" {
		ns = alloc.Job.Namespace
	}
	dc := ""
	if node != nil {
		dc = node.Datacenter
	}
	return append(out, &structs.ServiceRegistration{
		ID:          structs.ServiceRegistrationID(alloc.ID, owner, name, s.PortLabel),
		ServiceName: name, Namespace: ns, NodeID: alloc.NodeID, Datacenter: dc,
		JobID: alloc.JobID, AllocID: alloc.ID, Tags: append([]string(nil), s.Tags...),
		Address: addr, Port: port,
	})
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
