package structs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// validServiceName is Nomad's rule for a service name once interpolated: an
// RFC 1123 label (letters, digits and dashes, not starting or ending with a
// dash, at most 63 characters), so that it can be a DNS name.
var validServiceName = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])$`)

// services validates the service blocks of tg (task nil) or of one of its
// tasks. Fields are named "service[i]...." relative to the group or task.
func (v *validator) services(ss []*Service, jobName string, tg *TaskGroup, task *Task) {
	taskName := ""
	if task != nil {
		taskName = task.Name
	}
	for i, s := range ss {
		field := fmt.Sprintf("service[%d]", i)
		if s == nil {
			v.add(field, "", "must not be null")
			continue
		}
		name := s.ServiceName(jobName, tg.Name, taskName)
		v.interpolated(field+".name", s.Name)
		if !strings.Contains(name, "${") && !validServiceName.MatchString(name) {
			v.add(field+".name", strconv.Quote(s.Name),
				fmt.Sprintf("becomes %q: a service name must be letters, digits and dashes, not starting or ending with a dash, at most 63 characters", name))
		}
		switch s.Provider {
		case ServiceProviderNomad:
		case ServiceProviderConsul:
			v.add(field+".provider", strconv.Quote(s.Provider), `is not supported: orch has no Consul integration; use "nomad", its built-in registry`)
		default:
			v.add(field+".provider", strconv.Quote(s.Provider), `must be "nomad"`)
		}
		v.addressMode(field+".address_mode", s.AddressMode)
		if s.AddressMode == AddressModeDriver && s.PortLabel != "" {
			v.add(field+".address_mode", strconv.Quote(s.AddressMode), "is not supported yet: orch's drivers report no address of their own; use \"auto\" or \"host\"")
		}
		v.servicePort(field+".port", s.PortLabel, tg)
		for j, tag := range s.Tags {
			v.text(fmt.Sprintf("%s.tags[%d]", field, j), tag, v.limits.JobMaxStringLength)
		}
		for j, tag := range s.CanaryTags {
			v.text(fmt.Sprintf("%s.canary_tags[%d]", field, j), tag, v.limits.JobMaxStringLength)
		}
		v.stringMap(field+".meta", s.Meta)
		names := map[string]bool{}
		for j, c := range s.Checks {
			cf := fmt.Sprintf("%s.check[%d]", field, j)
			if c == nil {
				v.add(cf, "", "must not be null")
				continue
			}
			if names[c.Name] {
				v.add(cf+".name", strconv.Quote(c.Name), "another check of the service has the same name")
			}
			names[c.Name] = true
			v.check(cf, c, s, tg)
		}
	}
}

func (v *validator) addressMode(field, mode string) {
	switch mode {
	case AddressModeAuto, AddressModeHost, AddressModeDriver, AddressModeAlloc:
	default:
		v.add(field, strconv.Quote(mode), `must be "auto", "host", "driver" or "alloc"`)
	}
}

// servicePort checks a service's or check's port: "" (none), a number within
// 1..65535, or the label of a port of the group's network.
func (v *validator) servicePort(field, label string, tg *TaskGroup) {
	if label == "" {
		return
	}
	if n, err := strconv.Atoi(label); err == nil {
		if n < MinPort || n > MaxPort {
			v.add(field, strconv.Quote(label), fmt.Sprintf("a port number must be between %d and %d", MinPort, MaxPort))
		}
		return
	}
	if _, ok := GroupPortLabels(tg)[label]; !ok {
		v.add(field, strconv.Quote(label), "must be the label of a port of the group's network block, or a port number")
	}
}

// GroupPortLabels returns the labels of the ports of the group's network.
func GroupPortLabels(tg *TaskGroup) map[string]bool {
	out := map[string]bool{}
	for _, n := range tg.Networks {
		if n == nil {
			continue
		}
		for _, p := range n.ReservedPorts {
			out[p.Label] = true
		}
		for _, p := range n.DynamicPorts {
			out[p.Label] = true
		}
	}
	return out
}

// check validates one check of service s of group tg.
func (v *validator) check(field string, c *ServiceCheck, s *Service, tg *TaskGroup) {
	switch c.Type {
	case CheckTypeHTTP:
		if c.Path == "" {
			v.add(field+".path", `""`, "an http check needs a path")
		} else if !strings.HasPrefix(c.Path, "/") && !strings.Contains(c.Path, "://") {
			v.add(field+".path", strconv.Quote(c.Path), `must start with "/"`)
		}
		switch c.Protocol {
		case "http", "https":
		default:
			v.add(field+".protocol", strconv.Quote(c.Protocol), `must be "http" or "https"`)
		}
	case CheckTypeTCP:
	case CheckTypeGRPC:
	case CheckTypeScript:
		if c.Command == "" {
			v.add(field+".command", `""`, "a script check needs a command")
		}
		if c.TaskName == "" {
			v.add(field+".task", `""`, "a script check of a group service must name the task it runs in")
		} else if tg.LookupTask(c.TaskName) == nil {
			v.add(field+".task", strconv.Quote(c.TaskName), "must be a task of the group")
		}
	case "":
		v.add(field+".type", `""`, `must be set: "http", "tcp", "grpc" or "script"`)
	default:
		v.add(field+".type", strconv.Quote(c.Type), `must be "http", "tcp", "grpc" or "script"`)
	}
	if c.Type == CheckTypeHTTP || c.Type == CheckTypeTCP || c.Type == CheckTypeGRPC {
		if c.PortLabel == "" && s.PortLabel == "" {
			v.add(field+".port", `""`, fmt.Sprintf("a %s check needs a port: set one on the check or on its service", c.Type))
		}
		v.servicePort(field+".port", c.PortLabel, tg)
	}
	if c.AddressMode != "" {
		v.addressMode(field+".address_mode", c.AddressMode)
	}
	if c.Interval < MinCheckInterval {
		v.add(field+".interval", quoteDuration(c.Interval), fmt.Sprintf("must be at least %v", MinCheckInterval))
	}
	if c.Timeout < MinCheckTimeout {
		v.add(field+".timeout", quoteDuration(c.Timeout), fmt.Sprintf("must be at least %v", MinCheckTimeout))
	}
	switch c.InitialStatus {
	case "", CheckStatusPassing, CheckStatusWarning, CheckStatusCritical:
	default:
		v.add(field+".initial_status", strconv.Quote(c.InitialStatus), `must be "passing", "warning" or "critical"`)
	}
	switch c.OnUpdate {
	case OnUpdateRequireHealthy, OnUpdateIgnoreWarnings, OnUpdateIgnore:
	default:
		v.add(field+".on_update", strconv.Quote(c.OnUpdate), `must be "require_healthy", "ignore_warnings" or "ignore"`)
	}
	if c.SuccessBeforePassing < 0 {
		v.add(field+".success_before_passing", strconv.Itoa(c.SuccessBeforePassing), "must be >= 0")
	}
	if c.FailuresBeforeCritical < 0 {
		v.add(field+".failures_before_critical", strconv.Itoa(c.FailuresBeforeCritical), "must be >= 0")
	}
	if r := c.CheckRestart; r != nil {
		if r.Limit < 0 {
			v.add(field+".check_restart.limit", strconv.Itoa(r.Limit), "must be >= 0")
		}
		if r.Grace < 0 {
			v.add(field+".check_restart.grace", quoteDuration(r.Grace), "must be >= 0")
		}
	}
	for k := range c.Header {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			v.add(field+".header", strconv.Quote(k), "a header name must not be empty nor hold spaces, colons or line breaks")
		}
	}
}
