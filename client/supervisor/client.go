package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Dir is the supervisor's directory (<data_dir>/supervisor). Required.
	Dir string
	// Command starts a supervisor on Dir when none answers; its output is
	// appended to <Dir>/supervisor.log and it runs in a session of its own.
	// Nil means `<this executable> supervisor -dir <Dir>`. A Command that
	// returns nil starts nothing: the supervisor is embedded (RunEmbedded),
	// and the client waits for it.
	Command func() *exec.Cmd
	Logger  *slog.Logger
}

// Client is the agent's connection to the node's supervisor. It starts a
// supervisor when none runs, and reconnects (starting a new one) when the
// connection ends, for as long as it is open. Calls that lost their
// connection are retried on the next one: every request is idempotent.
// Safe for concurrent use.
type Client struct {
	cfg    ClientConfig
	logger *slog.Logger
	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the connection loop returns
	// stopping: StopSupervisor asked the supervisor to exit; do not start
	// another.
	stopping atomic.Bool

	mu struct {
		sync.Mutex
		conn    *clientConn // nil while disconnected
		ready   chan struct{}
		nextID  uint64
		pending map[uint64]chan *message
		pid     int
		// features are the connected supervisor's (its hello).
		features []string
		// tasks is the last known record of every task, merged from hellos,
		// answers and exit events; exited holds a channel per task, closed
		// once its current run (Nonce) has exited.
		tasks  map[string]*TaskStatus
		exited map[string]chan struct{}
	}
}

type clientConn struct {
	nc      net.Conn
	scanner *bufio.Scanner // read only by the connection loop
	enc     *json.Encoder
	wmu     sync.Mutex
}

// Dial connects to the supervisor on cfg.Dir, starting one if none runs, and
// returns once connected (or ctx ended).
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Command == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("supervisor: finding the orch binary: %w", err)
		}
		dir := cfg.Dir
		cfg.Command = func() *exec.Cmd { return exec.Command(exe, "supervisor", "-dir", dir) }
	}
	if _, err := socketPath(cfg.Dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	c := &Client{cfg: cfg, logger: cfg.Logger.With("component", "supervisor-client"), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.ready = make(chan struct{})
	c.mu.pending = make(map[uint64]chan *message)
	c.mu.tasks = make(map[string]*TaskStatus)
	c.mu.exited = make(map[string]chan struct{})
	ready := c.mu.ready
	go c.loop()
	select {
	case <-ready:
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("supervisor: connecting to the supervisor in %s: %w", cfg.Dir, ctx.Err())
	}
}

// Close ends the connection; the supervisor and its tasks run on.
func (c *Client) Close() {
	c.cancel()
	<-c.done
}

// PID is the process ID of the supervisor of the current connection (0
// while disconnected).
func (c *Client) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.pid
}

// Supports reports whether the supervisor of the current connection has
// feature (FeatureIsolation); false while disconnected.
func (c *Client) Supports(feature string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.conn != nil && slices.Contains(c.mu.features, feature)
}

