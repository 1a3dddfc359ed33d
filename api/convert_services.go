package api

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// Conversions between the wire types of services, checks, templates and
// check results and structs (see wire.go).

// servicesToStructs converts a group's or a task's services. A service's
// CheckRestart, OnUpdate and TaskName are the defaults of its checks', as in
// Nomad and orch's jobspec.
func servicesToStructs(w []*Service) []*structs.Service {
	if w == nil {
		return nil
	}
	out := make([]*structs.Service, len(w))
	for i, s := range w {
		if s == nil {
			continue // Validate names it
		}
		svc := &structs.Service{
			Name: s.Name, TaskName: s.TaskName, PortLabel: s.PortLabel, AddressMode: s.AddressMode, Address: s.Address,
			Tags: s.Tags, CanaryTags: s.CanaryTags, Provider: s.Provider, Meta: s.Meta, CanaryMeta: s.CanaryMeta,
		}
		if s.Checks != nil {
			svc.Checks = make([]*structs.ServiceCheck, len(s.Checks))
			for k := range s.Checks {
				c := checkToStructs(&s.Checks[k])
				if c.CheckRestart == nil {
					c.CheckRestart = checkRestartToStructs(s.CheckRestart)
				}
				if c.OnUpdate == "" {
					c.OnUpdate = s.OnUpdate
				}
				if c.TaskName == "" {
					c.TaskName = s.TaskName
				}
				svc.Checks[k] = c
			}
		}
		out[i] = svc
	}
	return out
}

func checkToStructs(c *ServiceCheck) *structs.ServiceCheck {
	return &structs.ServiceCheck{
		Name: c.Name, Type: c.Type, Command: c.Command, Args: c.Args, TaskName: c.TaskName,
		Path: c.Path, Method: c.Method, Protocol: c.Protocol, Header: c.Header, Body: c.Body,
		PortLabel: c.PortLabel, AddressMode: c.AddressMode, Interval: c.Interval, Timeout: c.Timeout,
		InitialStatus: c.InitialStatus, SuccessBeforePassing: c.SuccessBeforePassing,
		FailuresBeforeCritical: c.FailuresBeforeCritical, OnUpdate: c.OnUpdate,
		GRPCService: c.GRPCService, GRPCUseTLS: c.GRPCUseTLS, TLSSkipVerify: c.TLSSkipVerify,
		CheckRestart: checkRestartToStructs(c.CheckRestart),
	}
}

func checkRestartToStructs(w *CheckRestart) *structs.CheckRestart {
	if w == nil {
		return nil
	}
	return &structs.CheckRestart{Limit: w.Limit, Grace: deref(w.Grace, 0), IgnoreWarnings: w.IgnoreWarnings}
}

// templatesToStructs converts a task's templates; an absent splay is
// Nomad's default, as in orch's jobspec.
func templatesToStructs(w []*Template) []*structs.Template {
	if w == nil {
		return nil
	}
	out := make([]*structs.Template, len(w))
	for i, t := range w {
		if t == nil {
			continue // Validate names it
		}
		out[i] = &structs.Template{
			SourcePath: deref(t.SourcePath, ""), EmbeddedTmpl: deref(t.EmbeddedTmpl, ""), DestPath: deref(t.DestPath, ""),
			ChangeMode: deref(t.ChangeMode, ""), ChangeSignal: deref(t.ChangeSignal, ""),
			Splay: deref(t.Splay, structs.DefaultTemplateSplay), Perms: deref(t.Perms, ""),
			LeftDelim: deref(t.LeftDelim, ""), RightDelim: deref(t.RightDelim, ""),
			Envvars: deref(t.Envvars, false), ErrMissingKey: deref(t.ErrMissingKey, false),
		}
		if cs := t.ChangeScript; cs != nil {
			out[i].ChangeScript = &structs.ChangeScript{Command: deref(cs.Command, ""), Args: cs.Args,
				Timeout: deref(cs.Timeout, 0), FailOnError: deref(cs.FailOnError, false)}
		}
		if w := t.Wait; w != nil {
			out[i].Wait = &structs.TemplateWait{Min: deref(w.Min, 0), Max: deref(w.Max, 0)}
		}
	}
	return out
}

