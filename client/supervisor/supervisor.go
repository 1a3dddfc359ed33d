package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/internal/atomicfile"
)

// Files in the supervisor's directory.
const (
	SocketName = "supervisor.sock"
	// maxSocketPath is the longest path a Unix socket may have on Linux
	// (sun_path is 108 bytes with its terminating NUL).
	maxSocketPath = 107
	lockName      = "supervisor.lock"
	tasksDir      = "tasks"
	// LogName is where the agent sends the supervisor's own output.
	LogName = "supervisor.log"
)

// ErrRunning is returned by Run when another supervisor holds the directory.
var ErrRunning = errors.New("supervisor: another supervisor runs on this directory")

// Supervisor is the supervisor process's state. Run creates and serves one.
//
// Its goroutines: the accept loop, one reader per connection plus one per
// request (a stop waits for the exit), the reaper, one log copier per task
// stream, and one pidfd watcher per adopted task.
type Supervisor struct {
	dir    string
	bootID string
	logger *slog.Logger
	exit   context.CancelFunc // ends Run (the exit request)
	// embedded: RunEmbedded; reap only the tasks' PIDs.
	embedded bool

	mu struct {
		sync.Mutex
		tasks map[string]*task // by ID, running or exited
		// children are the running tasks this process started, by PID: the
		// reaper reaps them (other PIDs it reaps are orphans of tasks).
		children map[int]*task
		conns    map[*conn]struct{} // that said hello: exit events go to them
		// stopping: an embedded supervisor is stopping; it starts nothing
		// more (stopEmbedded).
		stopping bool
	}
}

// task is one record and what watches it. Fields are guarded by
// Supervisor.mu, except done.
type task struct {
	status *TaskStatus
	done   chan struct{} // closed once exited
}

// Run is the supervisor process: it takes dir (creating it), adopts the
// tasks its records say run, and serves the socket until ctx ends or an exit
// request came. Tasks keep running when it returns.
func Run(ctx context.Context, dir string, logger *slog.Logger) error {
	return run(ctx, dir, logger, false)
}

// RunEmbedded is Run inside a process that is not only the supervisor (the
// in-process agents of tests): it does not become a subreaper and reaps only
// the tasks it started, leaving the process's other children alone. Tasks do
// not outlive the process's own exit any better than its other children:
// the agent kills them on shutdown.
func RunEmbedded(ctx context.Context, dir string, logger *slog.Logger) error {
	return run(ctx, dir, logger, true)
}

func run(ctx context.Context, dir string, logger *slog.Logger, embedded bool) error {
	if err := os.MkdirAll(filepath.Join(dir, tasksDir), 0o700); err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("%w (%s)", ErrRunning, dir)
	}
	if embedded {
		// no subreaper: the process's other children are not ours
	} else if err := becomeSubreaper(); err != nil {
		return fmt.Errorf("supervisor: becoming a child subreaper: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &Supervisor{dir: dir, bootID: currentBootID(), logger: logger, exit: cancel, embedded: embedded}
	s.mu.tasks = make(map[string]*task)
	s.mu.children = make(map[int]*task)
	s.mu.conns = make(map[*conn]struct{})

	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	defer signal.Stop(sigchld)

	s.loadRecords()

	sock, err := socketPath(dir)
	if err != nil {
		return err
	}
	os.Remove(sock) // a dead predecessor's; the lock says none runs
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	logger.Info("supervisor started", "dir", dir, "pid", os.Getpid(), "tasks", len(s.mu.tasks))

	go s.reapLoop(ctx, sigchld)
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				logger.Info("supervisor stopping")
				if embedded {
					s.stopEmbedded()
				}
				return nil
			}
			return fmt.Errorf("supervisor: accept: %w", err)
		}
		go s.serve(ctx, newConn(nc))
	}
}

// stopEmbedded kills the tasks of an embedded supervisor, which cannot
// outlive its process, and starts no more: a start still on its way when the
// agent stopped its tasks would otherwise leave a process behind (one did, in
// the tests that run agents with embedded supervisors).
func (s *Supervisor) stopEmbedded() {
	s.mu.Lock()
	s.mu.stopping = true
	s.mu.Unlock()
	for _, pid := range s.childPIDs() {
		killGroup(pid, syscall.SIGKILL)
	}
	s.reapAll()
}

// childPIDs are the PIDs of the running tasks this process started.
func (s *Supervisor) childPIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.mu.children))
}

