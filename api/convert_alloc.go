package api

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// Conversions between the wire types of allocations, evaluations and plans
// and structs (see wire.go).

// AllocFromStructs is orch's allocation on the wire.
func AllocFromStructs(a *structs.Allocation) *Allocation {
	if a == nil {
		return nil
	}
	return &Allocation{
		ID: a.ID, Namespace: a.Namespace, EvalID: a.EvalID, Name: a.Name, NodeID: a.NodeID, NodeName: a.NodeName,
		JobID: a.JobID, Job: JobFromStructs(a.Job), TaskGroup: a.TaskGroup,
		AllocatedResources: allocatedFromStructs(a.AllocatedResources), Metrics: MetricFromStructs(a.Metrics),
		DesiredStatus: string(a.DesiredStatus), DesiredDescription: a.DesiredDescription,
		DesiredTransition: transitionFromStructs(a.DesiredTransition),
		ClientStatus:      string(a.ClientStatus), ClientDescription: a.ClientDescription, TaskStates: taskStatesFromStructs(a.TaskStates),
		DeploymentID: a.DeploymentID, DeploymentStatus: deploymentStatusFromStructs(a.DeploymentStatus), FollowupEvalID: a.FollowupEvalID,
		PreviousAllocation: a.PreviousAllocation, NextAllocation: a.NextAllocation, RescheduleTracker: trackerFromStructs(a.RescheduleTracker),
		PreemptedAllocations: a.PreemptedAllocations, PreemptedByAllocation: a.PreemptedByAllocation,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex, AllocModifyIndex: a.AllocModifyIndex,
		CreateTime: a.CreateTime, ModifyTime: a.ModifyTime,
	}
}

// AllocToStructs is AllocFromStructs' inverse.
func AllocToStructs(w *Allocation) *structs.Allocation {
	if w == nil {
		return nil
	}
	return &structs.Allocation{
		ID: w.ID, Namespace: w.Namespace, EvalID: w.EvalID, Name: w.Name, NodeID: w.NodeID, NodeName: w.NodeName,
		JobID: w.JobID, Job: JobToStructs(w.Job), TaskGroup: w.TaskGroup,
		AllocatedResources: allocatedToStructs(w.AllocatedResources), Metrics: MetricToStructs(w.Metrics),
		DesiredStatus: structs.AllocDesiredStatus(w.DesiredStatus), DesiredDescription: w.DesiredDescription,
		DesiredTransition: transitionToStructs(w.DesiredTransition),
		ClientStatus:      structs.AllocClientStatus(w.ClientStatus), ClientDescription: w.ClientDescription,
		TaskStates: taskStatesToStructs(w.TaskStates), DeploymentID: w.DeploymentID, DeploymentStatus: deploymentStatusToStructs(w.DeploymentStatus),
		FollowupEvalID: w.FollowupEvalID, PreviousAllocation: w.PreviousAllocation, NextAllocation: w.NextAllocation,
		RescheduleTracker: trackerToStructs(w.RescheduleTracker), PreemptedAllocations: w.PreemptedAllocations,
		PreemptedByAllocation: w.PreemptedByAllocation, CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex,
		AllocModifyIndex: w.AllocModifyIndex, CreateTime: w.CreateTime, ModifyTime: w.ModifyTime,
	}
}

// AllocStubFromStructs is an allocation list entry on the wire.
func AllocStubFromStructs(s *structs.AllocListStub) *AllocationListStub {
	return &AllocationListStub{
		ID: s.ID, EvalID: s.EvalID, Name: s.Name, Namespace: s.Namespace, NodeID: s.NodeID, NodeName: s.NodeName,
		JobID: s.JobID, JobVersion: s.JobVersion, TaskGroup: s.TaskGroup,
		DesiredStatus: string(s.DesiredStatus), DesiredDescription: s.DesiredDescription,
		ClientStatus: string(s.ClientStatus), ClientDescription: s.ClientDescription, DesiredTransition: transitionFromStructs(s.DesiredTransition),
		TaskStates: taskStatesFromStructs(s.TaskStates), DeploymentStatus: deploymentStatusFromStructs(s.DeploymentStatus),
		FollowupEvalID: s.FollowupEvalID, NextAllocation: s.NextAllocation, RescheduleTracker: trackerFromStructs(s.RescheduleTracker),
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex, CreateTime: s.CreateTime, ModifyTime: s.ModifyTime,
	}
}

