// Package rawexec is the raw_exec driver: it runs a task's command as a plain
// child process of the agent, with the agent's user and no isolation, in the
// task directory, with its output appended to the alloc's log files.
//
// Each task runs in its own process group. Stopping a task signals the whole
// group (kill_signal, then SIGKILL after kill_timeout), and when the task's main
// process exits whatever it left in its group is killed too, so a task never
// leaks processes. Until the per-node supervisor exists (see DESIGN.md,
// "Clients"), tasks are children of the agent and die with it (Pdeathsig).
package rawexec
