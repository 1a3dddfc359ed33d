// Package rawexec is the raw_exec driver: it runs a task's command as a plain
// process with the agent's user and no isolation, in the task directory.
//
// The process is a child of the node's supervisor (package
// client/supervisor), not of the agent: it outlives agent restarts and
// upgrades, and a restarted agent re-attaches to it (Recover). The supervisor
// runs each task in its own process group, signals and kills the whole group
// (kill_signal, then SIGKILL after kill_timeout), kills what the main process
// left in its group when it exits, and writes the task's stdout and stderr to
// rotated files (<task>.stdout.N) as the task's logs block says.
package rawexec
