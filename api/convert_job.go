package api

import (
	"fmt"
	"strings"

	"github.com/orch-io/orch/structs"
)

// Conversions between the job's wire types and structs: the one place the
// two meet (see wire.go).

// CheckSupported refuses a request value (a job, a register body) that sets
// a field of Nomad's JSON orch does not act on, naming each such field under
// root ("Job.TaskGroups[0].Tasks[0].Vault").
func CheckSupported(root string, v any) error {
	fields := UnsupportedFields(root, v)
	switch len(fields) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s: not supported by orch (remove it, or leave it null)", fields[0])
	}
	return fmt.Errorf("fields not supported by orch (remove them, or leave them null): %s", strings.Join(fields, ", "))
}

// JobToStructs turns a job decoded from an API body or a JSON job file into
// orch's job, with the defaults Nomad's API gives what is absent: a group
// without Count runs 1 instance, an affinity or spread without Weight weighs
// the default, a restart block's absent fields are the job type's defaults.
// Everything else absent is left zero for structs.Job.Canonicalize. It does
// not check for unsupported fields (CheckSupported does) and never fails.
func JobToStructs(w *Job) *structs.Job {
	if w == nil {
		return nil
	}
	j := &structs.Job{
		Region: deref(w.Region, ""), Namespace: deref(w.Namespace, ""), ID: deref(w.ID, ""), Name: deref(w.Name, ""),
		Type: structs.JobType(deref(w.Type, "")), Priority: deref(w.Priority, 0), AllAtOnce: deref(w.AllAtOnce, false),
		Datacenters: w.Datacenters, NodePool: deref(w.NodePool, ""),
		Constraints: constraintsToStructs(w.Constraints), Affinities: affinitiesToStructs(w.Affinities),
		Spreads: spreadsToStructs(w.Spreads), Meta: w.Meta,
		Stop: deref(w.Stop, false), Status: structs.JobStatus(deref(w.Status, "")), StatusDescription: deref(w.StatusDescription, ""),
		Version: deref(w.Version, 0), Stable: deref(w.Stable, false), SubmitTime: deref(w.SubmitTime, 0),
		CreateIndex: deref(w.CreateIndex, 0), ModifyIndex: deref(w.ModifyIndex, 0), JobModifyIndex: deref(w.JobModifyIndex, 0),
		Update:   updateToStructs(w.Update),
		Periodic: periodicToStructs(w.Periodic), ParameterizedJob: parameterizedToStructs(w.ParameterizedJob),
		UI:       uiToStructs(w.UI),
		ParentID: deref(w.ParentID, ""), Dispatched: w.Dispatched, Payload: w.Payload,
		DispatchIdempotencyToken: deref(w.DispatchIdempotencyToken, ""),
	}
	if w.TaskGroups != nil {
		j.TaskGroups = make([]*structs.TaskGroup, len(w.TaskGroups))
		for i, tg := range w.TaskGroups {
			j.TaskGroups[i] = taskGroupToStructs(tg, w, j.Type)
		}
	}
	return j
}

func taskGroupToStructs(w *TaskGroup, job *Job, jobType structs.JobType) *structs.TaskGroup {
	if w == nil {
		return nil // Validate names it
	}
	tg := &structs.TaskGroup{
		Name: deref(w.Name, ""), Count: deref(w.Count, 1),
		Constraints: constraintsToStructs(w.Constraints), Affinities: affinitiesToStructs(w.Affinities),
		Spreads: spreadsToStructs(w.Spreads), Meta: w.Meta, Services: servicesToStructs(w.Services),
		ReschedulePolicy: rescheduleToStructs(jobType, job.Reschedule, w.ReschedulePolicy),
		Migrate:          migrateToStructs(jobType, job.Migrate, w.Migrate),
	}
	if w.Update != nil {
		// The job's block, then the group's, field by field; a group
		// without one gets the job's in Canonicalize.
		tg.Update = updateToStructs(job.Update, w.Update)
	}
	if rp := w.RestartPolicy; rp != nil {
		def := structs.DefaultRestartPolicy(jobType)
		tg.RestartPolicy = &structs.RestartPolicy{
			Attempts: deref(rp.Attempts, def.Attempts), Interval: deref(rp.Interval, def.Interval),
			Delay: deref(rp.Delay, def.Delay), Mode: deref(rp.Mode, def.Mode),
		}
	}
	if d := w.EphemeralDisk; d != nil {
		tg.EphemeralDisk = &structs.EphemeralDisk{SizeMB: deref(d.SizeMB, 0)}
	}
	if w.Networks != nil {
		tg.Networks = make([]*structs.NetworkResource, len(w.Networks))
		for i, n := range w.Networks {
			if n != nil {
				tg.Networks[i] = &structs.NetworkResource{Mode: n.Mode, ReservedPorts: portsToStructs(n.ReservedPorts), DynamicPorts: portsToStructs(n.DynamicPorts)}
			}
		}
	}
	if w.Tasks != nil {
		tg.Tasks = make([]*structs.Task, len(w.Tasks))
		for i, t := range w.Tasks {
			tg.Tasks[i] = taskToStructs(t)
		}
	}
	return tg
}