func servicesFromStructs(ss []*structs.Service) []*Service {
	if ss == nil {
		return nil
	}
	out := make([]*Service, len(ss))
	for i, s := range ss {
		if s == nil {
			continue
		}
		w := &Service{
			Name: s.Name, Tags: s.Tags, CanaryTags: s.CanaryTags, PortLabel: s.PortLabel, AddressMode: s.AddressMode,
			Address: s.Address, Meta: s.Meta, CanaryMeta: s.CanaryMeta, TaskName: s.TaskName, Provider: s.Provider,
		}
		if s.Checks != nil {
			w.Checks = make([]ServiceCheck, 0, len(s.Checks))
			for _, c := range s.Checks {
				if c != nil {
					w.Checks = append(w.Checks, checkFromStructs(c))
				}
			}
		}
		out[i] = w
	}
	return out
}

func checkFromStructs(c *structs.ServiceCheck) ServiceCheck {
	w := ServiceCheck{
		Name: c.Name, Type: c.Type, Command: c.Command, Args: c.Args, Path: c.Path, Protocol: c.Protocol,
		PortLabel: c.PortLabel, AddressMode: c.AddressMode, Interval: c.Interval, Timeout: c.Timeout,
		InitialStatus: c.InitialStatus, TLSSkipVerify: c.TLSSkipVerify, Header: c.Header, Method: c.Method, Body: c.Body,
		GRPCService: c.GRPCService, GRPCUseTLS: c.GRPCUseTLS, TaskName: c.TaskName,
		SuccessBeforePassing: c.SuccessBeforePassing, FailuresBeforeCritical: c.FailuresBeforeCritical, OnUpdate: c.OnUpdate,
	}
	if r := c.CheckRestart; r != nil {
		w.CheckRestart = &CheckRestart{Limit: r.Limit, Grace: ptr(r.Grace), IgnoreWarnings: r.IgnoreWarnings}
	}
	return w
}

func templatesFromStructs(ts []*structs.Template) []*Template {
	if ts == nil {
		return nil
	}
	out := make([]*Template, len(ts))
	for i, t := range ts {
		if t == nil {
			continue
		}
		out[i] = &Template{
			SourcePath: ptr(t.SourcePath), DestPath: ptr(t.DestPath), EmbeddedTmpl: ptr(t.EmbeddedTmpl),
			ChangeMode: ptr(t.ChangeMode), ChangeSignal: ptr(t.ChangeSignal), Splay: ptr(t.Splay), Perms: ptr(t.Perms),
			LeftDelim: ptr(t.LeftDelim), RightDelim: ptr(t.RightDelim), Envvars: ptr(t.Envvars), ErrMissingKey: ptr(t.ErrMissingKey),
		}
		if cs := t.ChangeScript; cs != nil {
			out[i].ChangeScript = &ChangeScript{Command: ptr(cs.Command), Args: cs.Args, Timeout: ptr(cs.Timeout), FailOnError: ptr(cs.FailOnError)}
		}
		if w := t.Wait; w != nil {
			out[i].Wait = &WaitConfig{Min: ptr(w.Min), Max: ptr(w.Max)}
		}
	}
	return out
}

// ChecksFromStructs is an allocation's check results on the wire, keyed by
// check ID.
func ChecksFromStructs(results []*structs.CheckQueryResult) map[string]*AllocCheckStatus {
	out := make(map[string]*AllocCheckStatus, len(results))
	for _, r := range results {
		if r == nil {
			continue
		}
		ts := int64(0)
		if r.Timestamp != 0 {
			ts = time.Unix(0, r.Timestamp).Unix()
		}
		out[r.ID] = &AllocCheckStatus{
			ID: r.ID, Check: r.Check, Group: r.Group, Mode: r.Mode, Output: r.Output, Service: r.Service,
			Task: r.Task, Status: r.Status, StatusCode: r.StatusCode, Timestamp: ts,
		}
	}
	return out
}

// ChecksToStructs is ChecksFromStructs' inverse, to the second: what
// Nomad's shape lacks (the check's type and on_update, HealthySince) is
// left zero.
func ChecksToStructs(w map[string]*AllocCheckStatus) map[string]*structs.CheckQueryResult {
	out := make(map[string]*structs.CheckQueryResult, len(w))
	for id, r := range w {
		if r == nil {
			continue
		}
		out[id] = &structs.CheckQueryResult{
			ID: r.ID, Check: r.Check, Group: r.Group, Mode: r.Mode, Output: r.Output, Service: r.Service,
			Task: r.Task, Status: r.Status, StatusCode: r.StatusCode, Timestamp: time.Unix(r.Timestamp, 0).UnixNano(),
		}
		if r.Timestamp == 0 {
			out[id].Timestamp = 0
		}
	}
	return out
}
