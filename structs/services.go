package structs

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Services: a group's or a task's `service` blocks, registered by the client
// in the servers' built-in registry (provider "nomad") while what they
// describe runs, and the checks the client runs against them. Field names are
// Nomad's (API JSON: Service, ServiceCheck, CheckRestart).

// Service providers. orch has only its own registry; Nomad's "nomad" provider
// is it, and a service that names none uses it.
const (
	ServiceProviderNomad  = "nomad"
	ServiceProviderConsul = "consul"
)

// Address modes of a service or check, as in Nomad. With host networking
// (the only mode orch has) they all come to the node's address and the
// allocated host port, except "driver", which is refused for services that
// use a port label (orch's drivers report no network of their own yet).
const (
	AddressModeAuto   = "auto"
	AddressModeHost   = "host"
	AddressModeDriver = "driver"
	AddressModeAlloc  = "alloc"
)

// Check types.
const (
	CheckTypeHTTP   = "http"
	CheckTypeTCP    = "tcp"
	CheckTypeGRPC   = "grpc"
	CheckTypeScript = "script"
)

// Check statuses, as in Nomad (and Consul).
const (
	CheckStatusPassing  = "passing"
	CheckStatusWarning  = "warning"
	CheckStatusCritical = "critical"
)

// on_update values of a check: how its status counts for a deployment's
// health (and a migration's).
const (
	// OnUpdateRequireHealthy: the allocation is healthy only while the check
	// passes (the default).
	OnUpdateRequireHealthy = "require_healthy"
	// OnUpdateIgnoreWarnings: a warning counts as passing.
	OnUpdateIgnoreWarnings = "ignore_warnings"
	// OnUpdateIgnore: the check does not count.
	OnUpdateIgnore = "ignore"
)

// Check limits, as in Nomad: an interval or timeout below a second would make
// checks a load of their own.
const (
	MinCheckInterval = time.Second
	MinCheckTimeout  = time.Second
	// DefaultCheckTimeout is what Canonicalize gives a check without one.
	DefaultCheckTimeout = 5 * time.Second
)

// Service is one `service` block of a group (TaskName "") or a task.
type Service struct {
	// Name may hold ${NOMAD_JOB_NAME}, ${NOMAD_GROUP_NAME}, ${NOMAD_TASK_NAME}
	// (or their ORCH_ and Nomad's ${JOB}, ${TASKGROUP}, ${TASK}, ${BASE}
	// spellings); ServiceName interpolates them. Canonicalize gives a
	// service without a name "<job>-<group>[-<task>]", as Nomad does.
	Name string
	// TaskName is the task a group service's script checks run in; set by
	// Canonicalize on task services.
	TaskName string
	// PortLabel is the label of a port of the group's network, or a port
	// number; "" registers the address without a port (0).
	PortLabel   string
	AddressMode string
	// Address, if set, is registered instead of the node's.
	Address    string
	Tags       []string
	CanaryTags []string
	Provider   string
	Meta       map[string]string
	// CanaryMeta is a canary's meta (Nomad's canary_meta); like Meta it is
	// kept in the job: the built-in registry, as Nomad's, stores neither.
	CanaryMeta map[string]string
	Checks     []*ServiceCheck
}

// ServiceCheck is one `check` block of a service.
type ServiceCheck struct {
	Name string
	Type string // http, tcp, grpc or script
	// Command and Args are a script check's command, run in the task
	// (TaskName, for a group service's check) through the driver's exec.
	Command  string
	Args     []string
	TaskName string
	// Path, Method, Protocol, Header and Body shape an http check's request.
	Path     string
	Method   string
	Protocol string // "http" (default) or "https"
	Header   map[string][]string
	Body     string
	// PortLabel overrides the service's port; AddressMode its address mode.
	PortLabel   string
	AddressMode string
	Interval    time.Duration
	Timeout     time.Duration
	// InitialStatus is the check's status before its first result; "" is
	// critical.
	InitialStatus string
	// SuccessBeforePassing and FailuresBeforeCritical hold the status back
	// until that many consecutive results agree (0: the first result counts).
	SuccessBeforePassing   int
	FailuresBeforeCritical int
	OnUpdate               string
	// GRPCService is the service a grpc check asks the standard health
	// service about ("": the server as a whole).
	GRPCService   string
	GRPCUseTLS    bool
	TLSSkipVerify bool
	// CheckRestart restarts the task after Limit consecutive critical
	// results (every task of the allocation, for a group service's check
	// that names none); nil never restarts.
	CheckRestart *CheckRestart
}

// CheckRestart is a check's `check_restart` block.
type CheckRestart struct {
	// Limit is how many consecutive critical results restart the task (0:
	// never).
	Limit int
	// Grace is how long after the task (re)starts results do not count.
	Grace time.Duration
	// IgnoreWarnings counts a warning as passing.
	IgnoreWarnings bool
}

