package agent

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/orch-io/orch/acl"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// ACLs on the HTTP API. With acl.enabled every request is authorized in
// ServeHTTP before its handler runs, by the rule its route declares in
// routeRules: the caller's token (X-Nomad-Token, X-Orch-Token or
// Authorization: Bearer) is resolved through the servers (ACL.ResolveToken,
// cached for acl.token_ttl) and the rule decides; a route without a rule is
// refused (and TestEveryRouteHasAnACLRule fails). Whoever adds a route adds
// its rule here. The token then travels with every RPC the handler makes
// (authBackend), and the servers check it again, authoritatively: in the
// namespace of the object named, with revocations seen at once.

// Request headers that carry a token.
const (
	HeaderNomadToken = "X-Nomad-Token"
	HeaderOrchToken  = "X-Orch-Token"
)

// routeRule decides whether a resolved token may use a route.
type routeRule func(a *acl.ACL, r *http.Request) bool

// Route rules.
var (
	ruleOpen = routeRule(nil) // no token needed
	// ruleToken: any valid token (or the anonymous policy).
	ruleToken         routeRule = func(*acl.ACL, *http.Request) bool { return true }
	ruleManagement    routeRule = func(a *acl.ACL, _ *http.Request) bool { return a.IsManagement() }
	ruleNodeRead      routeRule = func(a *acl.ACL, _ *http.Request) bool { return a.AllowNodeRead() }
	ruleNodeWrite     routeRule = func(a *acl.ACL, _ *http.Request) bool { return a.AllowNodeWrite() }
	ruleOperatorRead  routeRule = func(a *acl.ACL, _ *http.Request) bool { return a.AllowOperatorRead() }
	ruleOperatorWrite routeRule = func(a *acl.ACL, _ *http.Request) bool { return a.AllowOperatorWrite() }
	ruleAgentRead     routeRule = func(a *acl.ACL, _ *http.Request) bool { return a.AllowAgentRead() }
	ruleAgentWrite    routeRule = func(a *acl.ACL, _ *http.Request) bool { return a.AllowAgentWrite() }
	// ruleInAllocNamespace: a valid token here; the handler decides in the
	// namespace of the allocation named (the client routes: read-fs,
	// read-logs, alloc-lifecycle, read-job for checks; authorizeClientCall),
	// and so do the servers. No ?namespace= is needed.
	ruleInAllocNamespace = ruleToken
)

// ruleNamespace needs capability op in the request's ?namespace= (default
// "default"); with "*" (a list of every namespace) any valid token passes,
// and the servers filter the list to the namespaces the token may read. The
// servers check again in the namespace of the object itself.
func ruleNamespace(op string) routeRule {
	return func(a *acl.ACL, r *http.Request) bool {
		ns := namespaceParam(r)
		if ns == "" {
			ns = structs.DefaultNamespace
		}
		if ns == structs.AllNamespaces {
			return a.AllowNamespaceOperationAnywhere(op)
		}
		return a.AllowNamespaceOperation(ns, op)
	}
}

// namespaceParam is r.URL.Query().Get("namespace") without building the
// whole query's map: the ACL check of every request reads it, and this is
// most of that check's cost (BenchmarkHTTPACLCheck). Like url.ParseQuery it
// takes the first well-formed pair, keys and values unescaped.
func namespaceParam(r *http.Request) string {
	const key = "namespace"
	q := r.URL.RawQuery
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if strings.Contains(pair, ";") {
			continue // url.ParseQuery refuses such a pair
		}
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != key {
				continue
			}
		}
		if !strings.ContainsAny(v, "%+") {
			return v
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			return uv
		}
	}
	return ""
}

// ruleJobBody: submit-job in ?namespace= when the request names one, else
// in some namespace (the job's own, in the body, may be any); the servers
// check submit-job in the namespace the job registers in.
var ruleJobBody routeRule = func(a *acl.ACL, r *http.Request) bool {
	if ns := namespaceParam(r); ns != "" {
		return a.AllowNamespaceOperation(ns, acl.CapSubmitJob)
	}
	return a.AllowNamespaceOperationAnywhere(acl.CapSubmitJob)
}

// ruleScaleJob: scale-job or submit-job in the request's ?namespace=.
var ruleScaleJob routeRule = func(a *acl.ACL, r *http.Request) bool {
	return ruleNamespace(acl.CapScaleJob)(a, r) || ruleNamespace(acl.CapSubmitJob)(a, r)
}