// reapLoop reaps every child that exits, on each SIGCHLD.
func (s *Supervisor) reapLoop(ctx context.Context, sigchld <-chan os.Signal) {
	for {
		s.reapAll()
		select {
		case <-sigchld:
		case <-ctx.Done():
			return
		}
	}
}

// reapAll reaps every exited child. A task's main process is reaped only
// after its process group was killed (the zombie keeps the group's ID from
// being reused meanwhile), so a task never leaves processes behind.
func (s *Supervisor) reapAll() {
	for {
		pid, err := s.nextExited()
		if err != nil || pid == 0 {
			return
		}
		s.mu.Lock()
		t := s.mu.children[pid]
		if t != nil {
			killGroup(pid, syscall.SIGKILL)
		}
		ws, err := reap(pid)
		var st *TaskStatus
		if t != nil {
			delete(s.mu.children, pid)
			st = t.status
			st.State, st.ExitedAt = TaskExited, time.Now()
			st.ExitCode, st.Signal = exitOf(ws)
			if err != nil {
				st.ExitCode = -1
			}
			st = st.copy()
		}
		s.mu.Unlock()
		if t != nil {
			s.finish(t, st)
		}
	}
}

// nextExited returns a child that exited (a zombie), 0 if none.
func (s *Supervisor) nextExited() (int, error) {
	if !s.embedded {
		return peekExited()
	}
	for _, pid := range s.childPIDs() {
		if exited, err := peekExitedPID(pid); err == nil && exited {
			return pid, nil
		}
	}
	return 0, nil
}

// finish persists an exit, then tells the task's waiters and the agent.
func (s *Supervisor) finish(t *task, st *TaskStatus) {
	s.logger.Info("task exited", "task_id", st.ID, "pid", st.PID, "exit_code", st.ExitCode, "signal", st.Signal, "unknown", st.ExitUnknown)
	s.persist(st)
	close(t.done)
	s.broadcast(&message{Event: "exit", Task: st})
}

func (s *Supervisor) recordPath(id string) string {
	return filepath.Join(s.dir, tasksDir, id+".json")
}

// persist writes the record; a failure is logged (the task runs on, and the
// agent still hears of its exit while both live).
func (s *Supervisor) persist(st *TaskStatus) {
	b, err := json.Marshal(st)
	if err == nil {
		err = atomicfile.Write(s.recordPath(st.ID), b, 0o600)
	}
	if err != nil {
		s.logger.Error("writing task record", "task_id", st.ID, "error", err)
	}
}

func (s *Supervisor) broadcast(m *message) {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.send(m)
	}
}

// serve reads c's requests until it closes; each is handled on its own
// goroutine, so a stop waiting for an exit holds up nothing else.
func (s *Supervisor) serve(ctx context.Context, c *conn) {
	defer func() {
		s.mu.Lock()
		delete(s.mu.conns, c)
		s.mu.Unlock()
		c.close()
	}()
	sc := bufio.NewScanner(c.nc)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // a task's environment can be large
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			c.send(&message{Error: "malformed request: " + err.Error(), Code: codeInvalid})
			return
		}
		go func() {
			resp := s.handle(ctx, c, &req)
			resp.ID = req.ID
			c.send(resp)
		}()
	}
}

func (s *Supervisor) handle(ctx context.Context, c *conn, req *request) *message {
	if req.Op != opHello && !c.greeted() {
		return errMessage(codeInvalid, "the first request must be hello")
	}
	switch req.Op {
	case opHello:
		if req.Version > speaksUpTo {
			return errMessage(codeInvalid, fmt.Sprintf("protocol version %d: this supervisor speaks up to %d", req.Version, speaksUpTo))
		}
		s.mu.Lock()
		s.mu.conns[c] = struct{}{}
		c.greet()
		tasks := make([]*TaskStatus, 0, len(s.mu.tasks))
		for _, t := range s.mu.tasks {
			tasks = append(tasks, t.status.copy())
		}
		s.mu.Unlock()
		return &message{Version: speaksUpTo, PID: os.Getpid(), Tasks: tasks, Features: features}
	case opStart:
		st, err := s.start(req.Spec)
		if err != nil {
			return errorMessage(err)
		}
		return &message{Task: st}
	case opSignal:
		sig, err := parseSignal(req.Signal)
		if err != nil {
			return errMessage(codeInvalid, err.Error())
		}
		t, err := s.lookup(req.TaskID)
		if err != nil {
			return errorMessage(err)
		}
		s.signal(t, sig)
		return &message{}
	case opStop:
		st, err := s.stop(ctx, req.TaskID, req.Signal, req.Timeout)
		if err != nil {
			return errorMessage(err)
		}
		return &message{Task: st}
	case opForget:
		if err := s.forget(req.TaskID); err != nil {
			return errorMessage(err)
		}
		return &message{}
	case opExit:
		if err := s.exitRequested(ctx, req.KillTasks); err != nil {
			return errorMessage(err)
		}
		return &message{}
	}
	return errMessage(codeInvalid, fmt.Sprintf("unknown op %q", req.Op))
}

