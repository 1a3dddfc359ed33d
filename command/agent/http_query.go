package agent

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-bexpr"
)

// Query parameters. Every route declares in routeQuery the parameters it
// reads; ServeHTTP refuses a request with any other one (400 naming it)
// before the handler runs, so a parameter Nomad supports and orch does not
// (a job list's ?meta=true, a deregister's ?global=true, paging of ACL
// tokens) is never silently ignored. Nomad's client sends some of those
// with their zero value on every call (DeregisterOpts sends
// purge=false&global=false&eval_priority=0&no_shutdown_delay=false): a
// parameter listed in zeroOnly is accepted at its zero value ("", false, 0)
// and refused otherwise. TestEveryRouteHasAQueryRule fails on a route
// without an entry.
//
// List routes marked paged take Nomad's filter (a go-bexpr expression
// evaluated against each object as the API sends it, Nomad's field names),
// per_page and next_token (the response's X-Nomad-NextToken names the first
// object of the next page) and, where Nomad has it, reverse; applyListQuery
// does it in wrap, on the converted list.

// queryRule is what one route accepts.
type queryRule struct {
	params   []string // read by the handler, beyond commonParams
	zeroOnly []string // Nomad's, accepted only at their zero value
	// order, when set, makes the route a paged, filtered list: the token of
	// an object, whose lexical order is the list's order.
	order func(v reflect.Value) string
	// reverse: the list also takes ?reverse=true (Nomad's newest first).
	reverse bool
}

// commonParams every route takes: what Nomad's client sends on any call
// (region, namespace, blocking-query and consistency options) and ?pretty.
var commonParams = []string{"region", "namespace", "index", "wait", "stale", "pretty"}

// listParams are the paged lists' own (filter and paging).
var listParams = []string{"prefix", "filter", "per_page", "next_token"}

// Orders of the paged lists and their tokens (opaque to clients, as Nomad's).
var (
	// byID: nodes.
	byID = func(v reflect.Value) string { return fieldString(v, "ID") }
	// byName: node pools.
	byName = func(v reflect.Value) string { return fieldString(v, "Name") }
	// byNamespaceID: jobs, in each namespace by ID.
	byNamespaceID = func(v reflect.Value) string { return fieldString(v, "Namespace") + "." + fieldString(v, "ID") }
	// byCreateIndex: allocations, evaluations, deployments, oldest first
	// (indexes zero-padded so that the lexical order is the numeric one).
	byCreateIndex = func(v reflect.Value) string {
		return fmt.Sprintf("%020d.%s", fieldUint(v, "CreateIndex"), fieldString(v, "ID"))
	}
)

// Rules shared by several routes.
var (
	qNone  = queryRule{}
	qWrite = queryRule{zeroOnly: []string{"idempotency_token"}}
	qCAS   = queryRule{params: []string{"cas"}, zeroOnly: []string{"idempotency_token"}}
	qFS    = queryRule{params: []string{"path"}}
	qStubs = queryRule{zeroOnly: listParams} // lists Nomad pages or filters and orch does not
)

