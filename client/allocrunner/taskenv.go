package allocrunner

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/orch-io/orch/structs"
)

// taskEnvInput is what a task's environment is made of.
type taskEnvInput struct {
	Alloc    *structs.Allocation
	Task     *structs.Task
	Node     *structs.Node
	AllocDir string // the shared alloc directory
	TaskDir  string // the task's local directory
	Secrets  string // the task's secrets directory
	AgentEnv []string
}

// buildTaskEnv returns a task's environment, "KEY=value" sorted by key: the
// agent's environment (as Nomad's raw_exec passes it), overridden by the task's
// env block, overridden by the variables orch sets, each under both the ORCH_
// and the NOMAD_ prefix so that Nomad job files keep working. A task cannot
// change what orch tells it about itself. ${...} in the env block's values
// and in the task's meta is interpolated (interpolate) with the runtime
// variables and the node's; the meta is set as NOMAD_META_<key> (and
// ORCH_META_<key>), under the key as written and upper-cased with any
// character other than a letter, digit or '_' made '_'.
func buildTaskEnv(in taskEnvInput) []string {
	vars := interpolationVars(sortedEnv(taskEnvMap(in, in.Task.Env, nil)), nodeVars(in.Node, jobRegion(in.Alloc)))
	env := taskEnvMap(in, interpolateStrings(in.Task.Env, vars), interpolateStrings(taskMeta(in.Alloc, in.Task), vars))
	return sortedEnv(env)
}

// taskEnvMap is buildTaskEnv's environment with the given env block and meta.
func taskEnvMap(in taskEnvInput, taskEnv, meta map[string]string) map[string]string {
	env := make(map[string]string, len(in.AgentEnv)+len(taskEnv)+2*len(meta)+32)
	for _, kv := range in.AgentEnv {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env[k] = v
		}
	}
	maps.Copy(env, taskEnv)

	a := in.Alloc
	vars := map[string]string{
		"ALLOC_ID":    a.ID,
		"ALLOC_NAME":  a.Name,
		"ALLOC_INDEX": strconv.Itoa(a.Index()),
		"JOB_ID":      a.JobID,
		"GROUP_NAME":  a.TaskGroup,
		"TASK_NAME":   in.Task.Name,
		"ALLOC_DIR":   in.AllocDir,
		"TASK_DIR":    in.TaskDir,
		"SECRETS_DIR": in.Secrets,
	}
	if a.Job != nil {
		vars["JOB_NAME"] = a.Job.Name
		vars["NAMESPACE"] = a.Job.Namespace
		vars["REGION"] = a.Job.Region
	}
	if r := taskResources(a, in.Task); r != nil {
		vars["CPU_LIMIT"] = strconv.Itoa(r.CPU)
		vars["MEMORY_LIMIT"] = strconv.Itoa(r.MemoryMB)
	}
	if n := in.Node; n != nil {
		vars["DC"] = n.Datacenter
		vars["NODE_ID"] = n.ID
		vars["NODE_NAME"] = n.Name
	}
	addPortVars(vars, a, in.Node)
	for k, v := range meta {
		vars["META_"+k] = v
		vars["META_"+envKey(k)] = v
	}
	for k, v := range vars {
		env["ORCH_"+k] = v
		env["NOMAD_"+k] = v
	}
	return env
}

// envKey is a meta key as an environment variable name: upper case, with
// every character other than a letter, digit or '_' made '_'.
func envKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, k)
}

// sortedEnv returns env as "KEY=value" entries sorted by key.
func sortedEnv(env map[string]string) []string {
	keys := slices.Sorted(maps.Keys(env))
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + env[k]
	}
	return out
}

// jobRegion is the region of the allocation's job, "" when unknown.
func jobRegion(a *structs.Allocation) string {
	if a.Job == nil {
		return ""
	}
	return a.Job.Region
}

// addPortVars sets, for each host port allocated to the group, as Nomad does:
// PORT_<label> the port the task listens on (the mapping's "to" when set,
// else the host port), HOST_PORT_<label> the host port, IP_<label> and
// HOST_IP_<label> the address it is reachable at, ADDR_<label> and
// HOST_ADDR_<label> "ip:hostport". The address is the one the scheduler
// recorded, else the node's (structs.Node.HostIP; 127.0.0.1 when unknown).
func addPortVars(vars map[string]string, a *structs.Allocation, node *structs.Node) {
	if a.AllocatedResources == nil {
		return
	}
	for _, p := range a.AllocatedResources.Shared.Ports {
		ip := p.HostIP
		if ip == "" {
			ip = "127.0.0.1"
			if node != nil {
				ip = node.HostIP()
			}
		}
		host := strconv.Itoa(p.Value)
		listen := host
		if p.To > 0 {
			listen = strconv.Itoa(p.To)
		}
		addr := net.JoinHostPort(ip, host)
		vars["PORT_"+p.Label] = listen
		vars["HOST_PORT_"+p.Label] = host
		vars["IP_"+p.Label] = ip
		vars["HOST_IP_"+p.Label] = ip
		vars["ADDR_"+p.Label] = addr
		vars["HOST_ADDR_"+p.Label] = addr
	}
}

// taskResources is what the scheduler allocated to the task, or else what the
// task asked for; nil if neither is known.
func taskResources(a *structs.Allocation, t *structs.Task) *structs.Resources {
	if a.AllocatedResources != nil {
		if r := a.AllocatedResources.Tasks[t.Name]; r != nil {
			return r
		}
	}
	return t.Resources
}