// loop keeps a connection up until Close.
func (c *Client) loop() {
	defer close(c.done)
	backoff := 50 * time.Millisecond
	for c.ctx.Err() == nil && !c.stopping.Load() {
		cc, err := c.connect()
		if err != nil {
			c.logger.Warn("cannot reach the supervisor; retrying", "error", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-c.ctx.Done():
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		c.read(cc) // until the connection ends
	}
}

// connect dials the supervisor, starting one if none answers, and says hello.
func (c *Client) connect() (*clientConn, error) {
	sock := filepath.Join(c.cfg.Dir, SocketName)
	nc, err := net.Dial("unix", sock)
	if err != nil {
		if err := c.startSupervisor(); err != nil {
			return nil, err
		}
		// Wait for the new supervisor to listen: it must first adopt the
		// tasks its predecessor left.
		deadline := time.Now().Add(30 * time.Second)
		for {
			if nc, err = net.Dial("unix", sock); err == nil {
				break
			}
			if time.Now().After(deadline) || c.ctx.Err() != nil {
				return nil, fmt.Errorf("the supervisor started but does not answer on %s: %w", sock, err)
			}
			time.Sleep(10 * time.Millisecond) // poll interval while it starts
		}
	}
	cc := &clientConn{nc: nc, enc: json.NewEncoder(nc)}
	stop := context.AfterFunc(c.ctx, func() { nc.Close() })
	defer stop()
	// The hello is answered before anything else is sent on this connection.
	if err := cc.send(&request{ID: 1, Op: opHello, Version: helloVersion}); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	sc := newScanner(nc)
	var hello message
	for {
		if !sc.Scan() {
			nc.Close()
			return nil, fmt.Errorf("hello: %w", errors.Join(sc.Err(), ErrConnLost))
		}
		if err := json.Unmarshal(sc.Bytes(), &hello); err != nil {
			nc.Close()
			return nil, fmt.Errorf("hello: %w", err)
		}
		if hello.ID == 1 {
			break
		}
		c.merge(hello.Task) // an exit event that overtook the answer
	}
	_ = nc.SetReadDeadline(time.Time{})
	if err := errorOf(&hello); err != nil {
		if errors.Is(err, ErrInvalid) {
			// Only a supervisor of an older protocol refuses a hello (an
			// upgrade that changed the protocol): it must make way for one
			// of this build. The next connection starts that one.
			c.retire(nc, err)
		}
		nc.Close()
		return nil, err
	}

	c.mu.Lock()
	for _, st := range hello.Tasks {
		c.mergeLocked(st)
	}
	c.mu.conn = cc
	c.mu.pid = hello.PID
	c.mu.features = hello.Features
	c.mu.nextID = 1
	close(c.mu.ready)
	c.mu.Unlock()
	c.logger.Info("connected to the supervisor", "pid", hello.PID, "tasks", len(hello.Tasks))
	cc.scanner = sc
	return cc, nil
}

// retire stops the supervisor at the other end of nc, which refused this
// client's hello (why), and waits for it to exit. SIGTERM ends a supervisor
// and leaves its tasks running; the next supervisor adopts them by PID, so
// exits the retired one would have observed come out as unknown exits.
func (c *Client) retire(nc net.Conn, why error) {
	pid, err := peerPID(nc)
	if err != nil || pid <= 1 || pid == os.Getpid() {
		c.logger.Error("the supervisor refused this agent's hello and cannot be replaced", "error", why, "peer_pid", pid, "peer_error", err)
		return
	}
	c.logger.Warn("replacing a supervisor of an older protocol: its tasks run on and the new one adopts them",
		"pid", pid, "error", why)
	// The pidfd, opened before the signal, names this process even if its
	// PID is reused once it exits.
	pidfd, err := openPidfd(pid)
	if err != nil {
		return
	}
	defer pidfd.Close()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return
	}
	_ = pidfd.SetReadDeadline(time.Now().Add(30 * time.Second))
	stop := context.AfterFunc(c.ctx, func() { _ = pidfd.SetReadDeadline(time.Now()) })
	defer stop()
	_ = waitPidfd(pidfd) // its exit, the deadline or this client's end
}

// peerPID is the PID of the process that listens at the other end of the
// unix socket connection nc (SO_PEERCRED).
func peerPID(nc net.Conn) (int, error) {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return 0, fmt.Errorf("not a unix socket: %T", nc)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	return int(cred.Pid), nil
}

func newScanner(nc net.Conn) *bufio.Scanner {
	sc := bufio.NewScanner(nc)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	return sc
}

// startSupervisor starts a supervisor process in its own session. The agent
// reaps it should it die first; if the agent dies first, it runs on.
func (c *Client) startSupervisor() error {
	logf, err := os.OpenFile(filepath.Join(c.cfg.Dir, LogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := c.cfg.Command()
	if cmd == nil {
		return nil
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the supervisor: %w", err)
	}
	c.logger.Info("started a supervisor", "pid", cmd.Process.Pid)
	go func() { _ = cmd.Wait() }()
	return nil
}

// read handles cc's messages until it ends, then fails the calls waiting on it.
func (c *Client) read(cc *clientConn) {
	stop := context.AfterFunc(c.ctx, func() { cc.nc.Close() })
	defer stop()
	for cc.scanner.Scan() {
		var m message
		if err := json.Unmarshal(cc.scanner.Bytes(), &m); err != nil {
			c.logger.Error("malformed message from the supervisor", "error", err)
			break
		}
		if m.ID == 0 {
			if m.Event == "exit" && m.Task != nil {
				c.merge(m.Task)
			}
			continue
		}
		c.mu.Lock()
		ch := c.mu.pending[m.ID]
		delete(c.mu.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- &m
		}
	}
	cc.nc.Close()
	c.mu.Lock()
	c.mu.conn = nil
	c.mu.pid = 0
	c.mu.ready = make(chan struct{})
	for id, ch := range c.mu.pending {
		close(ch)
		delete(c.mu.pending, id)
	}
	c.mu.Unlock()
	if c.ctx.Err() == nil {
		c.logger.Warn("lost the connection to the supervisor; reconnecting")
	}
}

func (cc *clientConn) send(r *request) error {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	return cc.enc.Encode(r)
}

// merge records st as the latest known state of its task.
func (c *Client) merge(st *TaskStatus) {
	if st == nil {
		return
	}
	c.mu.Lock()
	c.mergeLocked(st)
	c.mu.Unlock()
}

// mergeLocked: an exit of a run is final; a record of that run saying it
// runs (an answer that an exit event overtook) does not undo it.
func (c *Client) mergeLocked(st *TaskStatus) {
	cur := c.mu.tasks[st.ID]
	if cur != nil && cur.Nonce == st.Nonce && cur.State == TaskExited {
		return
	}
	if cur == nil || cur.Nonce != st.Nonce {
		c.mu.exited[st.ID] = make(chan struct{})
	}
	c.mu.tasks[st.ID] = st.copy()
	if st.State == TaskExited {
		close(c.mu.exited[st.ID])
	}
}

// call sends req and waits for its answer, retrying on the next connection
// when the current one ends first.
func (c *Client) call(ctx context.Context, req request) (*message, error) {
	for {
		c.mu.Lock()
		cc, ready := c.mu.conn, c.mu.ready
		c.mu.Unlock()
		if cc == nil {
			select {
			case <-ready:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-c.ctx.Done():
				return nil, ErrConnLost
			}
		}
		c.mu.Lock()
		if c.mu.conn != cc {
			c.mu.Unlock()
			continue
		}
		c.mu.nextID++
		req.ID = c.mu.nextID
		ch := make(chan *message, 1)
		c.mu.pending[req.ID] = ch
		c.mu.Unlock()
		if err := cc.send(&req); err != nil {
			cc.nc.Close() // read notices and fails ch
		}
		select {
		case m, ok := <-ch:
			if !ok {
				continue // connection lost: retry on the next
			}
			return m, errorOf(m)
		case <-ctx.Done():
			c.mu.Lock()
			delete(c.mu.pending, req.ID)
			c.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

// Start starts spec (a retried start with the same Nonce returns the task it
// started). ErrConflict: the task runs with another nonce.
func (c *Client) Start(ctx context.Context, spec *TaskSpec) (*TaskStatus, error) {
	m, err := c.call(ctx, request{Op: opStart, Spec: spec})
	if err != nil {
		return nil, err
	}
	c.merge(m.Task)
	return m.Task, nil
}

// Task returns the last known record of task id.
func (c *Client) Task(id string) (*TaskStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.mu.tasks[id]
	if st == nil {
		return nil, false
	}
	return st.copy(), true
}

// Tasks returns the last known record of every task.
func (c *Client) Tasks() []*TaskStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*TaskStatus, 0, len(c.mu.tasks))
	for _, st := range c.mu.tasks {
		out = append(out, st.copy())
	}
	return out
}

// Wait blocks until the run nonce of task id has exited and returns its
// record, or until ctx ends. ErrNotFound: no such run is known.
func (c *Client) Wait(ctx context.Context, id, nonce string) (*TaskStatus, error) {
	c.mu.Lock()
	st, ch := c.mu.tasks[id], c.mu.exited[id]
	c.mu.Unlock()
	if st == nil || st.Nonce != nonce {
		return nil, fmt.Errorf("%w: %q run %q", ErrNotFound, id, nonce)
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.tasks[id].copy(), nil
}

// Signal sends sig (a name such as "SIGHUP") to the task's process group.
func (c *Client) Signal(ctx context.Context, id, sig string) error {
	_, err := c.call(ctx, request{Op: opSignal, TaskID: id, Signal: sig})
	return err
}

// Stop sends sig to the task's group, SIGKILL after timeout, and returns the
// record once it exited.
func (c *Client) Stop(ctx context.Context, id, sig string, timeout time.Duration) (*TaskStatus, error) {
	m, err := c.call(ctx, request{Op: opStop, TaskID: id, Signal: sig, Timeout: timeout})
	if err != nil {
		return nil, err
	}
	c.merge(m.Task)
	return m.Task, nil
}

// Forget drops the record of an exited task.
func (c *Client) Forget(ctx context.Context, id string) error {
	_, err := c.call(ctx, request{Op: opForget, TaskID: id})
	if err == nil || errors.Is(err, ErrNotFound) {
		c.mu.Lock()
		delete(c.mu.tasks, id)
		delete(c.mu.exited, id)
		c.mu.Unlock()
		return nil
	}
	return err
}

// StopSupervisor asks the supervisor to exit, killing its tasks first when
// killTasks is set (else ErrConflict while any runs), and closes c.
func (c *Client) StopSupervisor(ctx context.Context, killTasks bool) error {
	c.stopping.Store(true)
	_, err := c.call(ctx, request{Op: opExit, KillTasks: killTasks})
	c.Close()
	return err
}
