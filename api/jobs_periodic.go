package api

import (
	"net/http"
	"net/url"
)

// PeriodicForce launches periodic job id now (PUT /v1/job/:id/periodic/force)
// and returns the child's evaluation.
func (j *Jobs) PeriodicForce(id string) (*PeriodicForceResponse, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, err
	}
	var out PeriodicForceResponse
	if err := j.c.write(http.MethodPut, path+"/periodic/force", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Dispatch dispatches parameterized job id with payload and meta (PUT
// /v1/job/:id/dispatch); a non-empty idempotencyToken returns the child a
// previous dispatch with it created instead of a new one.
func (j *Jobs) Dispatch(id string, payload []byte, meta map[string]string, idempotencyToken string) (*JobDispatchResponse, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, err
	}
	var params url.Values
	if idempotencyToken != "" {
		params = url.Values{"idempotency_token": {idempotencyToken}}
	}
	var out JobDispatchResponse
	if err := j.c.write(http.MethodPut, path+"/dispatch", params, &JobDispatchRequest{JobID: id, Payload: payload, Meta: meta}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