// rescheduleToStructs is a group's reschedule policy from the blocks that
// apply to it, the job's then the group's (either may be nil): each block's
// fields override the ones before, starting from the job type's default
// policy, as the job file's blocks do (jobspec). Setting Attempts or Interval
// bounds the policy unless the same block sets Unlimited. No block at all is
// nil (Canonicalize gives the default). In a system job, which has no
// default, a block yields a policy validation refuses by name.
func rescheduleToStructs(jobType structs.JobType, blocks ...*ReschedulePolicy) *structs.ReschedulePolicy {
	var p *structs.ReschedulePolicy
	for _, b := range blocks {
		if b == nil {
			continue
		}
		if p == nil {
			if p = structs.DefaultReschedulePolicy(jobType); p == nil {
				p = &structs.ReschedulePolicy{DelayFunction: structs.DelayConstant}
			}
		}
		p.Attempts, p.Interval = deref(b.Attempts, p.Attempts), deref(b.Interval, p.Interval)
		p.Delay, p.DelayFunction, p.MaxDelay = deref(b.Delay, p.Delay), deref(b.DelayFunction, p.DelayFunction), deref(b.MaxDelay, p.MaxDelay)
		if b.Attempts != nil || b.Interval != nil {
			p.Unlimited = false
		}
		p.Unlimited = deref(b.Unlimited, p.Unlimited)
	}
	return p
}

// migrateToStructs is a group's migrate strategy from the blocks that apply
// to it, as rescheduleToStructs; outside service jobs the base is the service
// default (the block is allowed there and has no effect).
func migrateToStructs(jobType structs.JobType, blocks ...*MigrateStrategy) *structs.MigrateStrategy {
	var m *structs.MigrateStrategy
	for _, b := range blocks {
		if b == nil {
			continue
		}
		if m == nil {
			if m = structs.DefaultMigrateStrategy(jobType); m == nil {
				m = structs.DefaultMigrateStrategy(structs.JobTypeService)
			}
		}
		m.MaxParallel, m.HealthCheck = deref(b.MaxParallel, m.MaxParallel), deref(b.HealthCheck, m.HealthCheck)
		m.MinHealthyTime, m.HealthyDeadline = deref(b.MinHealthyTime, m.MinHealthyTime), deref(b.HealthyDeadline, m.HealthyDeadline)
	}
	return m
}

// updateToStructs is the update strategy from the blocks given (nil ones
// skipped), each overriding the fields it sets, starting from Nomad's
// defaults; nil when none is set.
func updateToStructs(blocks ...*UpdateStrategy) *structs.UpdateStrategy {
	var u *structs.UpdateStrategy
	for _, b := range blocks {
		if b == nil {
			continue
		}
		if u == nil {
			u = structs.DefaultUpdateStrategy()
		}
		u.Stagger, u.MaxParallel, u.HealthCheck = deref(b.Stagger, u.Stagger), deref(b.MaxParallel, u.MaxParallel), deref(b.HealthCheck, u.HealthCheck)
		u.MinHealthyTime, u.HealthyDeadline = deref(b.MinHealthyTime, u.MinHealthyTime), deref(b.HealthyDeadline, u.HealthyDeadline)
		u.ProgressDeadline, u.Canary = deref(b.ProgressDeadline, u.ProgressDeadline), deref(b.Canary, u.Canary)
		u.AutoRevert, u.AutoPromote = deref(b.AutoRevert, u.AutoRevert), deref(b.AutoPromote, u.AutoPromote)
	}
	return u
}

