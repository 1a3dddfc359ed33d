package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/tasklog"
	"github.com/orch-io/orch/structs"
)

// logDrainTimeout bounds how long an exit waits for the container's last
// output to reach the log files.
const logDrainTimeout = 5 * time.Second

// handle is one task's container. Its goroutines: the waiter (until the
// container exits) and the log copier (until the daemon ends the stream).
type handle struct {
	d       *Docker
	id      string
	started time.Time
	logger  *slog.Logger
	// exit is set once the container exited and its output is copied.
	exit *driver.Exit
}

var _ driver.Handle = (*handle)(nil)

// newHandle starts following container id: its output (from logsSince, the
// beginning if zero) into the task's log files, and its exit.
func (d *Docker) newHandle(cfg *driver.TaskConfig, id string, started, logsSince time.Time) *handle {
	h := &handle{
		d: d, id: id, started: started, exit: driver.NewExit(),
		logger: d.logger.With("alloc_id", cfg.AllocID, "task", cfg.TaskName, "container_id", short(id)),
	}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		h.copyLogs(cfg, logsSince)
	}()
	go h.wait(logsDone)
	return h
}

// copyLogs streams the container's stdout and stderr into the task's rotated
// log files until the container stops.
func (h *handle) copyLogs(cfg *driver.TaskConfig, since time.Time) {
	stdout, stderr, err := openLogs(cfg)
	if err != nil {
		h.logger.Warn("task logs", "error", err)
		return
	}
	defer stdout.Close()
	defer stderr.Close()
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true}
	if !since.IsZero() {
		opts.Since = strconv.FormatInt(since.Unix(), 10)
	}
	rc, err := h.d.api.ContainerLogs(context.Background(), h.id, opts)
	if err != nil {
		h.logger.Warn("following the container's output", "error", err)
		return
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil {
		h.logger.Debug("container output stream ended", "error", err)
	}
}

