// Package dockere2e holds orch's multi-host end-to-end tests: three servers
// and two clients run as Docker containers on a user-defined network the
// suite creates, and faults are real — a container cut from the network
// (`docker network disconnect`), frozen (`docker pause`, like SIGSTOP) or
// killed (`docker kill`) while writers register jobs through the servers.
//
// Nothing is pulled: the suite builds a static orch binary and a small static
// helper (testdata/e2ehelper: a task that sleeps, and an HTTP probe used from
// inside a container that is cut off from every network), and an image FROM
// scratch holding the two. The test process reaches the agents only through
// their HTTP ports published on 127.0.0.1, and through `docker exec`.
//
// Every write attempt and its outcome goes into a History; checker.go (pure,
// unit-tested without Docker) compares it with the state the servers converge
// on: no acknowledged write lost, none applied twice, no node over-committed,
// every evaluation ended, every server on the same index and state.
//
// The suite runs only under `make e2e-docker` (which sets ORCH_E2E_DOCKER=1)
// and skips, saying why, when no Docker engine answers. Variables:
//
//	ORCH_E2E_DOCKER=1         run the container tests at all
//	ORCH_DOCKER_SCHEDULES=N   randomized fault schedules to run (default 20)
//	ORCH_DOCKER_SEED=S        seed of the schedules (default: from the clock; always printed)
//
// Figures are printed as lines `FIGURE name=... value=... unit=...`.
//
// The Docker CLI is driven through os/exec rather than the Engine Go client
// (github.com/docker/docker/client): the client would add a large module tree
// (OpenTelemetry, containerd, OCI specs, logrus) to orch's go.mod for a test
// suite, and the CLI already speaks every API version the engines we meet run.
package dockere2e
