package supervisor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orch-io/orch/client/supervisor/launch"
)

// ProtocolVersion is the version of the wire protocol this code speaks. The
// hello exchange carries it; a supervisor answers a client of a newer version
// with an error, so that an upgraded agent replaces an old supervisor only
// when it must: the Client then stops that supervisor (SIGTERM: its tasks run
// on) and starts one of its own build, which adopts them (Client.connect).
const ProtocolVersion = 1

// helloVersion is the version a Client says hello with, and speaksUpTo the
// newest a supervisor accepts: both ProtocolVersion, except in the tests that
// play an upgrade of the protocol.
var (
	helloVersion = ProtocolVersion
	speaksUpTo   = ProtocolVersion
)

// Operations of a request.
const (
	opHello  = "hello"  // → Version, PID, Tasks (every record)
	opStart  = "start"  // Spec → Task
	opSignal = "signal" // TaskID, Signal
	opStop   = "stop"   // TaskID, Signal, Timeout → Task (once exited)
	opForget = "forget" // TaskID: drop the record of an exited task
	opExit   = "exit"   // the supervisor exits once no task runs (KillTasks: after killing them)
)

// request is one line from the agent.
type request struct {
	ID      uint64        `json:"id"`
	Op      string        `json:"op"`
	Version int           `json:"version,omitempty"`
	Spec    *TaskSpec     `json:"spec,omitempty"`
	TaskID  string        `json:"task_id,omitempty"`
	Signal  string        `json:"signal,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	// KillTasks, with opExit, stops every running task first.
	KillTasks bool `json:"kill_tasks,omitempty"`
}

// message is one line from the supervisor: the response to request ID, or
// (ID 0) an event.
type message struct {
	ID      uint64        `json:"id,omitempty"`
	Error   string        `json:"error,omitempty"`
	Code    string        `json:"code,omitempty"`
	Event   string        `json:"event,omitempty"` // "exit"
	Version int           `json:"version,omitempty"`
	PID     int           `json:"pid,omitempty"`
	Task    *TaskStatus   `json:"task,omitempty"`
	Tasks   []*TaskStatus `json:"tasks,omitempty"`
	// Features, in a hello's answer, are what this supervisor can do beyond
	// its protocol version (FeatureIsolation). Added without a version bump
	// so that a new agent still talks to an old supervisor about the tasks
	// both know; a driver needing a feature checks it (Client.Supports).
	Features []string `json:"features,omitempty"`
}

// FeatureIsolation: the supervisor honours TaskSpec.Isolation. A
// supervisor without it would ignore the field and run the task
// unisolated, so the exec driver refuses to start on it.
const FeatureIsolation = "isolation"

// features are this supervisor's.
var features = []string{FeatureIsolation}

// Error codes of a response.
const (
	codeNotFound = "not_found"
	codeConflict = "conflict"
	codeInvalid  = "invalid"
)

// Errors a Client returns for the codes above.
var (
	ErrNotFound = errors.New("supervisor: no such task")
	ErrConflict = errors.New("supervisor: task already running")
	ErrInvalid  = errors.New("supervisor: invalid request")
	// ErrConnLost is returned by a call whose connection to the supervisor
	// ended before the answer came. The Client reconnects by itself.
	ErrConnLost = errors.New("supervisor: connection lost")
)

func errorOf(m *message) error {
	if m.Error == "" {
		return nil
	}
	switch m.Code {
	case codeNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, m.Error)
	case codeConflict:
		return fmt.Errorf("%w: %s", ErrConflict, m.Error)
	case codeInvalid:
		return fmt.Errorf("%w: %s", ErrInvalid, m.Error)
	}
	return errors.New("supervisor: " + m.Error)
}

// TaskSpec is what to run. The agent resolves the command; the supervisor
// runs exactly it.
type TaskSpec struct {
	// ID names the task on this node; it is also the record's file name, so
	// it may not contain '/' or NUL nor start with '.'.
	ID string `json:"id"`
	// Nonce tells a retried start (same nonce: answered with the running
	// task) from a second start of a running task (a conflict).
	Nonce string `json:"nonce"`
	// Path is the absolute path of the program; Args[0] is its name.
	Path string   `json:"path"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	Logs LogSpec  `json:"logs"`
	// Isolation, if set, runs the task in new namespaces, in a root of its
	// own, in cgroups and as another user (package launch): the supervisor
	// starts its own binary as the launcher, which execs into Path. Path
	// may then be a name looked up in the task's root with Env's PATH, and
	// Dir is inside the task's root.
	Isolation *launch.Isolation `json:"isolation,omitempty"`
}

// LogSpec says where a task's output goes: <Dir>/<Name>.stdout.N and
// <Dir>/<Name>.stderr.N, N counting up from 0, at most MaxFiles of each,
// each up to MaxFileSizeMB. Disabled discards the output.
type LogSpec struct {
	Dir           string `json:"dir"`
	Name          string `json:"name"`
	MaxFiles      int    `json:"max_files"`
	MaxFileSizeMB int    `json:"max_file_size_mb"`
	Disabled      bool   `json:"disabled,omitempty"`
}

// TaskState is whether a task runs.
type TaskState string

// Task states.
const (
	TaskRunning TaskState = "running"
	TaskExited  TaskState = "exited"
)

// TaskStatus is what the supervisor knows of a task: its record.
type TaskStatus struct {
	ID    string    `json:"id"`
	Nonce string    `json:"nonce"`
	PID   int       `json:"pid"`
	State TaskState `json:"state"`
	// StartTicks is the process's start time in clock ticks after boot
	// (/proc/<pid>/stat field 22); with BootID it tells the task from a
	// later process that got the same PID.
	StartTicks uint64    `json:"start_ticks"`
	BootID     string    `json:"boot_id"`
	StartedAt  time.Time `json:"started_at"`
	// Set once exited.
	ExitedAt time.Time `json:"exited_at,omitzero"`
	ExitCode int       `json:"exit_code"`
	Signal   int       `json:"signal"`
	// ExitUnknown: the task ended while no supervisor was its parent (the
	// supervisor had died and a new one adopted it, or the node rebooted), so
	// its exit status is unknown. ExitCode is then -1 and Lost says why.
	ExitUnknown bool   `json:"exit_unknown,omitempty"`
	Lost        string `json:"lost,omitempty"`
	// Adopted: this supervisor did not start the task (its predecessor did).
	Adopted bool `json:"adopted,omitempty"`
	// Logs is where the task's output goes; an adopting supervisor reopens it.
	Logs LogSpec `json:"logs"`
}

func (s *TaskStatus) copy() *TaskStatus {
	c := *s
	return &c
}

// validID reports whether id can name a task record file.
func validID(id string) bool {
	return id != "" && len(id) <= 200 && id[0] != '.' && !strings.ContainsAny(id, "/\x00")
}