// openLogs opens the writers of the task's stdout and stderr files in the
// directory of cfg.StdoutPath, rotated as cfg.Logs says (discarding the
// output when it disables logs).
func openLogs(cfg *driver.TaskConfig) (stdout, stderr io.WriteCloser, err error) {
	logs := cfg.Logs
	if logs == nil {
		logs = structs.DefaultLogConfig()
	}
	if logs.Disabled {
		return nopCloser{io.Discard}, nopCloser{io.Discard}, nil
	}
	if cfg.StdoutPath == "" {
		return nil, nil, errors.New("no log file path")
	}
	open := func(stream string) (*tasklog.Writer, error) {
		return tasklog.NewWriter(tasklog.Config{
			Dir: filepath.Dir(cfg.StdoutPath), Task: cfg.TaskName, Stream: stream,
			MaxFiles: logs.MaxFiles, MaxFileSizeMB: logs.MaxFileSizeMB,
		})
	}
	out, err := open(tasklog.Stdout)
	if err != nil {
		return nil, nil, err
	}
	errw, err := open(tasklog.Stderr)
	if err != nil {
		out.Close()
		return nil, nil, err
	}
	return out, errw, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// wait waits for the container to exit, then records how it ended.
func (h *handle) wait(logsDone <-chan struct{}) {
	res := h.waitExit()
	select {
	case <-logsDone:
	case <-time.After(logDrainTimeout):
		h.logger.Warn("the container's last output did not arrive in time")
	}
	h.exit.Set(res)
	h.logger.Debug("container exited", "result", res.String())
}

// waitExit blocks until the container is not running and returns its exit.
// A broken connection to the daemon is retried; a container removed behind
// the agent's back ends the task with an explanation.
func (h *handle) waitExit() *driver.ExitResult {
	backoff := 100 * time.Millisecond
	for {
		w := h.d.api.ContainerWait(context.Background(), h.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case <-w.Result:
		case err := <-w.Error:
			if errdefs.IsNotFound(err) {
				return driver.Lost("container " + short(h.id) + " was removed")
			}
			h.logger.Warn("waiting for the container; retrying", "error", err)
			time.Sleep(backoff) // not a test wait: backing off from an unreachable daemon
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		// The wait result lacks OOMKilled; inspect has everything.
		res, err := h.d.api.ContainerInspect(context.Background(), h.id, client.ContainerInspectOptions{})
		if errdefs.IsNotFound(err) {
			return driver.Lost("container " + short(h.id) + " was removed")
		}
		if err != nil || res.Container.State == nil {
			h.logger.Warn("inspecting the exited container; retrying", "error", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		st := res.Container.State
		if st.Running {
			continue // restarted by someone else: wait again
		}
		return exitResult(st)
	}
}

// exitResult reads a stopped container's state. Docker reports a container
// killed by signal N as exit code 128+N.
func exitResult(st *container.State) *driver.ExitResult {
	r := &driver.ExitResult{ExitCode: st.ExitCode, OOMKilled: st.OOMKilled, Err: st.Error}
	if st.ExitCode > 128 && st.ExitCode < 128+65 {
		r.Signal = st.ExitCode - 128
	}
	return r
}

// TaskHandle implements driver.Handle: the container ID.
func (h *handle) TaskHandle() *driver.TaskHandle {
	return &driver.TaskHandle{Driver: Name, ID: h.id, StartedAt: h.started.UnixNano()}
}

// Wait implements driver.Handle.
func (h *handle) Wait(ctx context.Context) (*driver.ExitResult, error) { return h.exit.Wait(ctx) }

// Stop implements driver.Handle: the kill signal, then SIGKILL after the
// timeout. An unknown signal name is reported after the container was killed.
func (h *handle) Stop(signal string, timeout time.Duration) error {
	return driver.StopWithTimeout(h.exit, signal, timeout, h.kill, h.logger)
}

// kill sends sig to the container unless it has exited.
func (h *handle) kill(sig syscall.Signal) {
	select {
	case <-h.exit.Done():
		return
	default:
	}
	_, err := h.d.api.ContainerKill(context.Background(), h.id, client.ContainerKillOptions{Signal: strconv.Itoa(int(sig))})
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) { // conflict: not running
		h.logger.Warn("signalling the container", "signal", sig, "error", err)
	}
}

// Signal implements driver.Handle.
func (h *handle) Signal(signal string) error {
	sig, err := driver.ParseSignal(signal)
	if err != nil {
		return err
	}
	h.kill(sig)
	return nil
}

// Destroy implements driver.Handle: the container is removed (killed first
// if it runs).
func (h *handle) Destroy(ctx context.Context) error {
	_, err := h.d.api.ContainerRemove(ctx, h.id, client.ContainerRemoveOptions{Force: true})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("docker: removing container %s: %w", short(h.id), err)
	}
	select { // the waiter sees the removal
	case <-h.exit.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("docker: removing container %s: %w", short(h.id), ctx.Err())
	}
}

// statsJSON is the part of the daemon's stats document Stats reads.
type statsJSON struct {
	CPUStats struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
	} `json:"cpu_stats"`
	MemoryStats struct {
		Usage uint64            `json:"usage"`
		Stats map[string]uint64 `json:"stats"`
	} `json:"memory_stats"`
}

// Stats implements driver.Handle with one sample of the daemon's stats.
func (h *handle) Stats(ctx context.Context) (*driver.TaskStats, error) {
	res, err := h.d.api.ContainerStats(ctx, h.id, client.ContainerStatsOptions{Stream: false})
	if err != nil {
		return nil, fmt.Errorf("docker: stats of %s: %w", short(h.id), err)
	}
	defer res.Body.Close()
	var s statsJSON
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("docker: stats of %s: %w", short(h.id), err)
	}
	rss := s.MemoryStats.Stats["rss"] // cgroup v1
	if rss == 0 {
		rss = s.MemoryStats.Stats["anon"] // cgroup v2
	}
	return &driver.TaskStats{
		Time:             time.Now(),
		CPUTotal:         time.Duration(s.CPUStats.CPUUsage.TotalUsage),
		MemoryRSSBytes:   rss,
		MemoryUsageBytes: s.MemoryStats.Usage,
	}, nil
}