// ruleJobOrNodeRead: read-job in the request's ?namespace= or node read,
// for the routes that show objects of both kinds and leave out each one the
// token may not read (search, the event stream), as Nomad's.
var ruleJobOrNodeRead routeRule = func(a *acl.ACL, r *http.Request) bool {
	return ruleNamespace(acl.CapReadJob)(a, r) || a.AllowNodeRead()
}

// routeRules holds the rule of every route pattern the mux serves.
var routeRules = map[string]routeRule{
	"GET /v1/jobs": ruleNamespace(acl.CapListJobs),
	// A registration's namespace may come from its body (the job's own):
	// the servers check submit-job in the namespace the job goes to.
	"PUT /v1/jobs":                 ruleJobBody,
	"POST /v1/jobs":                ruleJobBody,
	"GET /v1/job/{id}":             ruleNamespace(acl.CapReadJob),
	"PUT /v1/job/{id}":             ruleJobBody,
	"POST /v1/job/{id}":            ruleJobBody,
	"DELETE /v1/job/{id}":          ruleNamespace(acl.CapSubmitJob),
	"GET /v1/job/{id}/allocations": ruleNamespace(acl.CapReadJob),
	"GET /v1/job/{id}/evaluations": ruleNamespace(acl.CapReadJob),
	"GET /v1/job/{id}/summary":     ruleNamespace(acl.CapReadJob),
	// Scaling is scale-job or submit-job (Job.Scale), as in Nomad. The
	// status reads the job and its allocations: read-job (Nomad also takes
	// read-job-scaling alone).
	"GET /v1/job/{id}/scale":  ruleNamespace(acl.CapReadJob),
	"PUT /v1/job/{id}/scale":  ruleScaleJob,
	"POST /v1/job/{id}/scale": ruleScaleJob,
	// Nomad's: forcing a periodic job is submit-job, dispatching dispatch-job.
	"PUT /v1/job/{id}/periodic/force":  ruleNamespace(acl.CapSubmitJob),
	"POST /v1/job/{id}/periodic/force": ruleNamespace(acl.CapSubmitJob),
	"PUT /v1/job/{id}/dispatch":        ruleNamespace(acl.CapDispatchJob),
	"POST /v1/job/{id}/dispatch":       ruleNamespace(acl.CapDispatchJob),
	// Validating and parsing read nothing of the cluster; Nomad asks for
	// read-job and parse-job.
	"PUT /v1/validate/job":                    ruleNamespace(acl.CapReadJob),
	"POST /v1/validate/job":                   ruleNamespace(acl.CapReadJob),
	"PUT /v1/jobs/parse":                      ruleNamespace(acl.CapParseJob),
	"POST /v1/jobs/parse":                     ruleNamespace(acl.CapParseJob),
	"PUT /v1/job/{id}/plan":                   ruleJobBody,
	"POST /v1/job/{id}/plan":                  ruleJobBody,
	"GET /v1/nodes":                           ruleNodeRead,
	"GET /v1/node/{id}":                       ruleNodeRead,
	"GET /v1/node/{id}/allocations":           ruleNodeRead, // the servers filter by read-job
	"GET /v1/node/pools":                      ruleNodeRead,
	"GET /v1/allocations":                     ruleNamespace(acl.CapReadJob),
	"GET /v1/allocation/{id}":                 ruleNamespace(acl.CapReadJob),
	"GET /v1/evaluations":                     ruleNamespace(acl.CapReadJob),
	"GET /v1/evaluation/{id}":                 ruleNamespace(acl.CapReadJob),
	"GET /v1/evaluation/{id}/allocations":     ruleNamespace(acl.CapReadJob),
	"GET /v1/client/fs/ls/{id}":               ruleInAllocNamespace,
	"GET /v1/client/fs/stat/{id}":             ruleInAllocNamespace,
	"GET /v1/client/fs/cat/{id}":              ruleInAllocNamespace,
	"GET /v1/client/fs/logs/{id}":             ruleInAllocNamespace,
	"PUT /v1/client/allocation/{id}/restart":  ruleInAllocNamespace,
	"POST /v1/client/allocation/{id}/restart": ruleInAllocNamespace,
	"PUT /v1/client/allocation/{id}/signal":   ruleInAllocNamespace,
	"POST /v1/client/allocation/{id}/signal":  ruleInAllocNamespace,
	"GET /v1/client/allocation/{id}/checks":   ruleInAllocNamespace,
	"GET /v1/client/allocation/{id}/exec":     ruleInAllocNamespace,
	// An allocation's client GC is submit-job in its namespace (decided by
	// the handler, as the other client calls); a node's GC and metadata are
	// node write (read for reading the metadata), as in Nomad.
	"GET /v1/client/allocation/{id}/gc":    ruleInAllocNamespace,
	"PUT /v1/client/allocation/{id}/gc":    ruleInAllocNamespace,
	"GET /v1/client/gc":                    ruleNodeWrite,
	"PUT /v1/client/gc":                    ruleNodeWrite,
	"GET /v1/client/metadata":              ruleNodeRead,
	"POST /v1/client/metadata":             ruleNodeWrite,
	"GET /v1/client/allocation/{id}/stats": ruleInAllocNamespace,
	// Job versions and deployments as in Nomad: reads read-job, changes
	// submit-job, in the ?namespace= (the servers check again in the
	// namespace of the job or deployment named).
	"GET /v1/job/{id}/versions":                  ruleNamespace(acl.CapReadJob),
	"PUT /v1/job/{id}/revert":                    ruleNamespace(acl.CapSubmitJob),
	"POST /v1/job/{id}/revert":                   ruleNamespace(acl.CapSubmitJob),
	"PUT /v1/job/{id}/stable":                    ruleNamespace(acl.CapSubmitJob),
	"POST /v1/job/{id}/stable":                   ruleNamespace(acl.CapSubmitJob),
	"GET /v1/job/{id}/deployments":               ruleNamespace(acl.CapReadJob),
	"GET /v1/job/{id}/deployment":                ruleNamespace(acl.CapReadJob),
	"GET /v1/deployments":                        ruleNamespace(acl.CapReadJob),
	"GET /v1/deployment/{id}":                    ruleNamespace(acl.CapReadJob),
	"GET /v1/deployment/allocations/{id}":        ruleNamespace(acl.CapReadJob),
	"PUT /v1/deployment/promote/{id}":            ruleNamespace(acl.CapSubmitJob),
	"POST /v1/deployment/promote/{id}":           ruleNamespace(acl.CapSubmitJob),
	"PUT /v1/deployment/fail/{id}":               ruleNamespace(acl.CapSubmitJob),
	"POST /v1/deployment/fail/{id}":              ruleNamespace(acl.CapSubmitJob),
	"PUT /v1/deployment/pause/{id}":              ruleNamespace(acl.CapSubmitJob),
	"POST /v1/deployment/pause/{id}":             ruleNamespace(acl.CapSubmitJob),
	"PUT /v1/deployment/allocation-health/{id}":  ruleNamespace(acl.CapSubmitJob),
	"POST /v1/deployment/allocation-health/{id}": ruleNamespace(acl.CapSubmitJob),
	// The registry: reads need read-job, deleting an instance submit-job,
	// in the ?namespace= (the servers check again in the instance's).
	"GET /v1/services":                ruleNamespace(acl.CapReadJob),
	"GET /v1/service/{id}":            ruleNamespace(acl.CapReadJob),
	"DELETE /v1/service/{id}/{regid}": ruleNamespace(acl.CapSubmitJob),
	"GET /v1/status/leader":           ruleOpen,
	// Nomad's /v1/system writes need a management token.
	"PUT /v1/system/gc":                  ruleManagement,
	"PUT /v1/system/reconcile/summaries": ruleManagement,
	"GET /v1/agent/health":               ruleOpen,
	"GET /v1/agent/members":              ruleNodeRead,
	"GET /v1/agent/self":                 ruleAgentRead, // as Nomad
	// The live log and the profiles, as Nomad: a profile can stall the
	// agent (CPU, trace) and shows its memory.
	"GET /v1/agent/monitor":         ruleAgentRead,
	"GET /v1/agent/pprof/{profile}": ruleAgentWrite,
	// Search reads each kind through its list RPC, whose own checks leave
	// out what the token may not read (as Nomad's search does).
	// The stream filters each event by the token: read-job in the event's
	// namespace, node read for nodes (as Nomad).
	"GET /v1/event/stream":  ruleJobOrNodeRead,
	"PUT /v1/search":        ruleJobOrNodeRead,
	"POST /v1/search":       ruleJobOrNodeRead,
	"PUT /v1/search/fuzzy":  ruleJobOrNodeRead,
	"POST /v1/search/fuzzy": ruleJobOrNodeRead,
	// Nomad leaves /v1/regions and /v1/status/peers open; orch opens only
	// health and the leader (README "Securing a cluster"). Both the regions
	// and the servers are the agent's gossip view; the peers are Raft's.
	"GET /v1/agent/servers": ruleAgentRead,
	"GET /v1/metrics":       ruleAgentRead,
	// The gossip keyring: agent read to list, agent write to change (as in
	// Nomad); the servers check again.
	"GET /v1/agent/keyring/list":     ruleAgentRead,
	"PUT /v1/agent/keyring/install":  ruleAgentWrite,
	"PUT /v1/agent/keyring/use":      ruleAgentWrite,
	"PUT /v1/agent/keyring/remove":   ruleAgentWrite,
	"PUT /v1/node/{id}/drain":        ruleNodeWrite,
	"POST /v1/node/{id}/drain":       ruleNodeWrite,
	"PUT /v1/node/{id}/eligibility":  ruleNodeWrite,
	"POST /v1/node/{id}/eligibility": ruleNodeWrite,
	// The server checks alloc-lifecycle in the allocation's namespace.
	"PUT /v1/allocation/{id}/stop":               ruleToken,
	"POST /v1/allocation/{id}/stop":              ruleToken,
	"GET /v1/regions":                            ruleAgentRead,
	"GET /v1/status/peers":                       ruleOperatorRead,
	"GET /v1/operator/autopilot/configuration":   ruleOperatorRead,
	"PUT /v1/operator/autopilot/configuration":   ruleOperatorWrite,
	"POST /v1/operator/autopilot/configuration":  ruleOperatorWrite,
	"GET /v1/operator/autopilot/health":          ruleOperatorRead,
	"GET /v1/operator/scheduler/configuration":   ruleOperatorRead,
	"PUT /v1/operator/scheduler/configuration":   ruleOperatorWrite,
	"POST /v1/operator/scheduler/configuration":  ruleOperatorWrite,
	"GET /v1/operator/raft/configuration":        ruleOperatorRead,
	"DELETE /v1/operator/raft/peer":              ruleOperatorWrite,
	"PUT /v1/operator/raft/transfer-leadership":  ruleOperatorWrite,
	"POST /v1/operator/raft/transfer-leadership": ruleOperatorWrite,
	"GET /v1/operator/snapshot":                  ruleManagement,
	"PUT /v1/operator/snapshot":                  ruleManagement,
	"POST /v1/operator/snapshot":                 ruleManagement,
	"PUT /v1/acl/bootstrap":                      ruleOpen, // once; the servers refuse a second
	"POST /v1/acl/bootstrap":                     ruleOpen,
	"GET /v1/acl/policies":                       ruleManagement,
	"GET /v1/acl/policy/{name}":                  ruleManagement,
	"PUT /v1/acl/policy/{name}":                  ruleManagement,
	"POST /v1/acl/policy/{name}":                 ruleManagement,
	"DELETE /v1/acl/policy/{name}":               ruleManagement,
	"GET /v1/acl/tokens":                         ruleManagement,
	"PUT /v1/acl/token":                          ruleManagement,
	"POST /v1/acl/token":                         ruleManagement,
	"GET /v1/acl/token/self":                     ruleToken,
	"GET /v1/acl/token/{id}":                     ruleManagement,
	"PUT /v1/acl/token/{id}":                     ruleManagement,
	"POST /v1/acl/token/{id}":                    ruleManagement,
	"DELETE /v1/acl/token/{id}":                  ruleManagement,
	// Namespaces as in Nomad: any token lists them (the servers keep those
	// it has a capability in) and reads one it has a capability in;
	// management writes them.
	"GET /v1/namespaces": func(a *acl.ACL, _ *http.Request) bool { return a.AllowAnyNamespace() },
	"GET /v1/namespace/{name}": func(a *acl.ACL, r *http.Request) bool {
		// Decided before routing: the path value is not set yet.
		return a.AllowNamespace(strings.TrimPrefix(r.URL.Path, "/v1/namespace/"))
	},
	"PUT /v1/namespace/{name}":     ruleManagement,
	"POST /v1/namespace/{name}":    ruleManagement,
	"PUT /v1/namespace":            ruleManagement,
	"POST /v1/namespace":           ruleManagement,
	"DELETE /v1/namespace/{name}":  ruleManagement,
	"GET /v1/acl/roles":            ruleManagement,
	"PUT /v1/acl/role":             ruleManagement,
	"POST /v1/acl/role":            ruleManagement,
	"GET /v1/acl/role/name/{name}": ruleManagement,
	"GET /v1/acl/role/{id}":        ruleManagement,
	"PUT /v1/acl/role/{id}":        ruleManagement,
	"POST /v1/acl/role/{id}":       ruleManagement,
	"DELETE /v1/acl/role/{id}":     ruleManagement,
}

