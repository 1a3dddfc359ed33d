// Package exec is the exec driver: it runs a task's command isolated, as
// Nomad's exec driver does, with the node's supervisor (package
// client/supervisor) as its parent, so that tasks outlive agent restarts and
// upgrades exactly as raw_exec tasks do.
//
// For each start the driver makes the task's cgroup (v1: one per memory,
// cpu, cpuacct and pids hierarchy; v2: one, detected at
// /sys/fs/cgroup) and writes its limits: memory (hard; memory_max as the
// hard limit and memory as the soft one under oversubscription), cpu shares
// (v2: the equivalent weight), a pids limit. It then asks the supervisor to
// start the task with an isolation spec (package
// client/supervisor/launch): the supervisor starts its own binary as a
// launcher in new pid, mount, ipc and uts namespaces; the launcher joins the
// cgroup, builds the task's root from the task directory (chroot_env bound
// read-only, /alloc, /secrets as a 0700 tmpfs of the task's user, /dev, a
// /proc of the task's PID namespace), pivots into it, drops to the task's
// user (nobody by default) and execs the command. The task is then PID 1 of
// its namespace: no orch process stays per task, and when the task exits
// the kernel kills whatever it left in its namespace. As PID 1 it receives
// only the signals it handles: a task that ignores its kill_signal is
// killed after kill_timeout.
//
// An exit after the kernel OOM-killed a process of the task (the cgroup's
// oom_kill counter) is reported OOMKilled with the limit; stats come from
// the cgroup. Destroy kills what is left in the cgroup and removes it; the
// mounts were only ever in the task's mount namespace.
package exec
