package client

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// callNode opens method on the node's client through the server, the way
// the HTTP API does.
type nodeDialer interface {
	DialNode(ctx context.Context, nodeID string) (io.ReadWriteCloser, error)
}

func callNode(t *testing.T, s nodeDialer, nodeID, method string, args any) (*rpcwire.Stream, error) {
	t.Helper()
	conn, err := s.DialNode(t.Context(), nodeID)
	if err != nil {
		return nil, err
	}
	st, err := rpcwire.OpenStream(t.Context(), conn, method, args)
	if err == nil {
		t.Cleanup(func() { st.Close() })
	}
	return st, err
}

// TestServerReachesClientOverItsOwnConnection: a client that has no inbound
// port serves its allocation's files, logs, restart and signal to a real
// server, which opens streams in the yamux session the client dialled.
func TestServerReachesClientOverItsOwnConnection(t *testing.T) {
	s, rpc := startRealServer(t)
	dataDir := t.TempDir()
	c, err := NewClient(testClientConfig(t, rpc, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	waitFor(t, "registration", c.Registered)

	job := sleeperJob()
	job.Datacenters = []string{"dc1"}
	job.TaskGroups[0].Count = 1
	job.TaskGroups[0].Tasks[0].Config["args"] = []any{"-c", "echo $$ > pid; echo hello; trap 'echo got-hup' HUP; while true; do sleep 0.05; done"}
	var reg structs.JobRegisterResponse
	if err := s.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: job}, &reg); err != nil {
		t.Fatal(err)
	}
	alloc := waitJobAllocs(t, s, job.ID, 1, structs.AllocClientStatusRunning)[0]

	// Files: the allocation directory's root lists the shared dir and the task's.
	st, err := callNode(t, s, c.NodeID(), structs.ClientFSList, &structs.FSRequest{AllocID: alloc.ID, Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	var list []*structs.AllocFileInfo
	if err := st.Recv(&list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range list {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "alloc,web" {
		t.Errorf("root of the allocation lists %v, want alloc and web", names)
	}

	// Logs, followed: the first line, then what the task writes on SIGHUP.
	st, err = callNode(t, s, c.NodeID(), structs.ClientFSLogs, &structs.FSLogsRequest{
		AllocID: alloc.ID, Task: "web", LogType: "stdout", Origin: structs.LogOriginStart, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, st, "hello\n")
	sig, err := callNode(t, s, c.NodeID(), structs.ClientAllocSignal, &structs.AllocSignalRequest{AllocID: alloc.ID, Signal: "SIGHUP"})
	if err != nil {
		t.Fatalf("signal: %v", err)
	}
	var ok structs.GenericResponse
	if err := sig.Recv(&ok); err != nil {
		t.Fatal(err)
	}
	readUntil(t, st, "got-hup\n")

	// Restart in place: a new process, no failure counted.
	pid := taskPIDOf(t, dataDir, alloc.ID, 0)
	rs, err := callNode(t, s, c.NodeID(), structs.ClientAllocRestart, &structs.AllocRestartRequest{AllocID: alloc.ID, TaskName: "web"})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if err := rs.Recv(&ok); err != nil {
		t.Fatal(err)
	}
	taskPIDOf(t, dataDir, alloc.ID, pid)
	readUntil(t, st, "hello\n") // the followed stream goes on with the new process's output

	// Errors come back with their codes.
	for _, tc := range []struct {
		method string
		args   any
		want   error
	}{
		{structs.ClientFSStat, &structs.FSRequest{AllocID: alloc.ID, Path: "web/../../x"}, structs.ErrInvalid},
		{structs.ClientFSStat, &structs.FSRequest{AllocID: alloc.ID, Path: "web/nope"}, structs.ErrNotFound},
		{structs.ClientFSStat, &structs.FSRequest{AllocID: "no-such-alloc", Path: "/"}, structs.ErrNotFound},
		{structs.ClientFSLogs, &structs.FSLogsRequest{AllocID: alloc.ID, Task: "web", LogType: "stdin", Origin: "start"}, structs.ErrInvalid},
		{structs.ClientAllocSignal, &structs.AllocSignalRequest{AllocID: alloc.ID, Signal: "SIGNOPE"}, structs.ErrInvalid},
		{structs.ClientAllocRestart, &structs.AllocRestartRequest{AllocID: alloc.ID, TaskName: "db"}, structs.ErrNotFound},
	} {
		if _, err := callNode(t, s, c.NodeID(), tc.method, tc.args); !errors.Is(err, tc.want) {
			t.Errorf("%s %+v: error %v, want %v", tc.method, tc.args, err, tc.want)
		}
	}
	if _, err := s.DialNode(t.Context(), "no-such-node"); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("DialNode of an unknown node: %v, want not found", err)
	}

	// A symlink out of the allocation directory is refused.
	if err := os.Symlink("/etc", filepath.Join(dataDir, "client", "allocs", alloc.ID, "web", "local", "etc")); err != nil {
		t.Fatal(err)
	}
	if _, err := callNode(t, s, c.NodeID(), structs.ClientFSCat, &structs.FSRequest{AllocID: alloc.ID, Path: "web/local/etc/passwd"}); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Errorf("cat through a symlink out of the allocation: %v, want permission denied", err)
	}

	ts := allocTaskState(t, s, alloc.ID)
	if ts.Failed || ts.State != structs.TaskStateRunning {
		t.Errorf("after a restart asked for, the task is %s (failed %v), want running and not failed", ts.State, ts.Failed)
	}
}

// readUntil reads frames of st until their data has contained want.
func readUntil(t *testing.T, st *rpcwire.Stream, want string) {
	t.Helper()
	var got strings.Builder
	for !strings.Contains(got.String(), want) {
		var f structs.StreamFrame
		if err := st.Recv(&f); err != nil {
			t.Fatalf("reading the stream (got %q so far, waiting for %q): %v", got.String(), want, err)
		}
		got.Write(f.Data)
	}
}

// taskPIDOf waits for the task to run a process other than notPID.
func taskPIDOf(t *testing.T, dataDir, allocID string, notPID int) int {
	t.Helper()
	path := filepath.Join(dataDir, "client", "allocs", allocID, "web", "pid")
	var pid int
	waitFor(t, "a new process of the task", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid != notPID && processAlive(pid)
	})
	return pid
}

// allocTaskState returns the web task's state as the server has it.
func allocTaskState(t *testing.T, s interface {
	RPC(context.Context, string, any, any) error
}, allocID string) *structs.TaskState {
	t.Helper()
	var reply structs.SingleAllocResponse
	var ts *structs.TaskState
	waitFor(t, "the task state on the server", func() bool {
		if err := s.RPC(t.Context(), "Alloc.GetAlloc", &structs.AllocSpecificRequest{AllocID: allocID}, &reply); err != nil || reply.Alloc == nil {
			return false
		}
		ts = reply.Alloc.TaskStates["web"]
		return ts != nil && ts.State == structs.TaskStateRunning && ts.Restarts > 0
	})
	return ts
}