// requestToken is the request's token: X-Nomad-Token, X-Orch-Token, or an
// Authorization: Bearer header, in that order; "" for none.
func requestToken(r *http.Request) string {
	for _, h := range []string{HeaderNomadToken, HeaderOrchToken} {
		if v := strings.TrimSpace(r.Header.Get(h)); v != "" {
			return v
		}
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

type tokenKey struct{}

// withToken carries the request's token to the RPCs of its handler.
func withToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey{}, token)
}

// authBackend gives every RPC of a handler the token of its request.
type authBackend struct{ Backend }

func (b authBackend) RPC(ctx context.Context, method string, args, reply any) error {
	if tok, _ := ctx.Value(tokenKey{}).(string); tok != "" {
		if a, ok := args.(structs.Authenticated); ok && a.GetAuthToken() == "" {
			a.SetAuthToken(tok)
		}
	}
	return b.Backend.RPC(ctx, method, args, reply)
}

// httpACL resolves tokens for the HTTP API and caches them.
type httpACL struct {
	ttl time.Duration
	now func() time.Time
	mu  struct {
		sync.Mutex
		m map[string]cachedACL
	}
}

type cachedACL struct {
	acl     *acl.ACL
	expires time.Time
}

// httpACLCacheSize bounds the cache; full, it starts over.
const httpACLCacheSize = 4096

