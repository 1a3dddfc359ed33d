package agent

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// Nomad's /v1/system endpoints: PUT /v1/system/gc forces the leader's
// garbage collection (System.GarbageCollect), PUT
// /v1/system/reconcile/summaries is Nomad's summary repair
// (System.ReconcileJobSummaries; orch's summaries are derived on read, so it
// has nothing to do). Both need a management token, as in Nomad, and answer
// with an empty body and the index in the headers.

func (s *HTTPServer) registerSystemRoutes() {
	s.mux.Handle("PUT /v1/system/gc", s.wrap(s.systemWrite("System.GarbageCollect")))
	s.mux.Handle("PUT /v1/system/reconcile/summaries", s.wrap(s.systemWrite("System.ReconcileJobSummaries")))
}

func (s *HTTPServer) systemWrite(method string) func(*http.Request) (any, error) {
	return func(r *http.Request) (any, error) {
		var reply structs.GenericResponse
		if err := s.backend.RPC(r.Context(), method, &structs.SystemWriteRequest{WriteRequest: writeRequest(r)}, &reply); err != nil {
			return nil, err
		}
		return withMeta{body: struct{}{}, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
	}
}
