package api

import (
	"slices"

	"github.com/orch-io/orch/structs"
)

// DeploymentFromStructs converts a deployment for the wire.
func DeploymentFromStructs(d *structs.Deployment) *Deployment {
	w := &Deployment{ID: d.ID, Namespace: d.Namespace, JobID: d.JobID, JobVersion: d.JobVersion,
		JobModifyIndex: d.JobModifyIndex, JobSpecModifyIndex: d.JobModifyIndex, JobCreateIndex: d.JobCreateIndex,
		Status: string(d.Status), StatusDescription: d.StatusDescription,
		CreateIndex: d.CreateIndex, ModifyIndex: d.ModifyIndex, CreateTime: d.CreateTime, ModifyTime: d.ModifyTime}
	if d.TaskGroups != nil {
		w.TaskGroups = make(map[string]*DeploymentState, len(d.TaskGroups))
		for name, s := range d.TaskGroups {
			w.TaskGroups[name] = &DeploymentState{PlacedCanaries: slices.Clone(s.PlacedCanaries), AutoRevert: s.AutoRevert,
				AutoPromote: s.AutoPromote, ProgressDeadline: s.ProgressDeadline, RequireProgressBy: s.RequireProgressBy,
				Promoted: s.Promoted, DesiredCanaries: s.DesiredCanaries, DesiredTotal: s.DesiredTotal,
				PlacedAllocs: s.PlacedAllocs, HealthyAllocs: s.HealthyAllocs, UnhealthyAllocs: s.UnhealthyAllocs}
		}
	}
	return w
}

// DeploymentToStructs is DeploymentFromStructs' inverse.
func DeploymentToStructs(w *Deployment) *structs.Deployment {
	d := &structs.Deployment{ID: w.ID, Namespace: w.Namespace, JobID: w.JobID, JobVersion: w.JobVersion,
		JobModifyIndex: w.JobModifyIndex, JobCreateIndex: w.JobCreateIndex,
		Status: structs.DeploymentStatus(w.Status), StatusDescription: w.StatusDescription,
		CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex, CreateTime: w.CreateTime, ModifyTime: w.ModifyTime}
	if w.TaskGroups != nil {
		d.TaskGroups = make(map[string]*structs.DeploymentState, len(w.TaskGroups))
		for name, s := range w.TaskGroups {
			if s == nil {
				continue
			}
			d.TaskGroups[name] = &structs.DeploymentState{PlacedCanaries: slices.Clone(s.PlacedCanaries), AutoRevert: s.AutoRevert,
				AutoPromote: s.AutoPromote, ProgressDeadline: s.ProgressDeadline, RequireProgressBy: s.RequireProgressBy,
				Promoted: s.Promoted, DesiredCanaries: s.DesiredCanaries, DesiredTotal: s.DesiredTotal,
				PlacedAllocs: s.PlacedAllocs, HealthyAllocs: s.HealthyAllocs, UnhealthyAllocs: s.UnhealthyAllocs}
		}
	}
	return d
}

// DeploymentUpdateFromStructs converts the answer of a deployment write.
func DeploymentUpdateFromStructs(r *structs.DeploymentUpdateResponse) *DeploymentUpdateResponse {
	return &DeploymentUpdateResponse{EvalID: r.EvalID, EvalCreateIndex: r.EvalCreateIndex,
		DeploymentModifyIndex: r.DeploymentModifyIndex, RevertedJobVersion: clonePtr(r.RevertedJobVersion), Index: r.Index}
}

// DeploymentUpdateToStructs is DeploymentUpdateFromStructs' inverse.
func DeploymentUpdateToStructs(w *DeploymentUpdateResponse) *structs.DeploymentUpdateResponse {
	return &structs.DeploymentUpdateResponse{EvalID: w.EvalID, EvalCreateIndex: w.EvalCreateIndex,
		DeploymentModifyIndex: w.DeploymentModifyIndex, RevertedJobVersion: clonePtr(w.RevertedJobVersion),
		WriteMeta: structs.WriteMeta{Index: w.Index}}
}

// JobVersionsFromStructs converts a job's versions for the wire.
func JobVersionsFromStructs(r *structs.JobVersionsResponse) *JobVersionsResponse {
	return &JobVersionsResponse{Versions: mapList(r.Versions, JobFromStructs), Diffs: r.Diffs}
}

// JobVersionsToStructs is JobVersionsFromStructs' inverse.
func JobVersionsToStructs(w *JobVersionsResponse) *structs.JobVersionsResponse {
	return &structs.JobVersionsResponse{Versions: mapList(w.Versions, JobToStructs), Diffs: w.Diffs}
}
