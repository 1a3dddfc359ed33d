package allocrunner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// RestartTasks restarts the task named task in place, or, with task "", every
// task that runs. The restarts do not count against the restart policy. It
// returns once the tasks have stopped (they start again on their runners).
// Errors carry codes: not found for an unknown task, conflict for one that
// does not run.
func (ar *AllocRunner) RestartTasks(task string) error {
	trs, err := ar.pickTasks(task)
	if err != nil {
		return err
	}
	return forEachTask(trs, (*taskRunner).restart)
}

// SignalTasks sends sig to the task named task, or, with task "", to every
// task that runs.
func (ar *AllocRunner) SignalTasks(task, sig string) error {
	if err := checkSignal(sig); err != nil {
		return err
	}
	trs, err := ar.pickTasks(task)
	if err != nil {
		return err
	}
	return forEachTask(trs, func(tr *taskRunner) error { return tr.signal(sig) })
}

// pickTasks returns the runner of task, or those of the running tasks when
// task is "".
func (ar *AllocRunner) pickTasks(task string) ([]*taskRunner, error) {
	all := ar.taskRunners()
	var names []string
	var running []*taskRunner
	for _, tr := range all {
		if tr.cfg.Task.Name == task {
			return []*taskRunner{tr}, nil
		}
		names = append(names, tr.cfg.Task.Name)
		if _, err := tr.runningHandle(); err == nil {
			running = append(running, tr)
		}
	}
	if task != "" {
		slices.Sort(names)
		return nil, structs.NewError(structs.CodeNotFound, "allocation %s has no task %q (tasks: %s)", ar.ID(), task, strings.Join(names, ", "))
	}
	if len(running) == 0 {
		return nil, structs.NewError(structs.CodeConflict, "allocation %s has no running task", ar.ID())
	}
	return running, nil
}

// forEachTask runs fn on every runner at once and joins the errors.
func forEachTask(trs []*taskRunner, fn func(*taskRunner) error) error {
	errs := make([]error, len(trs))
	var wg sync.WaitGroup
	for i, tr := range trs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(tr)
		}()
	}
	wg.Wait()
	if len(errs) == 1 {
		return errs[0] // keeps its code
	}
	return errors.Join(errs...)
}

// TaskStats samples the resource usage of the allocation's running tasks,
// or of task alone ("" for all), by name.
func (ar *AllocRunner) TaskStats(ctx context.Context, task string) (map[string]*driver.TaskStats, error) {
	trs, err := ar.pickTasks(task)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*driver.TaskStats, len(trs))
	for _, tr := range trs {
		h, err := tr.runningHandle()
		if err != nil {
			if task != "" {
				return nil, err
			}
			continue
		}
		st, err := h.Stats(ctx)
		if err != nil {
			if task != "" {
				return nil, structs.NewError(structs.CodeConflict, "task %q: %v", task, err)
			}
			continue // it exited meanwhile
		}
		out[tr.cfg.Task.Name] = st
	}
	return out, nil
}
