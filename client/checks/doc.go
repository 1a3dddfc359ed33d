// Package checks runs the checks of the services of a client's allocations
// (`check` blocks: http, tcp, grpc, script) and keeps their status.
//
// The brains are pure: state.record folds one probe result into a check's
// status (success_before_passing, failures_before_critical) and says when
// check_restart calls for a restart, and since when the check has been
// healthy for its on_update, which the alloc runner's health tracker
// (health_check = "checks") reads through AllocChecks and OnChange. The
// Runner is the plumbing: ONE scheduler goroutine keeps every check of the
// node in a heap ordered by its next run time and hands due checks to a
// small fixed pool of workers that probe them, so a node with a thousand
// checks runs a handful of goroutines, not one timer per check. The client
// tells the Runner of every new allocation state (AllocUpdated), as it tells
// the service registrar: a service's checks run while the service is
// registered.
package checks
