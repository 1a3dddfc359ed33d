// Package mock is the mock driver: tasks that run for a while in the agent's
// memory, print what they are told and exit as they are told, without forking
// anything. Scheduler, deployment and drain tests, and scale simulations, use
// it to run thousands of tasks cheaply; its config keys are Nomad's mock
// driver's (run_for, exit_code, exit_signal, start_error,
// start_error_recoverable, kill_after, stdout_string, stdout_repeat,
// stdout_repeat_duration).
//
// A mock task is a goroutine. The driver keeps its tasks by ID, so a client
// restarted in the same process (tests) reattaches to them as it would to
// containers; a new agent process has none and starts its tasks again.
package mock
