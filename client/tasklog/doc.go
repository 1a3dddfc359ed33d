// Package tasklog writes a task's output into rotated log files, the layout
// Nomad uses and `orch alloc logs` reads: <dir>/<task>.stdout.N and
// <dir>/<task>.stderr.N, N counting up from 0, the highest the newest.
//
// Every driver writes through it: the supervisor copies raw_exec tasks'
// pipes into a Writer per stream, the docker driver copies the container's
// output stream. The task runner names the directory (the allocation's
// alloc/logs) and the limits (the task's logs block).
package tasklog