// updateFromStructs is u on the wire (nil for nil).
func updateFromStructs(u *structs.UpdateStrategy) *UpdateStrategy {
	if u == nil {
		return nil
	}
	return &UpdateStrategy{Stagger: ptr(u.Stagger), MaxParallel: ptr(u.MaxParallel), HealthCheck: ptr(u.HealthCheck),
		MinHealthyTime: ptr(u.MinHealthyTime), HealthyDeadline: ptr(u.HealthyDeadline), ProgressDeadline: ptr(u.ProgressDeadline),
		Canary: ptr(u.Canary), AutoRevert: ptr(u.AutoRevert), AutoPromote: ptr(u.AutoPromote)}
}

func taskToStructs(w *Task) *structs.Task {
	if w == nil {
		return nil
	}
	t := &structs.Task{
		Name: w.Name, Driver: w.Driver, User: w.User, Config: w.Config, Env: w.Env, Meta: w.Meta,
		Constraints: constraintsToStructs(w.Constraints), Affinities: affinitiesToStructs(w.Affinities),
		KillTimeout: deref(w.KillTimeout, 0), KillSignal: w.KillSignal,
		Services: servicesToStructs(w.Services), Templates: templatesToStructs(w.Templates),
		LogConfig: logConfigToStructs(w.LogConfig),
		Lifecycle: lifecycleToStructs(w.Lifecycle),
	}
	if w.DispatchPayload != nil {
		t.DispatchPayload = &structs.DispatchPayloadConfig{File: w.DispatchPayload.File}
	}
	if r := w.Resources; r != nil {
		t.Resources = &structs.Resources{CPU: deref(r.CPU, 0), Cores: deref(r.Cores, 0),
			MemoryMB: deref(r.MemoryMB, 0), MemoryMaxMB: deref(r.MemoryMaxMB, 0)}
	}
	return t
}

// logConfigToStructs fills what the block leaves out with Nomad's defaults.
// lifecycleToStructs converts a lifecycle block; Nomad's client sends an
// empty one (no hook) for a main task, which is none.
func lifecycleToStructs(w *TaskLifecycle) *structs.TaskLifecycle {
	if w == nil || (w.Hook == "" && !w.Sidecar) {
		return nil
	}
	return &structs.TaskLifecycle{Hook: w.Hook, Sidecar: w.Sidecar}
}

func lifecycleFromStructs(l *structs.TaskLifecycle) *TaskLifecycle {
	if l == nil {
		return nil
	}
	return &TaskLifecycle{Hook: l.Hook, Sidecar: l.Sidecar}
}

func logConfigToStructs(w *LogConfig) *structs.LogConfig {
	if w == nil {
		return nil
	}
	return &structs.LogConfig{
		MaxFiles:      deref(w.MaxFiles, structs.DefaultLogMaxFiles),
		MaxFileSizeMB: deref(w.MaxFileSizeMB, structs.DefaultLogMaxFileSizeMB),
		Disabled:      deref(w.Disabled, false) || (w.Enabled != nil && !*w.Enabled),
	}
}

func logConfigFromStructs(l *structs.LogConfig) *LogConfig {
	if l == nil {
		return nil
	}
	return &LogConfig{MaxFiles: ptr(l.MaxFiles), MaxFileSizeMB: ptr(l.MaxFileSizeMB), Disabled: ptr(l.Disabled)}
}

func constraintsToStructs(w []*Constraint) []*structs.Constraint {
	if w == nil {
		return nil
	}
	out := make([]*structs.Constraint, len(w))
	for i, c := range w {
		if c != nil {
			out[i] = &structs.Constraint{LTarget: c.LTarget, RTarget: c.RTarget, Operand: c.Operand}
		}
	}
	return out
}

func affinitiesToStructs(w []*Affinity) []*structs.Affinity {
	if w == nil {
		return nil
	}
	out := make([]*structs.Affinity, len(w))
	for i, a := range w {
		if a != nil {
			out[i] = &structs.Affinity{LTarget: a.LTarget, RTarget: a.RTarget, Operand: a.Operand,
				Weight: deref(a.Weight, int8(structs.DefaultAffinityWeight))}
		}
	}
	return out
}