// AllocStubToStructs is AllocStubFromStructs' inverse.
func AllocStubToStructs(w *AllocationListStub) *structs.AllocListStub {
	return &structs.AllocListStub{
		ID: w.ID, EvalID: w.EvalID, Name: w.Name, Namespace: w.Namespace, NodeID: w.NodeID, NodeName: w.NodeName,
		JobID: w.JobID, JobVersion: w.JobVersion, TaskGroup: w.TaskGroup,
		DesiredStatus: structs.AllocDesiredStatus(w.DesiredStatus), DesiredDescription: w.DesiredDescription,
		ClientStatus: structs.AllocClientStatus(w.ClientStatus), ClientDescription: w.ClientDescription,
		DesiredTransition: transitionToStructs(w.DesiredTransition), TaskStates: taskStatesToStructs(w.TaskStates),
		DeploymentStatus: deploymentStatusToStructs(w.DeploymentStatus), FollowupEvalID: w.FollowupEvalID,
		NextAllocation: w.NextAllocation, RescheduleTracker: trackerToStructs(w.RescheduleTracker),
		CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex, CreateTime: w.CreateTime, ModifyTime: w.ModifyTime,
	}
}

func transitionFromStructs(t structs.DesiredTransition) DesiredTransition {
	if !t.Migrate {
		return DesiredTransition{}
	}
	return DesiredTransition{Migrate: ptr(true)}
}

func transitionToStructs(w DesiredTransition) structs.DesiredTransition {
	return structs.DesiredTransition{Migrate: deref(w.Migrate, false)}
}

func deploymentStatusFromStructs(d *structs.AllocDeploymentStatus) *AllocDeploymentStatus {
	if d == nil {
		return nil
	}
	return &AllocDeploymentStatus{Healthy: clonePtr(d.Healthy), Timestamp: d.Timestamp, Canary: d.Canary, ModifyIndex: d.ModifyIndex}
}

func deploymentStatusToStructs(w *AllocDeploymentStatus) *structs.AllocDeploymentStatus {
	if w == nil {
		return nil
	}
	return &structs.AllocDeploymentStatus{Healthy: clonePtr(w.Healthy), Timestamp: w.Timestamp, Canary: w.Canary, ModifyIndex: w.ModifyIndex}
}

func trackerFromStructs(t *structs.RescheduleTracker) *RescheduleTracker {
	if t == nil {
		return nil
	}
	return &RescheduleTracker{Events: mapList(t.Events, func(e *structs.RescheduleEvent) *RescheduleEvent {
		return &RescheduleEvent{RescheduleTime: e.RescheduleTime, PrevAllocID: e.PrevAllocID, PrevNodeID: e.PrevNodeID, Delay: e.Delay}
	})}
}

func trackerToStructs(w *RescheduleTracker) *structs.RescheduleTracker {
	if w == nil {
		return nil
	}
	return &structs.RescheduleTracker{Events: mapList(w.Events, func(e *RescheduleEvent) *structs.RescheduleEvent {
		return &structs.RescheduleEvent{RescheduleTime: e.RescheduleTime, PrevAllocID: e.PrevAllocID, PrevNodeID: e.PrevNodeID, Delay: e.Delay}
	})}
}

func allocatedFromStructs(r *structs.AllocatedResources) *AllocatedResources {
	if r == nil {
		return nil
	}
	w := &AllocatedResources{Shared: AllocatedSharedResources{DiskMB: int64(r.Shared.DiskMB)}}
	if r.Tasks != nil {
		w.Tasks = make(map[string]*AllocatedTaskResources, len(r.Tasks))
		for name, t := range r.Tasks {
			if t != nil {
				w.Tasks[name] = &AllocatedTaskResources{
					Cpu:    AllocatedCpuResources{CpuShares: int64(t.CPU), ReservedCores: coresToWire(t.ReservedCores)},
					Memory: AllocatedMemoryResources{MemoryMB: int64(t.MemoryMB), MemoryMaxMB: int64(t.MemoryMaxMB)}}
			}
		}
	}
	if r.Shared.Ports != nil {
		w.Shared.Ports = make([]PortMapping, len(r.Shared.Ports))
		for i, p := range r.Shared.Ports {
			w.Shared.Ports[i] = PortMapping(p)
		}
	}
	return w
}

func allocatedToStructs(w *AllocatedResources) *structs.AllocatedResources {
	if w == nil {
		return nil
	}
	r := &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{DiskMB: int(w.Shared.DiskMB)}}
	if w.Tasks != nil {
		r.Tasks = make(map[string]*structs.Resources, len(w.Tasks))
		for name, t := range w.Tasks {
			if t != nil {
				cores := coresToStructs(t.Cpu.ReservedCores)
				r.Tasks[name] = &structs.Resources{CPU: int(t.Cpu.CpuShares), Cores: len(cores), ReservedCores: cores,
					MemoryMB: int(t.Memory.MemoryMB), MemoryMaxMB: int(t.Memory.MemoryMaxMB)}
			}
		}
	}
	if w.Shared.Ports != nil {
		r.Shared.Ports = make(structs.AllocatedPorts, len(w.Shared.Ports))
		for i, p := range w.Shared.Ports {
			r.Shared.Ports[i] = structs.AllocatedPortMapping(p)
		}
	}
	return r
}

