// Package e2e holds orch's end-to-end tests: they build the orch binary, run
// real agents as processes on 127.0.0.1 with temporary data directories, drive
// them with the CLI and the HTTP API, and check what really happened on the
// machine (processes, files).
package e2e
