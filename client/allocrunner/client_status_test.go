package allocrunner

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestClientStatus(t *testing.T) {
	pending := &structs.TaskState{State: structs.TaskStatePending}
	running := &structs.TaskState{State: structs.TaskStateRunning, StartedAt: 2}
	done := &structs.TaskState{State: structs.TaskStateDead, StartedAt: 2, FinishedAt: 3}
	failed := &structs.TaskState{State: structs.TaskStateDead, Failed: true, StartedAt: 2, FinishedAt: 3}
	// Started twice, exited, and waits for its next start.
	restarting := &structs.TaskState{State: structs.TaskStatePending, StartedAt: 4, Restarts: 1, LastRestart: 5}
	cases := []struct {
		name   string
		states map[string]*structs.TaskState
		want   structs.AllocClientStatus
		desc   string
	}{
		{"no tasks", nil, structs.AllocClientStatusPending, descPending},
		{"all pending", map[string]*structs.TaskState{"a": pending, "b": pending}, structs.AllocClientStatusPending, descPending},
		{"one running", map[string]*structs.TaskState{"a": running, "b": pending}, structs.AllocClientStatusRunning, descRunning},
		{"running and done", map[string]*structs.TaskState{"a": running, "b": done}, structs.AllocClientStatusRunning, descRunning},
		{"done and pending", map[string]*structs.TaskState{"a": done, "b": pending}, structs.AllocClientStatusPending, descNotRunning},
		{"all done", map[string]*structs.TaskState{"a": done, "b": done}, structs.AllocClientStatusComplete, descComplete},
		{"one failed", map[string]*structs.TaskState{"a": running, "b": failed}, structs.AllocClientStatusFailed, descFailed},
		{"failed and done", map[string]*structs.TaskState{"a": done, "b": failed}, structs.AllocClientStatusFailed, descFailed},
		{"started twice, waiting to restart", map[string]*structs.TaskState{"a": restarting}, structs.AllocClientStatusPending, descRestarting},
		{"restarting beside one not started", map[string]*structs.TaskState{"a": restarting, "b": pending}, structs.AllocClientStatusPending, descRestarting},
		{"restarting beside one running", map[string]*structs.TaskState{"a": restarting, "b": running}, structs.AllocClientStatusRunning, descRunning},
	}
	for _, tc := range cases {
		got, desc := clientStatus(tc.states)
		if got != tc.want || desc != tc.desc {
			t.Errorf("%s: clientStatus = %q (%q), want %q (%q)", tc.name, got, desc, tc.want, tc.desc)
		}
	}
}
