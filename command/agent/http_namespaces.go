package agent

import (
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// The namespace endpoints, Nomad's paths and shapes: GET /v1/namespaces,
// GET/PUT/POST/DELETE /v1/namespace/{name}, and PUT/POST /v1/namespace (the
// name in the body: what Nomad's client sends). Who may call them:
// routeRules.

func (s *HTTPServer) registerNamespaceRoutes() {
	for _, r := range []struct {
		pattern string
		handler func(*http.Request) (any, error)
	}{
		{"GET /v1/namespaces", s.namespaceList},
		{"GET /v1/namespace/{name}", s.namespaceGet},
		{"PUT /v1/namespace/{name}", s.namespacePut},
		{"POST /v1/namespace/{name}", s.namespacePut},
		{"PUT /v1/namespace", s.namespacePut},
		{"POST /v1/namespace", s.namespacePut},
		{"DELETE /v1/namespace/{name}", s.namespaceDelete},
	} {
		s.mux.Handle(r.pattern, s.wrap(r.handler))
	}
}

func (s *HTTPServer) namespaceList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	q.Namespace = "" // the namespace of the objects listed, not a filter of namespaces
	var reply structs.NamespaceListResponse
	if err := s.backend.RPC(r.Context(), "Namespace.ListNamespaces", &structs.NamespaceListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Namespaces), meta: reply.QueryMeta}, nil
}

func (s *HTTPServer) namespaceGet(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	q.Namespace = ""
	name := r.PathValue("name")
	var reply structs.SingleNamespaceResponse
	if err := s.backend.RPC(r.Context(), "Namespace.GetNamespace", &structs.NamespaceSpecificRequest{Name: name, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Namespace == nil {
		return nil, notFound("namespace %q not found", name)
	}
	return withMeta{body: reply.Namespace, meta: reply.QueryMeta}, nil
}

func (s *HTTPServer) namespacePut(r *http.Request) (any, error) {
	var body api.Namespace
	if err := decodeWireBody(r.Body, "namespace", &body); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	switch {
	case name == "":
		name = body.Name
	case body.Name != "" && body.Name != name:
		return nil, badRequest("namespace Name %q differs from the name in the path %q", body.Name, name)
	}
	body.Name = name
	wr := writeRequest(r)
	wr.Namespace = ""
	req := &structs.NamespaceUpsertRequest{Namespaces: []*structs.Namespace{api.NamespaceToStructs(&body)}, WriteRequest: wr}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "Namespace.UpsertNamespaces", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: map[string]uint64{"Index": reply.Index}, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

func (s *HTTPServer) namespaceDelete(r *http.Request) (any, error) {
	wr := writeRequest(r)
	wr.Namespace = ""
	req := &structs.NamespaceDeleteRequest{Namespaces: []string{r.PathValue("name")}, WriteRequest: wr}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "Namespace.DeleteNamespaces", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: map[string]uint64{"Index": reply.Index}, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}
