// Package docker is the docker driver: each task is a container created and
// run through the Docker Engine API (moby's Go client, never the docker CLI).
//
// A task's container is named "<task>-<alloc ID>" and labelled with the
// allocation, job and task it belongs to (labelAllocID and friends). Its
// stdout and stderr are streamed from the daemon into the task's log files.
// Containers outlive the agent: the handle persisted by the client is the
// container ID, and Recover reattaches to it (or reports its exit, if it
// ended meanwhile). The dangling-container reconciler removes containers
// labelled by orch whose allocation the client no longer knows.
//
// The image is pulled when the daemon does not have it; locally built images
// run as they are. The group's network ports named in the task's `ports` are
// published on the host ports the scheduler allocated, mapped to the
// container port `to` (or the same number). Memory (hard limit) and CPU
// shares come from the task's resources.
package docker
