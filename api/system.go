package api

import "net/http"

// System is the cluster-wide maintenance API (Nomad's /v1/system).
type System struct{ c *Client }

// System returns the system API.
func (c *Client) System() *System { return &System{c: c} }

// GarbageCollect forces the leader's garbage collection of terminal
// evaluations, allocations, jobs and deployments (PUT /v1/system/gc).
func (s *System) GarbageCollect() error {
	return s.c.write(http.MethodPut, "/v1/system/gc", nil, nil, nil)
}

// ReconcileSummaries is Nomad's summary repair (PUT
// /v1/system/reconcile/summaries); orch derives summaries on read, so the
// servers have nothing to do.
func (s *System) ReconcileSummaries() error {
	return s.c.write(http.MethodPut, "/v1/system/reconcile/summaries", nil, nil, nil)
}
