// Package supervisor is the per-node process supervisor and the agent's
// client of it.
//
// The supervisor (`orch supervisor`, started by the client agent in its own
// session) is the parent of every process-based task on the node. It is a
// child subreaper, so whatever a task leaves behind is reaped too. It starts
// a task in its own process group, reaps it, records how it ended, signals
// and kills it (the whole group), and copies its stdout and stderr into
// rotated log files (package client/tasklog). Each task has a record on disk
// (<dir>/tasks/<id>.json), so that:
//
//   - the agent can die, restart or be upgraded while its tasks run on: a new
//     agent connects to the same supervisor (Dial) and learns, for each task,
//     whether it still runs or how it ended while the agent was away;
//   - the supervisor itself can die: the tasks run on (re-parented to init),
//     and the next supervisor adopts them by PID, checked against the
//     recorded start time so that a reused PID is never mistaken for the task,
//     and watches them through a pidfd. It cannot learn the exit status of a
//     process it did not parent, so such an exit is reported as unknown.
//   - the node can reboot: the records name the boot they were made in, and a
//     task of an earlier boot is reported lost.
//
// Task output goes through a named pipe per stream
// (<logdir>/.<task>.stdout.fifo) that the supervisor reads. The task holds a
// spare read end of its own pipes, so a write while no supervisor runs waits
// (once the pipe's buffer is full) instead of killing the task with SIGPIPE;
// the next supervisor reopens the pipes by name.
//
// The agent and the supervisor speak JSON lines over a unix socket
// (<dir>/supervisor.sock): requests carry an ID and are answered in any
// order; exits are pushed as events. The first exchange is a hello carrying
// ProtocolVersion.
package supervisor