func taskStatesFromStructs(ts map[string]*structs.TaskState) map[string]*TaskState {
	if ts == nil {
		return nil
	}
	out := make(map[string]*TaskState, len(ts))
	for name, s := range ts {
		if s == nil {
			continue
		}
		w := &TaskState{State: string(s.State), Failed: s.Failed, Restarts: s.Restarts,
			LastRestart: nanosTime(s.LastRestart), StartedAt: nanosTime(s.StartedAt), FinishedAt: nanosTime(s.FinishedAt)}
		if s.Events != nil {
			w.Events = make([]*TaskEvent, len(s.Events))
			for i, e := range s.Events {
				if e != nil {
					w.Events[i] = &TaskEvent{Type: e.Type, Time: e.Time, DisplayMessage: e.DisplayMessage, FailsTask: e.FailsTask,
						RestartReason: e.RestartReason, DriverError: e.DriverError, ExitCode: e.ExitCode, Signal: e.Signal,
						KillTimeout: time.Duration(e.KillTimeout)}
				}
			}
		}
		out[name] = w
	}
	return out
}

func taskStatesToStructs(ws map[string]*TaskState) map[string]*structs.TaskState {
	if ws == nil {
		return nil
	}
	out := make(map[string]*structs.TaskState, len(ws))
	for name, w := range ws {
		if w == nil {
			continue
		}
		s := &structs.TaskState{State: structs.TaskStateName(w.State), Failed: w.Failed, Restarts: w.Restarts,
			LastRestart: timeNanos(w.LastRestart), StartedAt: timeNanos(w.StartedAt), FinishedAt: timeNanos(w.FinishedAt)}
		if w.Events != nil {
			s.Events = make([]*structs.TaskEvent, len(w.Events))
			for i, e := range w.Events {
				if e != nil {
					s.Events[i] = &structs.TaskEvent{Type: e.Type, Time: e.Time, DisplayMessage: e.DisplayMessage, FailsTask: e.FailsTask,
						RestartReason: e.RestartReason, DriverError: e.DriverError, ExitCode: e.ExitCode, Signal: e.Signal,
						KillTimeout: int64(e.KillTimeout)}
				}
			}
		}
		out[name] = s
	}
	return out
}

// MetricFromStructs is a placement metric on the wire (ClassEligibility,
// which only the servers read, stays behind).
func MetricFromStructs(m *structs.AllocMetric) *AllocationMetric {
	if m == nil {
		return nil
	}
	w := &AllocationMetric{
		NodesEvaluated: m.NodesEvaluated, NodesFiltered: m.NodesFiltered, NodesAvailable: m.NodesAvailable,
		ClassFiltered: m.ClassFiltered, ConstraintFiltered: m.ConstraintFiltered, NodesExhausted: m.NodesExhausted,
		ClassExhausted: m.ClassExhausted, DimensionExhausted: m.DimensionExhausted,
		AllocationTime: time.Duration(m.AllocationTime), CoalescedFailures: m.CoalescedFailures,
	}
	if m.ScoreMetaData != nil {
		w.ScoreMetaData = make([]*NodeScoreMeta, len(m.ScoreMetaData))
		for i, s := range m.ScoreMetaData {
			if s != nil {
				w.ScoreMetaData[i] = &NodeScoreMeta{NodeID: s.NodeID, Scores: s.Scores.Map(), NormScore: s.NormScore}
			}
		}
	}
	return w
}

// MetricToStructs is MetricFromStructs' inverse.
func MetricToStructs(w *AllocationMetric) *structs.AllocMetric {
	if w == nil {
		return nil
	}
	m := &structs.AllocMetric{
		NodesEvaluated: w.NodesEvaluated, NodesFiltered: w.NodesFiltered, NodesAvailable: w.NodesAvailable,
		ClassFiltered: w.ClassFiltered, ConstraintFiltered: w.ConstraintFiltered, NodesExhausted: w.NodesExhausted,
		ClassExhausted: w.ClassExhausted, DimensionExhausted: w.DimensionExhausted,
		AllocationTime: int64(w.AllocationTime), CoalescedFailures: w.CoalescedFailures,
	}
	if w.ScoreMetaData != nil {
		m.ScoreMetaData = make([]*structs.NodeScoreMeta, len(w.ScoreMetaData))
		for i, s := range w.ScoreMetaData {
			if s != nil {
				m.ScoreMetaData[i] = &structs.NodeScoreMeta{NodeID: s.NodeID, Scores: structs.NodeScoresOf(s.Scores), NormScore: s.NormScore}
			}
		}
	}
	return m
}