// routeQuery holds the query rule of every route the mux serves.
var routeQuery = map[string]queryRule{
	"GET /v1/jobs":                     {params: []string{"prefix", "meta"}, order: byNamespaceID},
	"PUT /v1/jobs":                     qWrite,
	"POST /v1/jobs":                    qWrite,
	"GET /v1/job/{id}":                 qNone,
	"PUT /v1/job/{id}":                 qWrite,
	"POST /v1/job/{id}":                qWrite,
	"DELETE /v1/job/{id}":              {params: []string{"purge"}, zeroOnly: []string{"global", "eval_priority", "no_shutdown_delay", "idempotency_token"}},
	"GET /v1/job/{id}/allocations":     {params: []string{"all"}, zeroOnly: []string{"resources", "task_states"}},
	"GET /v1/job/{id}/evaluations":     qNone,
	"PUT /v1/job/{id}/plan":            qWrite,
	"POST /v1/job/{id}/plan":           qWrite,
	"GET /v1/job/{id}/summary":         qNone,
	"GET /v1/job/{id}/scale":           qNone,
	"PUT /v1/job/{id}/scale":           qWrite,
	"POST /v1/job/{id}/scale":          qWrite,
	"PUT /v1/job/{id}/periodic/force":  qWrite,
	"POST /v1/job/{id}/periodic/force": qWrite,
	"PUT /v1/job/{id}/dispatch":        {params: []string{"idempotency_token"}},
	"POST /v1/job/{id}/dispatch":       {params: []string{"idempotency_token"}},
	"PUT /v1/validate/job":             qWrite,
	"POST /v1/validate/job":            qWrite,
	"PUT /v1/jobs/parse":               qWrite,
	"POST /v1/jobs/parse":              qWrite,
	"GET /v1/job/{id}/versions":        {params: []string{"diffs"}, zeroOnly: []string{"diff_tag", "diff_version"}},
	"PUT /v1/job/{id}/revert":          qWrite,
	"POST /v1/job/{id}/revert":         qWrite,
	"PUT /v1/job/{id}/stable":          qWrite,
	"POST /v1/job/{id}/stable":         qWrite,
	"GET /v1/job/{id}/deployments":     {params: []string{"all"}},
	"GET /v1/job/{id}/deployment":      qNone,

	"GET /v1/deployments":                        {params: []string{"prefix"}, order: byCreateIndex, reverse: true},
	"GET /v1/deployment/{id}":                    qNone,
	"GET /v1/deployment/allocations/{id}":        qNone,
	"PUT /v1/deployment/promote/{id}":            qWrite,
	"POST /v1/deployment/promote/{id}":           qWrite,
	"PUT /v1/deployment/fail/{id}":               qWrite,
	"POST /v1/deployment/fail/{id}":              qWrite,
	"PUT /v1/deployment/pause/{id}":              qWrite,
	"POST /v1/deployment/pause/{id}":             qWrite,
	"PUT /v1/deployment/allocation-health/{id}":  qWrite,
	"POST /v1/deployment/allocation-health/{id}": qWrite,

	"GET /v1/nodes":                       {params: []string{"prefix"}, order: byID, zeroOnly: []string{"resources", "os"}},
	"GET /v1/node/{id}":                   qNone,
	"GET /v1/node/{id}/allocations":       qNone,
	"GET /v1/node/pools":                  {params: []string{"prefix"}, order: byName},
	"GET /v1/allocations":                 {params: []string{"prefix"}, order: byCreateIndex, reverse: true, zeroOnly: []string{"resources", "task_states"}},
	"GET /v1/allocation/{id}":             qNone,
	"GET /v1/evaluations":                 {params: []string{"prefix"}, order: byCreateIndex, reverse: true, zeroOnly: []string{"job", "status"}},
	"GET /v1/evaluation/{id}":             {params: []string{"related"}},
	"GET /v1/evaluation/{id}/allocations": qNone,

	"GET /v1/client/fs/ls/{id}":               qFS,
	"GET /v1/client/fs/stat/{id}":             qFS,
	"GET /v1/client/fs/cat/{id}":              qFS,
	"GET /v1/client/fs/logs/{id}":             {params: []string{"task", "type", "origin", "offset", "follow", "plain"}},
	"PUT /v1/client/allocation/{id}/restart":  qWrite,
	"POST /v1/client/allocation/{id}/restart": qWrite,
	"PUT /v1/client/allocation/{id}/signal":   qWrite,
	"POST /v1/client/allocation/{id}/signal":  qWrite,
	"GET /v1/client/allocation/{id}/checks":   qNone,
	"GET /v1/client/allocation/{id}/stats":    {params: []string{"task"}},
	"GET /v1/client/allocation/{id}/exec":     {params: []string{"task", "command", "tty"}, zeroOnly: []string{"ws_handshake"}},
	"GET /v1/client/allocation/{id}/gc":       qNone,
	"PUT /v1/client/allocation/{id}/gc":       qWrite,
	"GET /v1/client/gc":                       {params: []string{"node_id"}},
	"PUT /v1/client/gc":                       {params: []string{"node_id"}, zeroOnly: []string{"idempotency_token"}},
	"GET /v1/client/metadata":                 {params: []string{"node_id"}},
	"POST /v1/client/metadata":                qWrite,
	"PUT /v1/system/gc":                       qWrite,
	"PUT /v1/system/reconcile/summaries":      qWrite,

	"GET /v1/namespaces":          {params: []string{"prefix"}},
	"GET /v1/namespace/{name}":    qNone,
	"PUT /v1/namespace/{name}":    qWrite,
	"POST /v1/namespace/{name}":   qWrite,
	"PUT /v1/namespace":           qWrite,
	"POST /v1/namespace":          qWrite,
	"DELETE /v1/namespace/{name}": qWrite,

	"GET /v1/services":                {order: func(v reflect.Value) string { return fieldString(v, "Namespace") }},
	"GET /v1/service/{id}":            {params: []string{"choose", "tag"}, zeroOnly: listParams},
	"DELETE /v1/service/{id}/{regid}": qWrite,

	"GET /v1/status/leader":         qNone,
	"GET /v1/status/peers":          qNone,
	"GET /v1/regions":               qNone,
	"GET /v1/agent/servers":         qNone,
	"GET /v1/agent/members":         qNone,
	"GET /v1/agent/health":          {params: []string{"type"}},
	"GET /v1/agent/self":            qNone,
	"GET /v1/agent/monitor":         {params: []string{"log_level", "log_json", "node_id", "server_id"}},
	"GET /v1/agent/pprof/{profile}": {params: []string{"seconds", "debug", "gc", "node_id", "server_id"}},
	"GET /v1/event/stream":          {params: []string{"topic"}},
	"PUT /v1/search":                qNone,
	"POST /v1/search":               qNone,
	"PUT /v1/search/fuzzy":          qNone,
	"POST /v1/search/fuzzy":         qNone,
	"GET /v1/metrics":               {params: []string{"format"}},

	"GET /v1/agent/keyring/list":     qNone,
	"PUT /v1/agent/keyring/install":  qWrite,
	"PUT /v1/agent/keyring/use":      qWrite,
	"PUT /v1/agent/keyring/remove":   qWrite,
	"PUT /v1/node/{id}/drain":        qWrite,
	"POST /v1/node/{id}/drain":       qWrite,
	"PUT /v1/node/{id}/eligibility":  qWrite,
	"POST /v1/node/{id}/eligibility": qWrite,
	"PUT /v1/allocation/{id}/stop":   {zeroOnly: []string{"no_shutdown_delay", "idempotency_token"}},
	"POST /v1/allocation/{id}/stop":  {zeroOnly: []string{"no_shutdown_delay", "idempotency_token"}},

	"GET /v1/operator/autopilot/configuration":   qNone,
	"PUT /v1/operator/autopilot/configuration":   qCAS,
	"POST /v1/operator/autopilot/configuration":  qCAS,
	"GET /v1/operator/autopilot/health":          qNone,
	"GET /v1/operator/scheduler/configuration":   qNone,
	"PUT /v1/operator/scheduler/configuration":   qCAS,
	"POST /v1/operator/scheduler/configuration":  qCAS,
	"GET /v1/operator/raft/configuration":        qNone,
	"DELETE /v1/operator/raft/peer":              {params: []string{"id", "address"}},
	"PUT /v1/operator/raft/transfer-leadership":  {params: []string{"id"}, zeroOnly: []string{"address"}},
	"POST /v1/operator/raft/transfer-leadership": {params: []string{"id"}, zeroOnly: []string{"address"}},
	"GET /v1/operator/snapshot":                  qNone,
	"PUT /v1/operator/snapshot":                  qNone,
	"POST /v1/operator/snapshot":                 qNone,

	"PUT /v1/acl/bootstrap":        qWrite,
	"POST /v1/acl/bootstrap":       qWrite,
	"GET /v1/acl/policies":         qStubs,
	"GET /v1/acl/policy/{name}":    qNone,
	"PUT /v1/acl/policy/{name}":    qWrite,
	"POST /v1/acl/policy/{name}":   qWrite,
	"DELETE /v1/acl/policy/{name}": qWrite,
	"GET /v1/acl/tokens":           {zeroOnly: append(slices.Clone(listParams), "reverse")},
	"PUT /v1/acl/token":            qWrite,
	"POST /v1/acl/token":           qWrite,
	"GET /v1/acl/token/self":       qNone,
	"GET /v1/acl/token/{id}":       qNone,
	"PUT /v1/acl/token/{id}":       qWrite,
	"POST /v1/acl/token/{id}":      qWrite,
	"DELETE /v1/acl/token/{id}":    qWrite,
	"GET /v1/acl/roles":            {params: []string{"prefix"}},
	"PUT /v1/acl/role":             qWrite,
	"POST /v1/acl/role":            qWrite,
	"GET /v1/acl/role/name/{name}": qNone,
	"GET /v1/acl/role/{id}":        qNone,
	"PUT /v1/acl/role/{id}":        qWrite,
	"POST /v1/acl/role/{id}":       qWrite,
	"DELETE /v1/acl/role/{id}":     qWrite,
}