func errMessage(code, msg string) *message { return &message{Error: msg, Code: code} }

func errorMessage(err error) *message {
	m := &message{Error: err.Error()}
	switch {
	case errors.Is(err, ErrNotFound):
		m.Code = codeNotFound
	case errors.Is(err, ErrConflict):
		m.Code = codeConflict
	case errors.Is(err, ErrInvalid):
		m.Code = codeInvalid
	}
	return m
}

func (s *Supervisor) lookup(id string) (*task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mu.tasks[id]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return t, nil
}

// signal sends sig to t's process group while t runs.
func (s *Supervisor) signal(t *task, sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.status.State == TaskRunning {
		killGroup(t.status.PID, sig)
	}
}

// stop sends signal to the task's group, then SIGKILL after timeout, and
// returns the record once the task exited.
func (s *Supervisor) stop(ctx context.Context, id, signalName string, timeout time.Duration) (*TaskStatus, error) {
	sig, err := parseSignal(signalName)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	t, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	s.signal(t, sig)
	if sig != syscall.SIGKILL {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-t.done:
		case <-timer.C:
			s.logger.Info("task did not exit within its kill timeout; killing it", "task_id", id, "kill_timeout", timeout)
			s.signal(t, syscall.SIGKILL)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.status.copy(), nil
}

// forget drops the record of an exited task.
func (s *Supervisor) forget(id string) error {
	s.mu.Lock()
	t := s.mu.tasks[id]
	if t != nil && t.status.State == TaskRunning {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q: stop it first", ErrConflict, id)
	}
	delete(s.mu.tasks, id)
	s.mu.Unlock()
	if err := os.Remove(s.recordPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// exitRequested ends the supervisor once no task runs; with killTasks it
// kills them first.
func (s *Supervisor) exitRequested(ctx context.Context, killTasks bool) error {
	s.mu.Lock()
	var running []*task
	for _, t := range s.mu.tasks {
		if t.status.State == TaskRunning {
			running = append(running, t)
		}
	}
	s.mu.Unlock()
	if len(running) > 0 && !killTasks {
		return fmt.Errorf("%w: %d tasks run", ErrConflict, len(running))
	}
	for _, t := range running {
		s.signal(t, syscall.SIGKILL)
	}
	for _, t := range running {
		select {
		case <-t.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Answer first: the exit closes the connection.
	time.AfterFunc(50*time.Millisecond, s.exit)
	return nil
}

// conn is one agent connection. Writes are serialized.
type conn struct {
	nc net.Conn

	mu struct {
		sync.Mutex
		enc     *json.Encoder
		greeted bool
		closed  bool
	}
}

func newConn(nc net.Conn) *conn {
	c := &conn{nc: nc}
	c.mu.enc = json.NewEncoder(nc)
	return c
}

func (c *conn) send(m *message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return
	}
	// A bounded write: an agent that stopped reading must not wedge the
	// supervisor's broadcasts.
	_ = c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.mu.enc.Encode(m); err != nil {
		c.mu.closed = true
		c.nc.Close()
	}
}

func (c *conn) greet() {
	c.mu.Lock()
	c.mu.greeted = true
	c.mu.Unlock()
}

func (c *conn) greeted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.greeted
}

func (c *conn) close() {
	c.mu.Lock()
	c.mu.closed = true
	c.mu.Unlock()
	c.nc.Close()
}

// socketPath is the supervisor's socket in dir, or a clear error when the
// path is longer than a Unix socket allows (a deep data_dir): without it,
// listening and dialing fail with an obscure "invalid argument".
func socketPath(dir string) (string, error) {
	sock := filepath.Join(dir, SocketName)
	if len(sock) > maxSocketPath {
		return "", fmt.Errorf("supervisor: socket path %q is %d bytes; a Unix socket path may have at most %d: use a shorter data_dir", sock, len(sock), maxSocketPath)
	}
	return sock, nil
}
