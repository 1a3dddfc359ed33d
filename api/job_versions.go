package api

import (
	"net/http"
	"net/url"

	"github.com/orch-io/orch/structs"
)

// Versions returns the kept versions of a job, newest first (GET
// /v1/job/:id/versions); with diffs, also what each version changed from the
// one before it.
func (j *Jobs) Versions(id string, diffs bool, q *QueryOptions) (*structs.JobVersionsResponse, *QueryMeta, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, nil, err
	}
	params := url.Values{}
	if diffs {
		params.Set("diffs", "true")
	}
	var wire JobVersionsResponse
	meta, err := j.c.queryWith(path+"/versions", q, params, &wire)
	if err != nil {
		return nil, nil, err
	}
	out := JobVersionsToStructs(&wire)
	out.QueryMeta = structs.QueryMeta{Index: meta.LastIndex, KnownLeader: meta.KnownLeader}
	return out, meta, nil
}

// Revert registers version of the job again, as a new version (PUT
// /v1/job/:id/revert); with enforcePriorVersion, only if the job is at that
// version.
func (j *Jobs) Revert(id string, version uint64, enforcePriorVersion *uint64) (*structs.JobRegisterResponse, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, err
	}
	body := &JobRevertRequest{JobID: id, JobVersion: version, EnforcePriorVersion: enforcePriorVersion}
	var out structs.JobRegisterResponse
	if err := j.c.write(http.MethodPut, path+"/revert", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Stable marks version of the job stable or not (PUT /v1/job/:id/stable).
func (j *Jobs) Stable(id string, version uint64, stable bool) (*structs.JobStabilityResponse, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, err
	}
	body := &JobStabilityRequest{JobID: id, JobVersion: version, Stable: stable}
	var out JobStabilityResponse
	if err := j.c.write(http.MethodPut, path+"/stable", nil, body, &out); err != nil {
		return nil, err
	}
	return &structs.JobStabilityResponse{WriteMeta: structs.WriteMeta{Index: out.Index}}, nil
}
