// Package acl is orch's access control: Nomad's policy language (parse.go)
// and the compiled capability checks a request is authorized with (acl.go).
//
// A policy is HCL:
//
//	namespace "default" { policy = "write" }
//	namespace "prod-*"  { capabilities = ["read-job", "list-jobs"] }
//	node     { policy = "read" }
//	agent    { policy = "read" }
//	operator { policy = "deny" }
//
// Servers store policies (their source text and name) and tokens in Raft;
// whoever checks a request — the servers for every RPC, an agent's HTTP API
// for every route — compiles the policies of the request's token into an
// *ACL with New and asks it (AllowNamespaceOperation, AllowNodeWrite, ...).
// An *ACL is immutable, safe for concurrent use and cheap to ask: the
// answers are precomputed sets, so a cached *ACL costs a map lookup.
//
// The package imports nothing of orch: it is pure, and fuzzed.
package acl
