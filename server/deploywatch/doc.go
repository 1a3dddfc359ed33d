// Package deploywatch decides what happens next to a deployment: the brain
// of the leader's deployment watcher (server/deployment_watcher.go is the
// loop around it). Decide is a pure function of the deployment, the job,
// the job's allocations and the time; it promotes canaries (auto_promote),
// asks for the evaluation that places the next batch, fails the deployment
// on an unhealthy allocation or a passed progress deadline (naming the
// stable version to revert to when auto_revert is set), cancels it when its
// job went away or moved on, and marks it successful — so that every
// deployment ends. Waiting explains, per group, what a running deployment
// waits for, for humans.
package deploywatch
