package serviceregistration

import (
	"maps"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/orch-io/orch/structs"
)

// Service names, tags (and canary tags) and addresses are interpolated on
// the client before registration, as Nomad interpolates them with the
// task's environment: the job, group and task names
// (structs.InterpolateNames: ${NOMAD_JOB_NAME}, ${BASE}, ...), then the
// allocation's runtime variables (${NOMAD_ALLOC_INDEX}, ${NOMAD_DC},
// ${NOMAD_REGION}, ${NOMAD_NAMESPACE}, ${NOMAD_META_<key>}, the ports'
// ${NOMAD_PORT_<label>}, ${NOMAD_HOST_PORT_<label>}, ${NOMAD_IP_<label>},
// ${NOMAD_ADDR_<label>}; also as ORCH_), and the node's (${meta.<key>},
// ${attr.<name>}, ${node.datacenter|unique.id|unique.name|class|region|pool}).
// A reference none of them holds is left as written, as Nomad leaves it.

var refRE = regexp.MustCompile(`\$\{([A-Za-z0-9_.\-\[\]]+)\}`)

// serviceName is the name of service s of alloc's task (or group, task "")
// on node (nil: unknown, node references stay).
func serviceName(s *structs.Service, alloc *structs.Allocation, node *structs.Node, task string) string {
	return interpolate(s.Name, alloc, node, task)
}

// InterpolateCheck returns c with its address-like texts (path, command,
// args, header values, body) interpolated as a service's are: c itself when
// none holds a reference, else a copy.
func InterpolateCheck(c *structs.ServiceCheck, alloc *structs.Allocation, node *structs.Node, task string) *structs.ServiceCheck {
	refs := strings.Contains(c.Path, "${") || strings.Contains(c.Command, "${") || strings.Contains(c.Body, "${")
	for _, a := range c.Args {
		refs = refs || strings.Contains(a, "${")
	}
	for _, vs := range c.Header {
		for _, v := range vs {
			refs = refs || strings.Contains(v, "${")
		}
	}
	if !refs {
		return c
	}
	out := c.Copy()
	out.Path = interpolate(c.Path, alloc, node, task)
	out.Command = interpolate(c.Command, alloc, node, task)
	out.Body = interpolate(c.Body, alloc, node, task)
	out.Args = interpolateAll(c.Args, alloc, node, task)
	for k, vs := range out.Header {
		out.Header[k] = interpolateAll(vs, alloc, node, task)
	}
	return out
}

// Interpolate is text (a service's address) of alloc's task (or group,
// task "") with its references replaced, as registration does.
func Interpolate(text string, alloc *structs.Allocation, node *structs.Node, task string) string {
	return interpolate(text, alloc, node, task)
}

// interpolate is text (a service's name, a tag, an address) of alloc's
// task (or group, task "") with its references replaced.
func interpolate(text string, alloc *structs.Allocation, node *structs.Node, task string) string {
	text = structs.InterpolateNames(text, alloc.Job.Name, alloc.TaskGroup, task)
	if !strings.Contains(text, "${") {
		return text
	}
	vars := nameVars(alloc, node, task)
	return refRE.ReplaceAllStringFunc(text, func(ref string) string {
		if v, ok := vars[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}

// interpolateAll is interpolate of each of texts, in a new slice.
func interpolateAll(texts []string, alloc *structs.Allocation, node *structs.Node, task string) []string {
	if texts == nil {
		return nil
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = interpolate(t, alloc, node, task)
	}
	return out
}

// nameVars are the variables a service name may reference. Pure.
func nameVars(alloc *structs.Allocation, node *structs.Node, task string) map[string]string {
	rt := map[string]string{
		"ALLOC_ID": alloc.ID, "ALLOC_NAME": alloc.Name, "ALLOC_INDEX": strconv.Itoa(alloc.Index()),
		"JOB_ID": alloc.JobID, "NAMESPACE": alloc.Job.Namespace, "REGION": alloc.Job.Region,
	}
	meta := maps.Clone(alloc.Job.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	if tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup); tg != nil {
		maps.Copy(meta, tg.Meta)
		for _, t := range tg.Tasks {
			if t.Name == task {
				maps.Copy(meta, t.Meta)
			}
		}
	}
	for k, v := range meta {
		rt["META_"+k] = v
	}
	if alloc.AllocatedResources != nil {
		for _, p := range alloc.AllocatedResources.Shared.Ports {
			ip, _ := Address(alloc, node, p.Label, structs.AddressModeHost)
			host := strconv.Itoa(p.Value)
			listen := host
			if p.To > 0 {
				listen = strconv.Itoa(p.To)
			}
			rt["PORT_"+p.Label], rt["HOST_PORT_"+p.Label] = listen, host
			rt["IP_"+p.Label], rt["HOST_IP_"+p.Label] = ip, ip
			rt["ADDR_"+p.Label], rt["HOST_ADDR_"+p.Label] = net.JoinHostPort(ip, host), net.JoinHostPort(ip, host)
		}
	}
	vars := map[string]string{}
	if node != nil {
		rt["DC"], rt["NODE_ID"], rt["NODE_NAME"] = node.Datacenter, node.ID, node.Name
		vars["node.datacenter"], vars["node.unique.id"], vars["node.unique.name"] = node.Datacenter, node.ID, node.Name
		vars["node.class"], vars["node.pool"], vars["node.region"] = node.NodeClass, node.NodePool, alloc.Job.Region
		for k, v := range node.Meta {
			vars["meta."+k] = v
		}
		for k, v := range node.Attributes {
			vars["attr."+k] = v
		}
	}
	for k, v := range rt {
		vars["NOMAD_"+k], vars["ORCH_"+k] = v, v
	}
	return vars
}
