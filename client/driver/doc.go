// Package driver is the small interface between a task runner and the thing
// that actually runs a task (a plain process for raw_exec; later namespaces,
// containers). A driver fingerprints itself for the node, starts a task from a
// TaskConfig and hands back a Handle to wait on and to stop it.
//
// Drivers own the mechanics of starting and stopping; they do not decide
// anything about restarts or status, which the task runner
// (client/allocrunner) does with what Handle.Wait reports.
package driver
