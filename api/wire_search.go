package api

// The search wire: PUT/POST /v1/search and /v1/search/fuzzy, in Nomad's
// shapes. Nomad's client sends its QueryOptions inside the body too (zero
// valued: the options travel in the query string); the ones orch has no use
// for in a body are Unsupported, so a body that sets them is refused.

// Search contexts: Nomad's names of the kinds of objects searched.
const (
	SearchAll         = "all"
	SearchJobs        = "jobs"
	SearchAllocs      = "allocs"
	SearchEvals       = "evals"
	SearchNodes       = "nodes"
	SearchDeployments = "deployment"
	SearchNodePools   = "node_pools"
	SearchGroups      = "groups"
)

// SearchQueryOptions are the QueryOptions Nomad's client embeds in a search
// body.
type SearchQueryOptions struct {
	Region     string `json:",omitempty"`
	Namespace  string `json:",omitempty"`
	AllowStale bool   `json:",omitempty"`
	// Prefix is the request's own in a prefix search (SearchRequest's
	// field wins); in a fuzzy search's body it is unused.
	Prefix    Unsupported
	WaitIndex Unsupported
	WaitTime  Unsupported
	Params    Unsupported
	Headers   Unsupported
	AuthToken Unsupported
	Filter    Unsupported
	PerPage   Unsupported
	NextToken Unsupported
	Reverse   Unsupported
}

// SearchRequest is a prefix search: the objects of Context ("all" for
// every kind) whose ID starts with Prefix.
type SearchRequest struct {
	Prefix  string `json:"Prefix"`
	Context string
	SearchQueryOptions
}

// SearchResponse lists the matching IDs by context, at most 20 each;
// Truncations says which lists were cut.
type SearchResponse struct {
	Matches     map[string][]string
	Truncations map[string]bool
	Index       uint64 `json:",omitempty"`
}

// FuzzySearchRequest is a fuzzy search: the objects of Context whose name
// contains Text, in any case.
type FuzzySearchRequest struct {
	Text    string
	Context string
	SearchQueryOptions
}

// FuzzyMatch is one match: the object's ID or name, and the IDs of the
// objects it is part of (a group's namespace and job).
type FuzzyMatch struct {
	ID    string
	Scope []string `json:",omitempty"`
}

// FuzzySearchResponse lists the matches by context, at most 20 each.
type FuzzySearchResponse struct {
	Matches     map[string][]FuzzyMatch
	Truncations map[string]bool
	Index       uint64 `json:",omitempty"`
}