// Exec implements driver.Handle: cmd runs in the container, and its output
// is returned once it exits.
func (h *handle) Exec(ctx context.Context, cmd []string) (*driver.ExecResult, error) {
	if len(cmd) == 0 {
		return nil, errors.New("docker: exec: empty command")
	}
	ex, err := h.d.api.ExecCreate(ctx, h.id, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, fmt.Errorf("docker: exec in %s: %w", short(h.id), err)
	}
	att, err := h.d.api.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker: exec in %s: %w", short(h.id), err)
	}
	defer att.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
		return nil, fmt.Errorf("docker: exec in %s: reading output: %w", short(h.id), err)
	}
	ins, err := h.d.api.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker: exec in %s: %w", short(h.id), err)
	}
	return &driver.ExecResult{Stdout: out.Bytes(), Stderr: errOut.Bytes(), ExitCode: ins.ExitCode}, nil
}

var _ driver.ExecStreamer = (*handle)(nil)

// ExecStreaming implements driver.ExecStreamer with a Docker exec attached
// to the caller's streams (on a terminal of the engine's when asked). ctx
// ending closes the attachment; the engine then ends the exec's streams
// (a command that ignores its closed input may run on: Docker has no kill
// of an exec).
func (h *handle) ExecStreaming(ctx context.Context, opts *driver.ExecOptions) (int, error) {
	if len(opts.Cmd) == 0 {
		return 0, errors.New("docker: exec: empty command")
	}
	size := client.ConsoleSize{Height: uint(max(opts.Size.Height, 0)), Width: uint(max(opts.Size.Width, 0))}
	if !opts.Tty || size.Height == 0 || size.Width == 0 {
		size = client.ConsoleSize{}
	}
	ex, err := h.d.api.ExecCreate(ctx, h.id, client.ExecCreateOptions{
		Cmd: opts.Cmd, TTY: opts.Tty, ConsoleSize: size,
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return 0, fmt.Errorf("docker: exec in %s: %w", short(h.id), err)
	}
	att, err := h.d.api.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{TTY: opts.Tty, ConsoleSize: size})
	if err != nil {
		return 0, fmt.Errorf("docker: exec in %s: %w", short(h.id), err)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	go func() {
		_, _ = io.Copy(att.Conn, opts.Stdin)
		if opts.Tty {
			// ^D, as a user would type it. Not a close: on a terminal the
			// engine ends the whole attachment when its input closes.
			_, _ = att.Conn.Write([]byte{4})
			return
		}
		_ = att.CloseWrite()
	}()
	if opts.Tty && opts.Resize != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case sz, ok := <-opts.Resize:
					if !ok {
						return
					}
					if sz.Height > 0 && sz.Width > 0 {
						_, _ = h.d.api.ExecResize(ctx, ex.ID, client.ExecResizeOptions{Height: uint(sz.Height), Width: uint(sz.Width)})
					}
				case <-done:
					return
				}
			}
		}()
	}
	if opts.Tty {
		_, err = io.Copy(opts.Stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(opts.Stdout, opts.Stderr, att.Reader)
	}
	if ctx.Err() != nil {
		return 0, fmt.Errorf("docker: exec in %s: %w", short(h.id), ctx.Err())
	}
	if err != nil {
		return 0, fmt.Errorf("docker: exec in %s: reading output: %w", short(h.id), err)
	}
	// The streams may end a moment before the engine records the exit.
	for wait := 5 * time.Millisecond; ; wait *= 2 {
		ins, err := h.d.api.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
		if err != nil {
			return 0, fmt.Errorf("docker: exec in %s: %w", short(h.id), err)
		}
		if !ins.Running || wait > time.Second {
			return ins.ExitCode, nil
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return 0, fmt.Errorf("docker: exec in %s: %w", short(h.id), ctx.Err())
		}
	}
}