func spreadsToStructs(w []*Spread) []*structs.Spread {
	if w == nil {
		return nil
	}
	out := make([]*structs.Spread, len(w))
	for i, s := range w {
		if s == nil {
			continue
		}
		sp := &structs.Spread{Attribute: s.Attribute, Weight: deref(s.Weight, int8(structs.DefaultSpreadWeight))}
		if s.SpreadTarget != nil {
			sp.SpreadTarget = make([]*structs.SpreadTarget, len(s.SpreadTarget))
			for k, t := range s.SpreadTarget {
				if t != nil {
					sp.SpreadTarget[k] = &structs.SpreadTarget{Value: t.Value, Percent: t.Percent}
				}
			}
		}
		out[i] = sp
	}
	return out
}

func portsToStructs(w []Port) []structs.Port {
	if w == nil {
		return nil
	}
	out := make([]structs.Port, len(w))
	for i, p := range w {
		out[i] = structs.Port{Label: p.Label, Value: p.Value, To: p.To}
	}
	return out
}

// JobFromStructs is orch's job on the wire. The job-level Reschedule and
// Migrate stay nil: orch keeps those blocks merged into each group's.
func JobFromStructs(j *structs.Job) *Job {
	if j == nil {
		return nil
	}
	w := &Job{
		Region: ptr(j.Region), Namespace: ptr(j.Namespace), ID: ptr(j.ID), Name: ptr(j.Name),
		Type: ptr(string(j.Type)), Priority: ptr(j.Priority), AllAtOnce: ptr(j.AllAtOnce),
		Datacenters: j.Datacenters, NodePool: ptr(j.NodePool),
		Constraints: constraintsFromStructs(j.Constraints), Affinities: affinitiesFromStructs(j.Affinities),
		Spreads: spreadsFromStructs(j.Spreads), Meta: j.Meta,
		Stop: ptr(j.Stop), Status: ptr(string(j.Status)), StatusDescription: ptr(j.StatusDescription),
		Version: ptr(j.Version), Stable: ptr(j.Stable), SubmitTime: ptr(j.SubmitTime),
		CreateIndex: ptr(j.CreateIndex), ModifyIndex: ptr(j.ModifyIndex), JobModifyIndex: ptr(j.JobModifyIndex),
		Update:   updateFromStructs(j.Update),
		Periodic: periodicFromStructs(j.Periodic), ParameterizedJob: parameterizedFromStructs(j.ParameterizedJob),
		UI:       uiFromStructs(j.UI),
		ParentID: ptr(j.ParentID), Dispatched: j.Dispatched, Payload: j.Payload,
		DispatchIdempotencyToken: ptr(j.DispatchIdempotencyToken),
	}
	if j.TaskGroups != nil {
		w.TaskGroups = make([]*TaskGroup, len(j.TaskGroups))
		for i, tg := range j.TaskGroups {
			w.TaskGroups[i] = taskGroupFromStructs(tg)
		}
	}
	return w
}

func taskGroupFromStructs(tg *structs.TaskGroup) *TaskGroup {
	if tg == nil {
		return nil
	}
	w := &TaskGroup{
		Name: ptr(tg.Name), Count: ptr(tg.Count),
		Constraints: constraintsFromStructs(tg.Constraints), Affinities: affinitiesFromStructs(tg.Affinities),
		Spreads: spreadsFromStructs(tg.Spreads), Meta: tg.Meta, Services: servicesFromStructs(tg.Services),
		Update: updateFromStructs(tg.Update),
	}
	if rp := tg.RestartPolicy; rp != nil {
		w.RestartPolicy = &RestartPolicy{Attempts: ptr(rp.Attempts), Interval: ptr(rp.Interval), Delay: ptr(rp.Delay), Mode: ptr(rp.Mode)}
	}
	if p := tg.ReschedulePolicy; p != nil {
		w.ReschedulePolicy = &ReschedulePolicy{Attempts: ptr(p.Attempts), Interval: ptr(p.Interval), Delay: ptr(p.Delay),
			DelayFunction: ptr(p.DelayFunction), MaxDelay: ptr(p.MaxDelay), Unlimited: ptr(p.Unlimited)}
	}
	if m := tg.Migrate; m != nil {
		w.Migrate = &MigrateStrategy{MaxParallel: ptr(m.MaxParallel), HealthCheck: ptr(m.HealthCheck),
			MinHealthyTime: ptr(m.MinHealthyTime), HealthyDeadline: ptr(m.HealthyDeadline)}
	}
	if d := tg.EphemeralDisk; d != nil {
		w.EphemeralDisk = &EphemeralDisk{SizeMB: ptr(d.SizeMB)}
	}
	if tg.Networks != nil {
		w.Networks = make([]*NetworkResource, len(tg.Networks))
		for i, n := range tg.Networks {
			if n != nil {
				w.Networks[i] = &NetworkResource{Mode: n.Mode, ReservedPorts: portsFromStructs(n.ReservedPorts), DynamicPorts: portsFromStructs(n.DynamicPorts)}
			}
		}
	}
	if tg.Tasks != nil {
		w.Tasks = make([]*Task, len(tg.Tasks))
		for i, t := range tg.Tasks {
			w.Tasks[i] = taskFromStructs(t)
		}
	}
	return w
}

