package allocrunner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/orch-io/orch/structs"
)

// sharedDirName is the directory the tasks of an allocation share. A task may
// not have this name: its directory would be the shared one.
const sharedDirName = "alloc"

// allocDir is the layout of one allocation on disk, as in Nomad:
//
//	<allocs>/<alloc-id>/alloc/{data,logs,tmp}      shared by the group's tasks (ORCH_ALLOC_DIR)
//	<allocs>/<alloc-id>/alloc/logs/<task>.stdout.0 the task's output
//	<allocs>/<alloc-id>/<task>/{local,secrets,tmp} one per task; the task's working directory
//
// Its methods only compute paths, except build and destroy.
type allocDir struct {
	dir string // <allocs>/<alloc-id>
}

func newAllocDir(allocsDir, allocID string) (*allocDir, error) {
	if err := checkPathElement("alloc ID", allocID); err != nil {
		return nil, err
	}
	return &allocDir{dir: filepath.Join(allocsDir, allocID)}, nil
}

// checkPathElement rejects a name that would not be exactly one directory
// below its parent: task names and alloc IDs come from job files and servers.
func checkPathElement(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty", what)
	case name == "." || name == "..":
		return fmt.Errorf(`%s %q: must not be "." or ".."`, what, name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%s %q: must not contain / or NUL", what, name)
	}
	return nil
}

// checkTaskName rejects a task name that cannot name a task directory.
func checkTaskName(name string) error {
	if err := checkPathElement("task name", name); err != nil {
		return err
	}
	if name == sharedDirName {
		return fmt.Errorf("task name %q: reserved for the directory the tasks share", name)
	}
	return nil
}

func (d *allocDir) sharedDir() string           { return filepath.Join(d.dir, sharedDirName) }
func (d *allocDir) logDir() string              { return filepath.Join(d.dir, sharedDirName, "logs") }
func (d *allocDir) taskDir(task string) string  { return filepath.Join(d.dir, task) }
func (d *allocDir) localDir(task string) string { return filepath.Join(d.dir, task, "local") }
func (d *allocDir) secretsDir(task string) string {
	return filepath.Join(d.dir, task, "secrets")
}
func (d *allocDir) stdoutPath(task string) string {
	return filepath.Join(d.logDir(), task+".stdout.0")
}
func (d *allocDir) stderrPath(task string) string {
	return filepath.Join(d.logDir(), task+".stderr.0")
}

// build creates the directories of the allocation and of tasks. It is
// idempotent: a restarted agent builds over what exists.
func (d *allocDir) build(tasks []string) error {
	dirs := []string{
		filepath.Join(d.sharedDir(), "data"),
		d.logDir(),
		filepath.Join(d.sharedDir(), "tmp"),
	}
	for _, t := range tasks {
		if err := checkTaskName(t); err != nil {
			return err
		}
		dirs = append(dirs, d.localDir(t), filepath.Join(d.taskDir(t), "tmp"))
	}
	var errs []error
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range tasks {
		if err := os.MkdirAll(d.secretsDir(t), 0o700); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeDispatchPayloads writes a dispatched job's payload to local/<file> of
// each task of tg with a dispatch_payload block, before any task starts
// (Nomad's). The file must stay in the task's local directory.
func (d *allocDir) writeDispatchPayloads(job *structs.Job, tg *structs.TaskGroup) error {
	for _, t := range tg.Tasks {
		if t.DispatchPayload == nil || !job.Dispatched {
			continue
		}
		local := d.localDir(t.Name)
		path := filepath.Join(local, t.DispatchPayload.File)
		if rel, err := filepath.Rel(local, path); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("task %q: dispatch_payload.file = %q: must stay in the task's local directory", t.Name, t.DispatchPayload.File)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("task %q: writing the dispatch payload: %w", t.Name, err)
		}
		if err := os.WriteFile(path, job.Payload, 0o644); err != nil {
			return fmt.Errorf("task %q: writing the dispatch payload: %w", t.Name, err)
		}
	}
	return nil
}

// destroy removes the allocation's directory and everything in it.
func (d *allocDir) destroy() error { return os.RemoveAll(d.dir) }
