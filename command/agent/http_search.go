package agent

import (
	"net/http"
	"slices"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// The search endpoints, as Nomad's: PUT/POST /v1/search (prefix of IDs) and
// /v1/search/fuzzy (substring of names, any case), over jobs, allocations,
// evaluations, nodes, deployments and node pools (and task groups, fuzzy).
// Each kind is read with its list RPC, so the servers' ACL checks apply: a
// kind the token may not read is left out, as Nomad leaves it out. At most
// searchLimit matches per kind, the cut ones flagged in Truncations.

// searchLimit is Nomad's number of matches per context.
const searchLimit = 20

// searchContexts are the contexts a prefix search covers ("all").
var searchContexts = []string{api.SearchAllocs, api.SearchDeployments, api.SearchEvals, api.SearchJobs, api.SearchNodes, api.SearchNodePools}

// fuzzyContexts are the contexts a fuzzy search covers ("all").
var fuzzyContexts = []string{api.SearchAllocs, api.SearchDeployments, api.SearchEvals, api.SearchGroups, api.SearchJobs, api.SearchNodes, api.SearchNodePools}

// searchObjects are the lists a search reads, fetched once per request.
type searchObjects struct {
	jobs   []*structs.JobListStub
	allocs []*structs.AllocListStub
	evals  []*structs.Evaluation
	nodes  []*structs.NodeListStub
	deps   []*structs.Deployment
	meta   structs.QueryMeta
	denied map[string]bool // contexts the token may not read
}

// load reads the lists of the contexts asked for, with prefix (for the
// servers' own prefix match) and the request's options.
func (s *HTTPServer) loadSearch(r *http.Request, q structs.QueryOptions, contexts []string) (*searchObjects, error) {
	o := &searchObjects{denied: map[string]bool{}}
	call := func(ctx, method string, args, reply any, meta *structs.QueryMeta) error {
		err := s.backend.RPC(r.Context(), method, args, reply)
		if structs.CodeOf(err) == structs.CodePermissionDenied {
			o.denied[ctx] = true
			return nil
		}
		if err == nil && meta.Index > o.meta.Index {
			o.meta = *meta
		}
		return err
	}
	for _, c := range contexts {
		var err error
		switch c {
		case api.SearchJobs, api.SearchGroups:
			if o.jobs != nil {
				continue
			}
			var reply structs.JobListResponse
			err = call(c, "Job.List", &structs.JobListRequest{QueryOptions: q}, &reply, &reply.QueryMeta)
			o.jobs = nonNil(reply.Jobs)
		case api.SearchAllocs:
			var reply structs.AllocListResponse
			err = call(c, "Alloc.List", &structs.AllocListRequest{QueryOptions: q}, &reply, &reply.QueryMeta)
			o.allocs = reply.Allocations
		case api.SearchEvals:
			var reply structs.EvalListResponse
			err = call(c, "Eval.List", &structs.EvalListRequest{QueryOptions: q}, &reply, &reply.QueryMeta)
			o.evals = reply.Evaluations
		case api.SearchNodes, api.SearchNodePools:
			if o.nodes != nil {
				continue
			}
			var reply structs.NodeListResponse
			err = call(c, "Node.List", &structs.NodeListRequest{QueryOptions: q}, &reply, &reply.QueryMeta)
			o.nodes = nonNil(reply.Nodes)
		case api.SearchDeployments:
			var reply structs.DeploymentListResponse
			err = call(c, "Deployment.List", &structs.DeploymentListRequest{QueryOptions: q}, &reply, &reply.QueryMeta)
			o.deps = reply.Deployments
		}
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}

// searchQuery reads the request's options and the body's, the body's
// region and namespace winning when set.
func searchQuery(r *http.Request, body api.SearchQueryOptions) (structs.QueryOptions, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return q, err
	}
	if body.Region != "" {
		q.Region = body.Region
	}
	if body.Namespace != "" {
		q.Namespace = body.Namespace
	}
	q.AllowStale = q.AllowStale || body.AllowStale
	q.MinQueryIndex = 0 // searches do not block
	return q, nil
}

// searchContextsOf checks the context asked for and returns those to
// search.
func searchContextsOf(ctx string, all []string) ([]string, error) {
	switch {
	case ctx == "" || ctx == api.SearchAll:
		return all, nil
	case slices.Contains(all, ctx):
		return []string{ctx}, nil
	}
	return nil, badRequest("invalid search context %q: must be %s or one of %s", ctx, api.SearchAll, strings.Join(all, ", "))
}

// search is PUT/POST /v1/search: the IDs starting with Prefix, by context.
func (s *HTTPServer) search(r *http.Request) (any, error) {
	var body api.SearchRequest
	if err := decodeWireBody(r.Body, "search request", &body); err != nil {
		return nil, err
	}
	contexts, err := searchContextsOf(body.Context, searchContexts)
	if err != nil {
		return nil, err
	}
	q, err := searchQuery(r, body.SearchQueryOptions)
	if err != nil {
		return nil, err
	}
	q.Prefix = body.Prefix
	o, err := s.loadSearch(r, q, contexts)
	if err != nil {
		return nil, err
	}
	resp := &api.SearchResponse{Matches: map[string][]string{}, Truncations: map[string]bool{}}
	for _, c := range contexts {
		if o.denied[c] {
			continue
		}
		var ids []string
		switch c {
		case api.SearchJobs:
			ids = collect(o.jobs, func(j *structs.JobListStub) string { return j.ID })
		case api.SearchAllocs:
			ids = collect(o.allocs, func(a *structs.AllocListStub) string { return a.ID })
		case api.SearchEvals:
			ids = collect(o.evals, func(e *structs.Evaluation) string { return e.ID })
		case api.SearchNodes:
			ids = collect(o.nodes, func(n *structs.NodeListStub) string { return n.ID })
		case api.SearchDeployments:
			ids = collect(o.deps, func(d *structs.Deployment) string { return d.ID })
		case api.SearchNodePools:
			// Node.List matched the prefix on node IDs: pools match on their
			// names, from every node.
			all, err := s.loadSearch(r, structs.QueryOptions{Region: q.Region, AllowStale: q.AllowStale}, []string{api.SearchNodes})
			if err != nil {
				return nil, err
			}
			for _, p := range structs.NodePools(all.nodes) {
				if strings.HasPrefix(p.Name, body.Prefix) {
					ids = append(ids, p.Name)
				}
			}
		}
		// The servers matched the prefix already (node pools aside).
		ids = slices.DeleteFunc(ids, func(id string) bool { return !strings.HasPrefix(id, body.Prefix) })
		slices.Sort(ids)
		ids = slices.Compact(ids)
		resp.Matches[c], resp.Truncations[c] = truncate(ids)
	}
	return withMeta{body: resp, meta: o.meta}, nil
}

// fuzzySearch is PUT/POST /v1/search/fuzzy: the objects whose name (a job's
// ID, an allocation's, node's or group's name; an evaluation's or
// deployment's ID) contains Text, in any case.
func (s *HTTPServer) fuzzySearch(r *http.Request) (any, error) {
	var body api.FuzzySearchRequest
	if err := decodeWireBody(r.Body, "fuzzy search request", &body); err != nil {
		return nil, err
	}
	if len(body.Text) < 2 {
		return nil, badRequest("fuzzy search Text %q: must be at least 2 characters (as Nomad's min_term_length)", body.Text)
	}
	contexts, err := searchContextsOf(body.Context, fuzzyContexts)
	if err != nil {
		return nil, err
	}
	q, err := searchQuery(r, body.SearchQueryOptions)
	if err != nil {
		return nil, err
	}
	o, err := s.loadSearch(r, q, contexts)
	if err != nil {
		return nil, err
	}
	text := strings.ToLower(body.Text)
	has := func(name string) bool { return strings.Contains(strings.ToLower(name), text) }
	resp := &api.FuzzySearchResponse{Matches: map[string][]api.FuzzyMatch{}, Truncations: map[string]bool{}}
	for _, c := range contexts {
		if o.denied[c] {
			continue
		}
		var ms []api.FuzzyMatch
		switch c {
		case api.SearchJobs:
			for _, j := range o.jobs {
				if has(j.ID) || has(j.Name) {
					ms = append(ms, api.FuzzyMatch{ID: j.ID, Scope: []string{j.Namespace}})
				}
			}
		case api.SearchGroups:
			for _, a := range o.jobs {
				for _, g := range groupsOf(a) {
					if has(g) {
						ms = append(ms, api.FuzzyMatch{ID: g, Scope: []string{a.Namespace, a.ID}})
					}
				}
			}
		case api.SearchAllocs:
			for _, a := range o.allocs {
				if has(a.Name) || has(a.ID) {
					ms = append(ms, api.FuzzyMatch{ID: a.Name, Scope: []string{a.Namespace, a.ID}})
				}
			}
		case api.SearchEvals:
			for _, e := range o.evals {
				if has(e.ID) {
					ms = append(ms, api.FuzzyMatch{ID: e.ID, Scope: []string{e.Namespace, e.JobID}})
				}
			}
		case api.SearchNodes:
			for _, n := range o.nodes {
				if has(n.Name) || has(n.ID) {
					ms = append(ms, api.FuzzyMatch{ID: n.Name, Scope: []string{n.ID}})
				}
			}
		case api.SearchDeployments:
			for _, d := range o.deps {
				if has(d.ID) {
					ms = append(ms, api.FuzzyMatch{ID: d.ID, Scope: []string{d.Namespace, d.JobID}})
				}
			}
		case api.SearchNodePools:
			for _, p := range structs.NodePools(o.nodes) {
				if has(p.Name) {
					ms = append(ms, api.FuzzyMatch{ID: p.Name})
				}
			}
		}
		slices.SortFunc(ms, func(a, b api.FuzzyMatch) int { return strings.Compare(a.ID, b.ID) })
		resp.Matches[c], resp.Truncations[c] = truncate(ms)
	}
	return withMeta{body: resp, meta: o.meta}, nil
}

// groupsOf are the task groups a job list entry names (its summary's).
func groupsOf(j *structs.JobListStub) []string {
	if j.JobSummary == nil {
		return nil
	}
	var out []string
	for g := range j.JobSummary.Summary {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

func collect[T any](in []T, id func(T) string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		out = append(out, id(v))
	}
	return out
}

// truncate cuts a context's matches to searchLimit, saying whether it cut.
func truncate[T any](in []T) ([]T, bool) {
	if len(in) > searchLimit {
		return in[:searchLimit], true
	}
	if in == nil {
		in = []T{}
	}
	return in, false
}