func taskFromStructs(t *structs.Task) *Task {
	if t == nil {
		return nil
	}
	w := &Task{
		Name: t.Name, Driver: t.Driver, User: t.User, Config: t.Config, Env: t.Env, Meta: t.Meta,
		Constraints: constraintsFromStructs(t.Constraints), Affinities: affinitiesFromStructs(t.Affinities),
		KillTimeout: ptr(t.KillTimeout), KillSignal: t.KillSignal,
		Services: servicesFromStructs(t.Services), Templates: templatesFromStructs(t.Templates),
		LogConfig: logConfigFromStructs(t.LogConfig),
		Lifecycle: lifecycleFromStructs(t.Lifecycle),
	}
	if t.DispatchPayload != nil {
		w.DispatchPayload = &DispatchPayloadConfig{File: t.DispatchPayload.File}
	}
	if r := t.Resources; r != nil {
		w.Resources = &Resources{CPU: ptr(r.CPU), Cores: ptr(r.Cores), MemoryMB: ptr(r.MemoryMB), MemoryMaxMB: ptr(r.MemoryMaxMB)}
	}
	return w
}

func constraintsFromStructs(cs []*structs.Constraint) []*Constraint {
	if cs == nil {
		return nil
	}
	out := make([]*Constraint, len(cs))
	for i, c := range cs {
		if c != nil {
			out[i] = &Constraint{LTarget: c.LTarget, RTarget: c.RTarget, Operand: c.Operand}
		}
	}
	return out
}

func affinitiesFromStructs(as []*structs.Affinity) []*Affinity {
	if as == nil {
		return nil
	}
	out := make([]*Affinity, len(as))
	for i, a := range as {
		if a != nil {
			out[i] = &Affinity{LTarget: a.LTarget, RTarget: a.RTarget, Operand: a.Operand, Weight: ptr(a.Weight)}
		}
	}
	return out
}

func spreadsFromStructs(ss []*structs.Spread) []*Spread {
	if ss == nil {
		return nil
	}
	out := make([]*Spread, len(ss))
	for i, s := range ss {
		if s == nil {
			continue
		}
		w := &Spread{Attribute: s.Attribute, Weight: ptr(s.Weight)}
		if s.SpreadTarget != nil {
			w.SpreadTarget = make([]*SpreadTarget, len(s.SpreadTarget))
			for k, t := range s.SpreadTarget {
				if t != nil {
					w.SpreadTarget[k] = &SpreadTarget{Value: t.Value, Percent: t.Percent}
				}
			}
		}
		out[i] = w
	}
	return out
}

func portsFromStructs(ps []structs.Port) []Port {
	if ps == nil {
		return nil
	}
	out := make([]Port, len(ps))
	for i, p := range ps {
		out[i] = Port{Label: p.Label, Value: p.Value, To: p.To}
	}
	return out
}

// JobStubFromStructs is a job list entry on the wire.
func JobStubFromStructs(s *structs.JobListStub) *JobListStub {
	return &JobListStub{
		ID: s.ID, ParentID: s.ParentID, Periodic: s.Periodic, ParameterizedJob: s.Parameterized,
		Name: s.Name, Namespace: s.Namespace, Datacenters: s.Datacenters, Type: string(s.Type),
		Priority: s.Priority, Stop: s.Stop, Status: string(s.Status), StatusDescription: s.StatusDescription,
		JobSummary:  JobSummaryFromStructs(s.JobSummary),
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex, JobModifyIndex: s.JobModifyIndex, SubmitTime: s.SubmitTime,
		Meta: s.Meta,
	}
}

