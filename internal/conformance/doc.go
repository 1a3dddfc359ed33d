// Package conformance holds the tests that orch's HTTP API speaks Nomad's:
// a real in-process dev agent (internal/agenttest) driven through Nomad's own
// Go client, github.com/hashicorp/nomad/api, one case per route of the
// agent's router, each asserting the values decoded (not only the absence of
// an error) and decoding every JSON answer strictly against Nomad's type (a
// field Nomad's type lacks, or of another JSON type, fails). A route added to
// the router without a case fails TestEveryRouteHasACase, which lists the
// routes to add cases for. The package has only tests.
package conformance
