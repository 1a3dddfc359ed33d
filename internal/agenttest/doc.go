// Package agenttest starts a real orch agent in the test process, wired as
// `orch agent -dev` wires it (command/agent: a server with real Raft on disk,
// optionally a client running real tasks, the HTTP API), on 127.0.0.1 with
// free ports and a temporary data directory; it waits until the agent has a
// leader (and its node is ready) and stops it when the test ends.
//
// The HTTP, api and CLI tests run against it. Where a test needs a failure the
// real agent would not produce on demand, Faults serves the same HTTP API over
// a thin wrapper of the agent's backend that makes chosen RPC methods fail
// with a given (coded) error or hang; it never answers in the server's place.
//
// Only tests import this package: it imports testing.
package agenttest
