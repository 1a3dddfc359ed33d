package agent

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// The built-in service registry, as Nomad's API: GET /v1/services, GET
// /v1/service/:name (?tag=, ?choose=N|key), DELETE /v1/service/:name/:id.

// serviceList is GET /v1/services → ServiceRegistration.List.
func (s *HTTPServer) serviceList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.ServiceRegistrationListResponse
	if err := s.backend.RPC(r.Context(), "ServiceRegistration.List", &structs.ServiceRegistrationListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Services), meta: reply.QueryMeta}, nil
}

// serviceGet is GET /v1/service/:name → ServiceRegistration.GetService: the
// instances, those with ?tag= only, or the ?choose=N|key of them.
func (s *HTTPServer) serviceGet(r *http.Request) (any, error) {
	name, q, err := idAndQuery(r, "service")
	if err != nil {
		return nil, err
	}
	n, key := 0, ""
	if v := r.URL.Query().Get("choose"); v != "" {
		if n, key, err = structs.ParseChoose(v); err != nil {
			return nil, badRequest("%v", err)
		}
	}
	var reply structs.ServiceRegistrationByNameResponse
	req := &structs.ServiceRegistrationByNameRequest{ServiceName: name, QueryOptions: q}
	if err := s.backend.RPC(r.Context(), "ServiceRegistration.GetService", req, &reply); err != nil {
		return nil, err
	}
	regs := structs.ServicesWithTag(reply.Services, r.URL.Query().Get("tag"))
	if n > 0 {
		regs = structs.ChooseServices(regs, n, key)
	}
	return withMeta{body: nonNil(regs), meta: reply.QueryMeta}, nil
}

// serviceDelete is DELETE /v1/service/:name/:id → ServiceRegistration.DeleteByID.
func (s *HTTPServer) serviceDelete(r *http.Request) (any, error) {
	name, err := pathID(r, "service")
	if err != nil {
		return nil, err
	}
	id := r.PathValue("regid")
	if id == "" {
		return nil, badRequest("missing service registration ID")
	}
	req := &structs.ServiceRegistrationDeleteRequest{ServiceName: name, ID: id, WriteRequest: writeRequest(r)}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "ServiceRegistration.DeleteByID", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: struct{}{}, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}
