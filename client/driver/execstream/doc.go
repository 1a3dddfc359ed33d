// Package execstream runs one interactive command for a driver's exec (orch
// alloc exec, script checks): its streams or a pseudo-terminal, resizes,
// killing it with its process group, and its exit code. The drivers build
// the command (raw_exec: the task's directory and environment; exec: a
// helper that enters the task's namespaces, root, cgroup and user).
package execstream