func metricsFromStructs(ms map[string]*structs.AllocMetric) map[string]*AllocationMetric {
	if ms == nil {
		return nil
	}
	out := make(map[string]*AllocationMetric, len(ms))
	for k, m := range ms {
		out[k] = MetricFromStructs(m)
	}
	return out
}

func metricsToStructs(ws map[string]*AllocationMetric) map[string]*structs.AllocMetric {
	if ws == nil {
		return nil
	}
	out := make(map[string]*structs.AllocMetric, len(ws))
	for k, w := range ws {
		out[k] = MetricToStructs(w)
	}
	return out
}

// EvalFromStructs is orch's evaluation on the wire.
func EvalFromStructs(e *structs.Evaluation) *Evaluation {
	if e == nil {
		return nil
	}
	return &Evaluation{
		ID: e.ID, Priority: e.Priority, Type: string(e.Type), TriggeredBy: e.TriggeredBy, Namespace: e.Namespace,
		JobID: e.JobID, JobModifyIndex: e.JobModifyIndex, NodeID: e.NodeID, Status: string(e.Status),
		StatusDescription: e.StatusDescription, WaitUntil: e.WaitUntil, NextEval: e.NextEval, PreviousEval: e.PreviousEval,
		BlockedEval: e.BlockedEval, FailedTGAllocs: metricsFromStructs(e.FailedTGAllocs), ClassEligibility: e.ClassEligibility,
		AnnotatePlan: e.AnnotatePlan, QueuedAllocations: e.QueuedAllocations, SnapshotIndex: e.SnapshotIndex,
		CreateIndex: e.CreateIndex, ModifyIndex: e.ModifyIndex, CreateTime: e.CreateTime, ModifyTime: e.ModifyTime,
	}
}

// EvalToStructs is EvalFromStructs' inverse.
func EvalToStructs(w *Evaluation) *structs.Evaluation {
	if w == nil {
		return nil
	}
	return &structs.Evaluation{
		ID: w.ID, Priority: w.Priority, Type: structs.JobType(w.Type), TriggeredBy: w.TriggeredBy, Namespace: w.Namespace,
		JobID: w.JobID, JobModifyIndex: w.JobModifyIndex, NodeID: w.NodeID, Status: structs.EvalStatus(w.Status),
		StatusDescription: w.StatusDescription, WaitUntil: w.WaitUntil, NextEval: w.NextEval, PreviousEval: w.PreviousEval,
		BlockedEval: w.BlockedEval, FailedTGAllocs: metricsToStructs(w.FailedTGAllocs), ClassEligibility: w.ClassEligibility,
		AnnotatePlan: w.AnnotatePlan, QueuedAllocations: w.QueuedAllocations, SnapshotIndex: w.SnapshotIndex,
		CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex, CreateTime: w.CreateTime, ModifyTime: w.ModifyTime,
	}
}

// PlanFromStructs is a plan's answer on the wire.
func PlanFromStructs(p *structs.JobPlanResponse) *JobPlanResponse {
	w := &JobPlanResponse{JobModifyIndex: p.JobModifyIndex, Diff: p.Diff, FailedTGAllocs: metricsFromStructs(p.FailedTGAllocs),
		Warnings: p.Warnings, CreatedEvals: mapList(p.CreatedEvals, EvalFromStructs)}
	if p.Deployment != nil {
		w.Deployment = DeploymentFromStructs(p.Deployment)
	}
	if a := p.Annotations; a != nil {
		w.Annotations = &PlanAnnotations{DesiredTGUpdates: a.DesiredTGUpdates, PreemptedAllocs: mapList(a.PreemptedAllocs, AllocStubFromStructs)}
	}
	return w
}

// PlanToStructs is PlanFromStructs' inverse.
func PlanToStructs(w *JobPlanResponse) *structs.JobPlanResponse {
	p := &structs.JobPlanResponse{JobModifyIndex: w.JobModifyIndex, Diff: w.Diff, FailedTGAllocs: metricsToStructs(w.FailedTGAllocs),
		Warnings: w.Warnings, CreatedEvals: mapList(w.CreatedEvals, EvalToStructs)}
	if w.Deployment != nil {
		p.Deployment = DeploymentToStructs(w.Deployment)
	}
	if a := w.Annotations; a != nil {
		p.Annotations = &structs.PlanAnnotations{DesiredTGUpdates: a.DesiredTGUpdates, PreemptedAllocs: mapList(a.PreemptedAllocs, AllocStubToStructs)}
	}
	return p
}

// mapList converts every element of a list; nil stays nil and a nil element
// stays nil.
func mapList[A, B any](in []*A, f func(*A) *B) []*B {
	if in == nil {
		return nil
	}
	out := make([]*B, len(in))
	for i, a := range in {
		if a != nil {
			out[i] = f(a)
		}
	}
	return out
}