// checkQuery refuses a request whose query has a parameter its route does
// not take (see the top of this file); nil when it has none.
func checkQuery(pattern string, r *http.Request) error {
	rule, ok := routeQuery[pattern]
	if !ok {
		return fmt.Errorf("route %s has no query rule (a bug: add it to routeQuery)", pattern)
	}
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case slices.Contains(commonParams, k), slices.Contains(rule.params, k):
		case rule.order != nil && slices.Contains(listParams, k):
		case rule.reverse && k == "reverse":
		case slices.Contains(rule.zeroOnly, k):
			if v := q.Get(k); v != "" && v != "false" && v != "0" {
				return badRequest("query parameter %s=%q is not supported by orch on %s (Nomad's; orch accepts it only unset, false or 0)", k, v, pattern)
			}
		default:
			return badRequest("unknown query parameter %q on %s (accepted: %s)", k, pattern, strings.Join(rule.accepted(), ", "))
		}
	}
	return nil
}

// accepted lists the parameters a route takes, for error messages.
func (q queryRule) accepted() []string {
	out := slices.Concat(commonParams, q.params)
	if q.order != nil {
		out = append(out, listParams...)
	}
	if q.reverse {
		out = append(out, "reverse")
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// headerNextToken names the first object of the next page of a paged list.
const headerNextToken = "X-Nomad-NextToken"

// applyListQuery filters and pages a paged route's converted list (a slice
// of the API's objects): ?filter= keeps the objects the expression matches,
// the list is put in the route's order (reversed with ?reverse=true),
// ?next_token= starts it at that object, and ?per_page= cuts it, naming the
// next page's first object in X-Nomad-NextToken. Anything not a slice, or a
// route not paged, is returned as it is.
func applyListQuery(w http.ResponseWriter, r *http.Request, out any) (any, error) {
	rule := routeQuery[r.Pattern]
	v := reflect.ValueOf(out)
	if rule.order == nil || v.Kind() != reflect.Slice {
		return out, nil
	}
	q := r.URL.Query()
	var eval *bexpr.Evaluator
	if expr := q.Get("filter"); expr != "" {
		var err error
		if eval, err = bexpr.CreateEvaluator(expr); err != nil {
			return nil, badRequest("invalid filter %q: %v", expr, err)
		}
	}
	perPage := 0
	if s := q.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, badRequest("invalid per_page %q: must be a non-negative integer", s)
		}
		perPage = n
	}
	reverse := false
	if s := q.Get("reverse"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, badRequest("invalid reverse %q: must be true or false", s)
		}
		reverse = b
	}
	type entry struct {
		token string
		v     reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for i := range v.Len() {
		item := v.Index(i)
		if eval != nil {
			ok, err := eval.Evaluate(item.Interface())
			if err != nil {
				return nil, badRequest("filter %q: %v", q.Get("filter"), err)
			}
			if !ok {
				continue
			}
		}
		entries = append(entries, entry{rule.order(item), item})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		if reverse {
			return strings.Compare(b.token, a.token)
		}
		return strings.Compare(a.token, b.token)
	})
	if next := q.Get("next_token"); next != "" {
		i := slices.IndexFunc(entries, func(e entry) bool {
			if reverse {
				return e.token <= next
			}
			return e.token >= next
		})
		if i < 0 {
			i = len(entries)
		}
		entries = entries[i:]
	}
	if perPage > 0 && len(entries) > perPage {
		w.Header().Set(headerNextToken, entries[perPage].token)
		entries = entries[:perPage]
	}
	res := reflect.MakeSlice(v.Type(), len(entries), len(entries))
	for i, e := range entries {
		res.Index(i).Set(e.v)
	}
	return res.Interface(), nil
}

// fieldString is the string field name of the struct v is or points to, ""
// when it has none.
func fieldString(v reflect.Value, name string) string {
	f := field(v, name)
	if f.IsValid() && f.Kind() == reflect.String {
		return f.String()
	}
	return ""
}

// fieldUint is the unsigned integer field name of the struct v is or points
// to, 0 when it has none.
func fieldUint(v reflect.Value, name string) uint64 {
	f := field(v, name)
	if f.IsValid() && f.CanUint() {
		return f.Uint()
	}
	return 0
}

func field(v reflect.Value, name string) reflect.Value {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.FieldByName(name)
}