// ServiceName returns s.Name with the job, group and task names interpolated
// (see Service.Name). References it does not know are left as written.
func (s *Service) ServiceName(job, group, task string) string {
	return InterpolateNames(s.Name, job, group, task)
}

// InterpolateNames replaces the references to the job's, group's and task's
// names in text: ${NOMAD_JOB_NAME} (and ${NOMAD_JOB_ID}, ${ORCH_JOB_NAME},
// ${ORCH_JOB_ID}, ${JOB}), ${NOMAD_GROUP_NAME} (${ORCH_GROUP_NAME},
// ${TASKGROUP}), ${NOMAD_TASK_NAME} (${ORCH_TASK_NAME}, ${TASK}) and ${BASE}
// ("<job>-<group>[-<task>]").
func InterpolateNames(text, job, group, task string) string {
	if !strings.Contains(text, "${") {
		return text
	}
	base := job + "-" + group
	if task != "" {
		base += "-" + task
	}
	pairs := []string{"${BASE}", base, "${JOB}", job, "${TASKGROUP}", group, "${TASK}", task}
	for _, p := range []string{"NOMAD_", "ORCH_"} {
		pairs = append(pairs,
			"${"+p+"JOB_NAME}", job, "${"+p+"JOB_ID}", job,
			"${"+p+"GROUP_NAME}", group, "${"+p+"TASK_NAME}", task)
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// Copy returns a deep copy of the service.
func (s *Service) Copy() *Service {
	if s == nil {
		return nil
	}
	c := *s
	c.Tags = slices.Clone(s.Tags)
	c.CanaryTags = slices.Clone(s.CanaryTags)
	c.Meta = maps.Clone(s.Meta)
	c.CanaryMeta = maps.Clone(s.CanaryMeta)
	if s.Checks != nil {
		c.Checks = make([]*ServiceCheck, len(s.Checks))
		for i, ch := range s.Checks {
			c.Checks[i] = ch.Copy()
		}
	}
	return &c
}

// Copy returns a deep copy of the check.
func (c *ServiceCheck) Copy() *ServiceCheck {
	if c == nil {
		return nil
	}
	out := *c
	out.Args = slices.Clone(c.Args)
	if c.Header != nil {
		out.Header = make(map[string][]string, len(c.Header))
		for k, v := range c.Header {
			out.Header[k] = slices.Clone(v)
		}
	}
	out.CheckRestart = clonePtr(c.CheckRestart)
	return &out
}

func copyServices(ss []*Service) []*Service {
	if ss == nil {
		return nil
	}
	out := make([]*Service, len(ss))
	for i, s := range ss {
		out[i] = s.Copy()
	}
	return out
}

// canonicalizeServices fills the defaults of the services of a group (task
// "") or a task, as Nomad does: the name "<job>-<group>[-<task>]", provider
// "nomad", address mode "auto"; a check's name `service: "<name>" check`,
// timeout 5s when zero, method GET and protocol http for http checks,
// on_update require_healthy; a task service's checks run in its task.
func canonicalizeServices(ss []*Service, job, group, task string) {
	for _, s := range ss {
		if s == nil {
			continue
		}
		if s.Name == "" {
			s.Name = "${BASE}"
		}
		if s.Provider == "" {
			s.Provider = ServiceProviderNomad
		}
		if s.AddressMode == "" {
			s.AddressMode = AddressModeAuto
		}
		if task != "" {
			s.TaskName = task
		}
		for _, c := range s.Checks {
			if c == nil {
				continue
			}
			if c.Name == "" {
				c.Name = `service: "` + s.ServiceName(job, group, task) + `" check`
			}
			if c.Timeout == 0 {
				c.Timeout = DefaultCheckTimeout
			}
			if c.Type == CheckTypeHTTP {
				if c.Method == "" {
					c.Method = "GET"
				}
				if c.Protocol == "" {
					c.Protocol = "http"
				}
			}
			if c.OnUpdate == "" {
				c.OnUpdate = OnUpdateRequireHealthy
			}
			if task != "" && c.TaskName == "" {
				c.TaskName = task
			}
		}
	}
}

// ServiceRegistration is one instance of a service in the registry: a
// service of one allocation (its group's or one of its tasks'), at an
// address. The client that runs the allocation registers it; the servers
// remove it once the allocation is terminal or its node down. JSON as
// Nomad's API.
type ServiceRegistration struct {
	// ID is unique per allocation, service and port:
	// "_nomad-task-<alloc>-<task>-<service>-<port>", or with
	// "group-<group>" in place of the task for a group service, as Nomad's.
	ID          string
	ServiceName string
	Namespace   string
	NodeID      string
	Datacenter  string
	JobID       string
	AllocID     string
	Tags        []string
	Address     string
	Port        int
	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a deep copy.
func (r *ServiceRegistration) Copy() *ServiceRegistration {
	if r == nil {
		return nil
	}
	c := *r
	c.Tags = slices.Clone(r.Tags)
	return &c
}

// SameInstance reports whether r and o register the same thing (the indexes
// aside): a registration sent again unchanged changes nothing.
func (r *ServiceRegistration) SameInstance(o *ServiceRegistration) bool {
	return r.ID == o.ID && r.ServiceName == o.ServiceName && r.Namespace == o.Namespace &&
		r.NodeID == o.NodeID && r.Datacenter == o.Datacenter && r.JobID == o.JobID &&
		r.AllocID == o.AllocID && slices.Equal(r.Tags, o.Tags) && r.Address == o.Address && r.Port == o.Port
}

// ServiceRegistrationID is the ID of the registration of service name at
// port of an allocation; owner is the task's name, or "group-<group>" for a
// group service.
func ServiceRegistrationID(allocID, owner, name, port string) string {
	return "_nomad-task-" + allocID + "-" + owner + "-" + name + "-" + port
}

// ServiceRegistrationListStub is one service of a namespace in a service
// list: its name and the union of its instances' tags.
type ServiceRegistrationListStub struct {
	ServiceName string
	Tags        []string
}

// ServiceRegistrationNamespaceList is the services of one namespace, as
// Nomad's GET /v1/services lists them.
type ServiceRegistrationNamespaceList struct {
	Namespace string
	Services  []*ServiceRegistrationListStub
}

// ServiceList groups instances by namespace and service name, with the union
// of each service's tags, sorted, as GET /v1/services lists them. namespace
// "" or "*" keeps every namespace.
func ServiceList(regs []*ServiceRegistration, namespace string) []*ServiceRegistrationNamespaceList {
	byNS := map[string]map[string]map[string]bool{} // namespace → service → tags
	for _, r := range regs {
		if namespace != "" && namespace != "*" && r.Namespace != namespace {
			continue
		}
		svcs := byNS[r.Namespace]
		if svcs == nil {
			svcs = map[string]map[string]bool{}
			byNS[r.Namespace] = svcs
		}
		tags := svcs[r.ServiceName]
		if tags == nil {
			tags = map[string]bool{}
			svcs[r.ServiceName] = tags
		}
		for _, t := range r.Tags {
			tags[t] = true
		}
	}
	out := make([]*ServiceRegistrationNamespaceList, 0, len(byNS))
	for ns, svcs := range byNS {
		l := &ServiceRegistrationNamespaceList{Namespace: ns}
		for name, tags := range svcs {
			stub := &ServiceRegistrationListStub{ServiceName: name, Tags: make([]string, 0, len(tags))}
			for t := range tags {
				stub.Tags = append(stub.Tags, t)
			}
			slices.Sort(stub.Tags)
			l.Services = append(l.Services, stub)
		}
		slices.SortFunc(l.Services, func(a, b *ServiceRegistrationListStub) int { return strings.Compare(a.ServiceName, b.ServiceName) })
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b *ServiceRegistrationNamespaceList) int { return strings.Compare(a.Namespace, b.Namespace) })
	return out
}

// ServicesWithTag returns the instances that carry tag ("" keeps all).
func ServicesWithTag(regs []*ServiceRegistration, tag string) []*ServiceRegistration {
	if tag == "" {
		return regs
	}
	var out []*ServiceRegistration
	for _, r := range regs {
		if slices.Contains(r.Tags, tag) {
			out = append(out, r)
		}
	}
	return out
}

// ChooseServices picks n instances for key by rendezvous hashing (as
// Nomad's ?choose=N|key): every instance is scored by a hash of key and its
// ID, and the n best are returned, best first. The same key gets the same
// instances while they exist, and losing one instance moves only the keys
// that had it.
func ChooseServices(regs []*ServiceRegistration, n int, key string) []*ServiceRegistration {
	type scored struct {
		r     *ServiceRegistration
		score uint64
	}
	all := make([]scored, len(regs))
	for i, r := range regs {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(r.ID))
		all[i] = scored{r, h.Sum64()}
	}
	slices.SortFunc(all, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	out := make([]*ServiceRegistration, 0, min(n, len(all)))
	for _, s := range all[:min(max(n, 0), len(all))] {
		out = append(out, s.r)
	}
	return out
}

// ParseChoose parses a ?choose= value, "N|key" with N >= 1.
func ParseChoose(v string) (int, string, error) {
	ns, key, ok := strings.Cut(v, "|")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 1 || key == "" {
		return 0, "", fmt.Errorf("choose = %q: must be N|key, N a number >= 1 and key not empty", v)
	}
	return n, key, nil
}
