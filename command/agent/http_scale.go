package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/jobspec"
	"github.com/orch-io/orch/structs"
)

// maxScaleBody bounds the body of a scaling request.
const maxScaleBody = 64 << 10

// jobScaleStatus is GET /v1/job/:id/scale: the job's groups with their
// desired counts and the progress of their allocations (Job.GetJob then
// Job.Allocations; the two reads are not one snapshot, as the figures are a
// progress report).
func (s *HTTPServer) jobScaleStatus(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var jobReply structs.SingleJobResponse
	if err := s.backend.RPC(r.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &jobReply); err != nil {
		return nil, err
	}
	if jobReply.Job == nil {
		return nil, notFound("job %q not found", id)
	}
	q.MinQueryIndex = 0 // the job answered the blocking part
	var allocReply structs.JobAllocationsResponse
	if err := s.backend.RPC(r.Context(), "Job.Allocations", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &allocReply); err != nil {
		return nil, err
	}
	return withMeta{body: scaleStatus(jobReply.Job, allocReply.Allocations), meta: jobReply.QueryMeta}, nil
}

// scaleStatus counts, per group of job, its allocations as Nomad's scale
// status does: placed (not terminal), running, healthy and unhealthy (by
// their deployment health).
func scaleStatus(job *structs.Job, allocs []*structs.AllocListStub) *api.JobScaleStatusResponse {
	out := &api.JobScaleStatusResponse{
		JobID: job.ID, Namespace: job.Namespace, JobCreateIndex: job.CreateIndex,
		JobModifyIndex: job.JobModifyIndex, JobStopped: job.Stop,
		TaskGroups: make(map[string]api.TaskGroupScaleStatus, len(job.TaskGroups)),
	}
	for _, tg := range job.TaskGroups {
		out.TaskGroups[tg.Name] = api.TaskGroupScaleStatus{Desired: tg.Count, Events: []api.ScalingEvent{}}
	}
	for _, a := range allocs {
		st, ok := out.TaskGroups[a.TaskGroup]
		if !ok || a.DesiredStatus != structs.AllocDesiredStatusRun {
			continue
		}
		switch a.ClientStatus {
		case structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
			continue
		}
		st.Placed++
		if a.ClientStatus == structs.AllocClientStatusRunning {
			st.Running++
		}
		if h := a.DeploymentStatus; h != nil && h.Healthy != nil {
			if *h.Healthy {
				st.Healthy++
			} else {
				st.Unhealthy++
			}
		}
		out.TaskGroups[a.TaskGroup] = st
	}
	return out
}

// jobScale is PUT/POST /v1/job/:id/scale with Nomad's ScalingRequest: the
// servers change the group's count by registering the job again with it
// (Job.Scale), checked against the job's JobModifyIndex (or the request's)
// so that a concurrent update is a 409, never overwritten.
func (s *HTTPServer) jobScale(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	var body api.ScalingRequest
	if err := decodeStrictBody(r.Body, maxScaleBody, "scaling request", `{"Count": N, "Target": {"Group": "..."}}`, &body); err != nil {
		return nil, err
	}
	group, err := checkScalingRequest(id, &body)
	if err != nil {
		return nil, err
	}

	req := &structs.JobScaleRequest{JobID: id, Group: group, Count: int(*body.Count), JobModifyIndex: body.JobModifyIndex, WriteRequest: writeRequest(r)}
	var reply structs.JobRegisterResponse
	if err := s.backend.RPC(r.Context(), "Job.Scale", req, &reply); err != nil {
		return nil, err
	}
	s.logger.Info("job scaled", "job_id", id, "group", group, "to", *body.Count, "message", body.Message)
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// checkScalingRequest returns the group a scaling request of job id names,
// or a 400 naming every field that is wrong or that orch would not act on.
func checkScalingRequest(id string, b *api.ScalingRequest) (string, error) {
	var problems []string
	group := b.Target["Group"]
	for _, k := range slices.Sorted(maps.Keys(b.Target)) {
		switch v := b.Target[k]; k {
		case "Group", "Namespace":
		case "Job":
			if v != id {
				problems = append(problems, fmt.Sprintf("Target.Job = %q: does not match the job %q in the path", v, id))
			}
		default:
			problems = append(problems, fmt.Sprintf("Target.%s: unknown target (Job, Group or Namespace)", k))
		}
	}
	if group == "" {
		problems = append(problems, "Target.Group: required")
	}
	switch {
	case b.Count == nil:
		problems = append(problems, "Count: required (orch records no scaling events without a count)")
	case *b.Count < 0:
		problems = append(problems, fmt.Sprintf("Count = %d: must be >= 0", *b.Count))
	case *b.Count > math.MaxInt32:
		problems = append(problems, fmt.Sprintf("Count = %d: must be <= %d", *b.Count, math.MaxInt32))
	}
	if b.Error {
		problems = append(problems, "Error = true: not supported: orch records no scaling events")
	}
	if len(b.Meta) > 0 {
		problems = append(problems, "Meta: not supported: orch records no scaling events")
	}
	if b.PolicyOverride {
		problems = append(problems, "PolicyOverride = true: not supported: orch has no Sentinel policies")
	}
	if len(problems) > 0 {
		return "", badRequest("invalid scaling request: %s", strings.Join(problems, "; "))
	}
	return group, nil
}

// decodeStrictBody reads a JSON request body of at most limit bytes into out
// strictly (jobspec.DecodeJSON: an unknown field or a wrong type is an
// error). Errors are 400s (413 when too large) naming what the body is, the
// line, column and path of the mistake; expected shows an empty body the
// shape wanted.
func decodeStrictBody(r io.Reader, limit int, what, expected string, out any) error {
	raw, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return badRequest("reading the request body: %v", err)
	}
	if len(raw) > limit {
		return &httpError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body larger than %d bytes", limit)}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return badRequest("empty request body: expected %s", expected)
	}
	if err := jobspec.DecodeJSON(raw, out); err != nil {
		var je *jobspec.JSONError
		if errors.As(err, &je) {
			return badRequest("invalid %s at line %d, column %d: %s: %s", what, je.Line, je.Column, je.Path, je.Rule)
		}
		return badRequest("invalid %s: %v", what, err)
	}
	return nil
}
