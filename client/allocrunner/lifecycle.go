package allocrunner

import (
	"github.com/orch-io/orch/structs"
)

// Task lifecycle (a task's lifecycle block, as Nomad orders it). A group's
// tasks take one of six roles; each role but prestart waits at a gate the
// alloc runner opens once the tasks it depends on are where they must be:
//
//	prestart (ephemeral and sidecar)   start at once
//	main                               once every ephemeral prestart task completed
//	                                   successfully and every prestart sidecar runs
//	poststart (ephemeral and sidecar)  once every main task has started
//	poststop                           once every main task is dead
//
// Sidecars are stopped once every main task is dead. Ephemeral tasks (a
// hook, no sidecar) run to completion: their successful exit ends them,
// whatever the job's type; a failure is restarted per the group's restart
// policy, and one it gives up on fails the task and so the allocation.
// Only main tasks and sidecars count for the allocation's health.
//
// decideLifecycle is the brain, a pure function of the tasks' roles and
// states; lifecycleLoop (the runner's goroutine for it) applies it.

// lifecycleRole is a task's place in its group's order.
type lifecycleRole int

const (
	roleMain lifecycleRole = iota
	rolePrestart
	rolePrestartSidecar
	rolePoststart
	rolePoststartSidecar
	rolePoststop
)

func roleOf(t *structs.Task) lifecycleRole {
	l := t.Lifecycle
	if l == nil {
		return roleMain
	}
	switch l.Hook {
	case structs.TaskLifecycleHookPrestart:
		if l.Sidecar {
			return rolePrestartSidecar
		}
		return rolePrestart
	case structs.TaskLifecycleHookPoststart:
		if l.Sidecar {
			return rolePoststartSidecar
		}
		return rolePoststart
	case structs.TaskLifecycleHookPoststop:
		return rolePoststop
	}
	return roleMain // Validate refuses other hooks
}

// ephemeral reports whether the role's tasks run to completion.
func (r lifecycleRole) ephemeral() bool {
	return r == rolePrestart || r == rolePoststart || r == rolePoststop
}

func (r lifecycleRole) sidecar() bool { return r == rolePrestartSidecar || r == rolePoststartSidecar }

// gate is the role's start gate; gateNone starts at once.
func (r lifecycleRole) gate() lifecycleGate {
	switch r {
	case roleMain:
		return gateMain
	case rolePoststart, rolePoststartSidecar:
		return gatePoststart
	case rolePoststop:
		return gatePoststop
	}
	return gateNone
}

type lifecycleGate int

const (
	gateNone lifecycleGate = iota
	gateMain
	gatePoststart
	gatePoststop
	numGates
)

// lifecycleTask is what decideLifecycle sees of a task.
type lifecycleTask struct {
	Role  lifecycleRole
	State *structs.TaskState // nil: not run yet
}

func (t lifecycleTask) running() bool {
	return t.State != nil && t.State.State == structs.TaskStateRunning
}

func (t lifecycleTask) started() bool { return t.State != nil && t.State.StartedAt != 0 }

func (t lifecycleTask) dead() bool { return t.State != nil && t.State.State == structs.TaskStateDead }

func (t lifecycleTask) completed() bool { return t.dead() && !t.State.Failed }

// lifecycleDecision says which gates are open and whether the sidecars are
// to be stopped. Once true, each stays true for the same tasks' later
// states: the loop acts on each only once.
type lifecycleDecision struct {
	Open         [numGates]bool
	StopSidecars bool
}

// decideLifecycle decides the gates of a group's tasks from their states.
func decideLifecycle(tasks []lifecycleTask) lifecycleDecision {
	var d lifecycleDecision
	d.Open[gateNone] = true
	mainReady, allMainsStarted, allMainsDead, mains := true, true, true, 0
	for _, t := range tasks {
		switch t.Role {
		case rolePrestart:
			mainReady = mainReady && t.completed()
		case rolePrestartSidecar:
			mainReady = mainReady && t.running()
		case roleMain:
			mains++
			allMainsStarted = allMainsStarted && t.started()
			allMainsDead = allMainsDead && t.dead()
		}
	}
	// A main task that started has passed the gate: it stays open even
	// when a sidecar restarts later.
	d.Open[gateMain] = mainReady || (mains > 0 && anyMainStarted(tasks))
	d.Open[gatePoststart] = d.Open[gateMain] && mains > 0 && allMainsStarted
	d.Open[gatePoststop] = allMainsDead
	d.StopSidecars = mains > 0 && allMainsDead
	return d
}

func anyMainStarted(tasks []lifecycleTask) bool {
	for _, t := range tasks {
		if t.Role == roleMain && t.started() {
			return true
		}
	}
	return false
}

// hasLifecycle reports whether any task of tg has a lifecycle block.
func hasLifecycle(tg *structs.TaskGroup) bool {
	for _, t := range tg.Tasks {
		if t.Lifecycle != nil {
			return true
		}
	}
	return false
}

// lifecycleLoop opens the gates of trs (gates[g] is closed to open g;
// gates[gateNone] is nil) and
// stops the sidecars as decideLifecycle says, on every task change, until
// it has done all it can or the runner's tasks are all done. Its own
// goroutine.
func (ar *AllocRunner) lifecycleLoop(trs []*taskRunner, gates [numGates]chan struct{}) {
	var opened [numGates]bool
	opened[gateNone] = true
	stopped := false
	for {
		tasks := make([]lifecycleTask, len(trs))
		for i, tr := range trs {
			tasks[i] = lifecycleTask{Role: roleOf(tr.cfg.Task), State: tr.state()}
		}
		d := decideLifecycle(tasks)
		for g := gateNone + 1; g < numGates; g++ {
			if d.Open[g] && !opened[g] {
				opened[g] = true
				close(gates[g])
				ar.logger.Debug("lifecycle gate opened", "gate", g)
			}
		}
		if d.StopSidecars && !stopped {
			stopped = true
			for _, tr := range trs {
				if roleOf(tr.cfg.Task).sidecar() {
					tr.kill(&structs.TaskEvent{Type: structs.TaskMainDead, Time: ar.cfg.Now().UnixNano(),
						DisplayMessage: "Main tasks in the group died"})
				}
			}
		}
		if stopped && opened == [numGates]bool{true, true, true, true} {
			return
		}
		select {
		case <-ar.lifecycleCh:
		case <-ar.waitCh:
			return
		}
	}
}
