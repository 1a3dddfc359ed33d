package allocrunner

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestClientStatus(t *testing.T) {
	pending := &structs.TaskState{State: structs.TaskStatePending}
	running := &structs.TaskState{State: structs.TaskStateRunning}
	done := &structs.TaskState{State: structs.TaskStateDead}
	failed := &structs.TaskState{State: structs.TaskStateDead, Failed: true}
	cases := []struct {
		name   string
		states map[string]*structs.TaskState
		want   structs.AllocClientStatus
	}{
		{"no tasks", nil, structs.AllocClientStatusPending},
		{"all pending", map[string]*structs.TaskState{"a": pending, "b": pending}, structs.AllocClientStatusPending},
		{"one running", map[string]*structs.TaskState{"a": running, "b": pending}, structs.AllocClientStatusRunning},
		{"running and done", map[string]*structs.TaskState{"a": running, "b": done}, structs.AllocClientStatusRunning},
		{"done and pending", map[string]*structs.TaskState{"a": done, "b": pending}, structs.AllocClientStatusPending},
		{"all done", map[string]*structs.TaskState{"a": done, "b": done}, structs.AllocClientStatusComplete},
		{"one failed", map[string]*structs.TaskState{"a": running, "b": failed}, structs.AllocClientStatusFailed},
		{"failed and done", map[string]*structs.TaskState{"a": done, "b": failed}, structs.AllocClientStatusFailed},
	}
	for _, tc := range cases {
		got, desc := clientStatus(tc.states)
		if got != tc.want || desc == "" {
			t.Errorf("%s: clientStatus = %q (%q), want %q", tc.name, got, desc, tc.want)
		}
	}
}