// JobStubToStructs is JobStubFromStructs' inverse (Version, which Nomad's
// list entry lacks, is 0).
func JobStubToStructs(w *JobListStub) *structs.JobListStub {
	return &structs.JobListStub{
		ID: w.ID, ParentID: w.ParentID, Periodic: w.Periodic, Parameterized: w.ParameterizedJob,
		Name: w.Name, Namespace: w.Namespace, Datacenters: w.Datacenters, Type: structs.JobType(w.Type),
		Priority: w.Priority, Stop: w.Stop, Status: structs.JobStatus(w.Status), StatusDescription: w.StatusDescription,
		JobSummary:  JobSummaryToStructs(w.JobSummary),
		CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex, JobModifyIndex: w.JobModifyIndex, SubmitTime: w.SubmitTime,
	}
}

// JobSummaryFromStructs is a job summary on the wire.
func JobSummaryFromStructs(s *structs.JobSummary) *JobSummary {
	if s == nil {
		return nil
	}
	w := &JobSummary{JobID: s.JobID, Namespace: s.Namespace, Summary: make(map[string]TaskGroupSummary, len(s.Summary)),
		Children: &JobChildrenSummary{Pending: s.Children.Pending, Running: s.Children.Running, Dead: s.Children.Dead}, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex}
	for name, g := range s.Summary {
		w.Summary[name] = TaskGroupSummary(g)
	}
	return w
}

// JobSummaryToStructs is JobSummaryFromStructs' inverse.
func JobSummaryToStructs(w *JobSummary) *structs.JobSummary {
	if w == nil {
		return nil
	}
	s := &structs.JobSummary{JobID: w.JobID, Namespace: w.Namespace, Summary: make(map[string]structs.TaskGroupSummary, len(w.Summary)),
		CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex}
	if c := w.Children; c != nil {
		s.Children = structs.JobChildrenSummary{Pending: c.Pending, Running: c.Running, Dead: c.Dead}
	}
	for name, g := range w.Summary {
		s.Summary[name] = structs.TaskGroupSummary(g)
	}
	return s
}

func uiToStructs(w *JobUIConfig) *structs.JobUIConfig {
	if w == nil {
		return nil
	}
	u := &structs.JobUIConfig{Description: w.Description}
	for _, l := range w.Links {
		var s *structs.JobUILink // a null link stays null: Validate refuses it
		if l != nil {
			s = &structs.JobUILink{Label: l.Label, URL: l.URL}
		}
		u.Links = append(u.Links, s)
	}
	return u
}

func uiFromStructs(u *structs.JobUIConfig) *JobUIConfig {
	if u == nil {
		return nil
	}
	w := &JobUIConfig{Description: u.Description}
	for _, l := range u.Links {
		if l != nil {
			w.Links = append(w.Links, &JobUILink{Label: l.Label, URL: l.URL})
		}
	}
	return w
}

// periodicToStructs gives an absent Enabled Nomad's default, true.
func periodicToStructs(w *PeriodicConfig) *structs.PeriodicConfig {
	if w == nil {
		return nil
	}
	return &structs.PeriodicConfig{Enabled: deref(w.Enabled, true), Spec: deref(w.Spec, ""), Specs: w.Specs,
		SpecType: deref(w.SpecType, ""), ProhibitOverlap: deref(w.ProhibitOverlap, false), TimeZone: deref(w.TimeZone, "")}
}

func periodicFromStructs(p *structs.PeriodicConfig) *PeriodicConfig {
	if p == nil {
		return nil
	}
	return &PeriodicConfig{Enabled: ptr(p.Enabled), Spec: ptr(p.Spec), Specs: p.Specs, SpecType: ptr(p.SpecType),
		ProhibitOverlap: ptr(p.ProhibitOverlap), TimeZone: ptr(p.TimeZone)}
}

func parameterizedToStructs(w *ParameterizedJobConfig) *structs.ParameterizedJobConfig {
	if w == nil {
		return nil
	}
	return &structs.ParameterizedJobConfig{Payload: w.Payload, MetaRequired: w.MetaRequired, MetaOptional: w.MetaOptional}
}

func parameterizedFromStructs(p *structs.ParameterizedJobConfig) *ParameterizedJobConfig {
	if p == nil {
		return nil
	}
	return &ParameterizedJobConfig{Payload: p.Payload, MetaRequired: p.MetaRequired, MetaOptional: p.MetaOptional}
}
