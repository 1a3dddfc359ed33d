// Package api is the Go client of orch's HTTP API (/v1/...), used by the CLI
// (package command), the end-to-end tests and third-party tools.
//
// A Client is made once with NewClient and is safe for concurrent use. Its
// endpoint groups (Jobs, Nodes, Allocations, Evaluations, Status, Agent) map
// one method to one HTTP request; bodies are the structs types, encoded as the
// JSON the agent speaks (Nomad's field names).
//
// Reads take *QueryOptions (nil for none) and return *QueryMeta: pass
// QueryMeta.LastIndex back as QueryOptions.WaitIndex to make a blocking query
// that returns once the data changes past that index, or after WaitTime.
//
// Errors: a response that is not 2xx is an *Error carrying the status code and
// the agent's message as is; an agent that cannot be reached is a *ConnError
// whose text tells the user what to check.
package api