// resolve returns the ACL of token from the cache or the servers.
func (c *httpACL) resolve(ctx context.Context, backend Backend, token string) (*acl.ACL, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.mu.m[token]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.acl, nil
	}
	var reply structs.ResolveACLTokenResponse
	if err := backend.RPC(ctx, "ACL.ResolveToken", &structs.GenericRequest{QueryOptions: structs.QueryOptions{AuthToken: token}}, &reply); err != nil {
		return nil, err
	}
	var a *acl.ACL
	switch {
	case !reply.Enabled:
		// The servers run without ACLs: they would not check either.
		a = acl.Management
	case reply.Token != nil && reply.Token.Type == structs.ACLManagementToken:
		a = acl.Management
	default:
		ps := make([]*acl.Policy, 0, len(reply.Policies))
		for _, p := range reply.Policies {
			if parsed, err := acl.Parse(p.Name, p.Rules); err == nil {
				ps = append(ps, parsed)
			}
		}
		a = acl.New(ps)
	}
	c.mu.Lock()
	if c.mu.m == nil || len(c.mu.m) >= httpACLCacheSize {
		c.mu.m = map[string]cachedACL{}
	}
	c.mu.m[token] = cachedACL{acl: a, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return a, nil
}

// authorizeClientCall checks, with ACLs, that the request's token has the
// capabilities of client method in the namespace of alloc: the route's
// rule saw only ?namespace=. It is the only check of a call the agent's
// own client serves in process; the servers check the others again
// (Server.DialNode).
func (s *HTTPServer) authorizeClientCall(ctx context.Context, r *http.Request, method string, alloc *structs.Allocation) error {
	if s.acl == nil {
		return nil
	}
	caps, ok := server.ClientCallCapabilities(method, alloc)
	if !ok {
		return structs.NewError(structs.CodeInternal, "%s is no client call", method)
	}
	a, err := s.acl.resolve(ctx, s.backend, requestToken(r))
	if err != nil {
		return err
	}
	for _, c := range caps {
		if !a.AllowNamespaceOperation(alloc.Namespace, c) {
			return structs.NewError(structs.CodePermissionDenied, "Permission denied")
		}
	}
	return nil
}

// authorize decides a request routed to pattern. It answers 403 itself and
// returns false when the request may not proceed.
func (s *HTTPServer) authorize(w http.ResponseWriter, r *http.Request, pattern string) bool {
	if s.acl == nil {
		return true
	}
	rule, declared := routeRules[pattern]
	if declared && rule == nil {
		return true // ruleOpen
	}
	if !declared {
		s.logger.Error("HTTP route has no ACL rule: refused (declare it in command/agent/http_acl.go)", "route", pattern)
		s.writeRawError(w, r, structs.NewError(structs.CodePermissionDenied, "Permission denied"))
		return false
	}
	a, err := s.acl.resolve(r.Context(), s.backend, requestToken(r))
	if err != nil {
		s.writeRawError(w, r, err)
		return false
	}
	if !rule(a, r) {
		s.writeRawError(w, r, structs.NewError(structs.CodePermissionDenied, "Permission denied"))
		return false
	}
	return true
}
