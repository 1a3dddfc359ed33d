package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/supervisor/launch"
	"github.com/orch-io/orch/client/tasklog"
)

var parseSignal = driver.ParseSignal

func checkSpec(spec *TaskSpec) error {
	var errs []error
	switch {
	case spec == nil:
		return fmt.Errorf("%w: start: no task spec", ErrInvalid)
	case !validID(spec.ID):
		errs = append(errs, fmt.Errorf("id %q: must be 1-200 characters without '/' or NUL, not starting with '.'", spec.ID))
	}
	switch {
	case spec.Isolation != nil:
		if spec.Path == "" {
			errs = append(errs, errors.New("path: required"))
		}
		if _, err := launch.CloneFlags(spec.Isolation.Namespaces); err != nil {
			errs = append(errs, fmt.Errorf("isolation: %w", err))
		}
	case !filepath.IsAbs(spec.Path):
		errs = append(errs, fmt.Errorf("path %q: must be absolute", spec.Path))
	}
	if len(spec.Args) == 0 {
		errs = append(errs, errors.New("args: must hold at least the program name"))
	}
	if !spec.Logs.Disabled && (spec.Logs.Dir == "" || !validID(spec.Logs.Name)) {
		errs = append(errs, fmt.Errorf("logs: dir %q and name %q: both required", spec.Logs.Dir, spec.Logs.Name))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: start: %w", ErrInvalid, err)
	}
	return nil
}

// start runs spec. A start retried with the same nonce while the task runs
// returns the running task. An isolated task is started once the launcher
// exec'd it: a failure of the launcher is the start's error.
func (s *Supervisor) start(spec *TaskSpec) (*TaskStatus, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	st, launchErrors, err := s.startLocked(spec)
	if err != nil || launchErrors == nil {
		return st, err
	}
	// Read outside s.mu: the reaper may reap a failed launcher meanwhile.
	msg, err := io.ReadAll(launchErrors)
	launchErrors.Close()
	if err == nil && len(msg) > 0 {
		err = errors.New(string(msg))
	}
	if err != nil {
		return nil, fmt.Errorf("task %q: %w", spec.ID, err)
	}
	return st, nil
}

// launcher returns how to start spec's launcher: its path, argv and
// environment, the clone flags of its namespaces, and the descriptor it
// reports errors on (the child's end of the pipe, at index errFD of files).
func launcher(spec *TaskSpec, errFD int) (path string, args, env []string, flags uintptr, err error) {
	flags, err = launch.CloneFlags(spec.Isolation.Namespaces)
	if err != nil {
		return "", nil, nil, 0, err
	}
	b, err := json.Marshal(&launch.Spec{
		Path: spec.Path, Args: spec.Args, Env: spec.Env, Dir: spec.Dir,
		ErrFD: errFD, Isolation: *spec.Isolation,
	})
	if err != nil {
		return "", nil, nil, 0, err
	}
	// This very binary: it links package launch, whose init runs the
	// launcher (also after an upgrade replaced the file on disk).
	return "/proc/self/exe", []string{launch.Arg0}, []string{launch.SpecEnv + "=" + string(b)}, flags, nil
}

func (s *Supervisor) startLocked(spec *TaskSpec) (*TaskStatus, *os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.stopping {
		return nil, nil, fmt.Errorf("%w: task %q: the supervisor is stopping", ErrInvalid, spec.ID)
	}
	if t := s.mu.tasks[spec.ID]; t != nil && t.status.State == TaskRunning {
		if t.status.Nonce == spec.Nonce {
			return t.status.copy(), nil, nil
		}
		return nil, nil, fmt.Errorf("%w: %q (pid %d)", ErrConflict, spec.ID, t.status.PID)
	}

	// The process is started and registered under s.mu, so the reaper, which
	// takes s.mu, cannot reap it as a stranger however fast it exits.
	streams, err := openStreams(spec.Logs)
	if err != nil {
		return nil, nil, fmt.Errorf("task %q: %w", spec.ID, err)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		streams.closeAll()
		return nil, nil, err
	}
	files := []*os.File{devnull, streams.outW, streams.errW}
	if streams.outKeep != nil {
		files = append(files, streams.outKeep, streams.errKeep)
	}
	path, args, env, dir := spec.Path, spec.Args, spec.Env, spec.Dir
	// Own process group: signals and kills reach everything the task starts.
	sys := &syscall.SysProcAttr{Setpgid: true}
	var launchR, launchW *os.File
	if spec.Isolation != nil {
		if launchR, launchW, err = os.Pipe(); err == nil {
			files = append(files, launchW)
			path, args, env, sys.Cloneflags, err = launcher(spec, len(files)-1)
			dir = ""
		}
		if err != nil {
			devnull.Close()
			streams.closeAll()
			closeFiles(launchR, launchW)
			return nil, nil, fmt.Errorf("task %q: %w", spec.ID, err)
		}
	}
	proc, err := os.StartProcess(path, args, &os.ProcAttr{Dir: dir, Env: env, Files: files, Sys: sys})
	devnull.Close()
	streams.closeTaskEnds()
	closeFiles(launchW)
	if err != nil {
		streams.closeReaders()
		closeFiles(launchR)
		return nil, nil, fmt.Errorf("task %q: start %s: %w", spec.ID, spec.Path, err)
	}
	pid := proc.Pid
	_ = proc.Release() // reaped by the reaper, never through os.Process
	ticks, err := StartTicks(pid)
	if err != nil {
		// It cannot be reaped before we release s.mu, so /proc has it.
		s.logger.Warn("reading task start time", "pid", pid, "error", err)
	}
	st := &TaskStatus{
		ID: spec.ID, Nonce: spec.Nonce, PID: pid, State: TaskRunning,
		StartTicks: ticks, BootID: s.bootID, StartedAt: time.Now(), Logs: spec.Logs,
	}
	t := &task{status: st, done: make(chan struct{})}
	s.mu.tasks[spec.ID] = t
	s.mu.children[pid] = t
	streams.copy(spec.Logs)
	s.logger.Info("task started", "task_id", spec.ID, "pid", pid, "path", spec.Path)
	out := st.copy()
	s.persist(out) // under s.mu: an exit's record must not be overwritten by this one
	return out, launchR, nil
}

// streams are the pipes of one task's stdout and stderr.
type streams struct {
	outR, errR       *os.File // the supervisor's read ends
	outW, errW       *os.File // the task's stdout and stderr
	outKeep, errKeep *os.File // spare read ends the task holds (see doc.go)
	disabled         bool
}

func openStreams(l LogSpec) (*streams, error) {
	if l.Disabled {
		w, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		w2, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			w.Close()
			return nil, err
		}
		return &streams{outW: w, errW: w2, disabled: true}, nil
	}
	s := &streams{}
	open := func(stream string) (r, w, keep *os.File, err error) {
		p := fifoPath(l, stream)
		if err = ensureFifo(p); err != nil {
			return
		}
		if r, err = openFifoReader(p); err != nil {
			return
		}
		if keep, err = openFifoReader(p); err != nil {
			r.Close()
			return
		}
		if w, err = os.OpenFile(p, os.O_WRONLY, 0); err != nil { // a reader exists: does not block
			r.Close()
			keep.Close()
		}
		return
	}
	var err error
	if s.outR, s.outW, s.outKeep, err = open("stdout"); err != nil {
		return nil, err
	}
	if s.errR, s.errW, s.errKeep, err = open("stderr"); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

func closeFiles(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

func (s *streams) closeTaskEnds() { closeFiles(s.outW, s.errW, s.outKeep, s.errKeep) }
func (s *streams) closeReaders()  { closeFiles(s.outR, s.errR) }
func (s *streams) closeAll()      { s.closeTaskEnds(); s.closeReaders() }

// copy starts copying both pipes into their rotated files.
func (s *streams) copy(l LogSpec) {
	if s.disabled {
		return
	}
	for _, p := range []struct {
		r      *os.File
		stream string
	}{{s.outR, tasklog.Stdout}, {s.errR, tasklog.Stderr}} {
		var dst io.WriteCloser = discard{}
		if w, err := tasklog.NewWriter(tasklog.Config{
			Dir: l.Dir, Task: l.Name, Stream: p.stream, MaxFiles: l.MaxFiles, MaxFileSizeMB: l.MaxFileSizeMB,
		}); err == nil {
			dst = w
		}
		go copyLog(p.r, dst)
	}
}

// loadRecords reads the task records a predecessor left and adopts the tasks
// they say run. Called once by Run before serving.
func (s *Supervisor) loadRecords() {
	entries, err := os.ReadDir(filepath.Join(s.dir, tasksDir))
	if err != nil {
		s.logger.Error("reading task records", "error", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, tasksDir, name))
		var st TaskStatus
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil || st.ID+".json" != name {
			s.logger.Error("unreadable task record; ignored", "file", name, "error", err)
			continue
		}
		t := &task{status: &st, done: make(chan struct{})}
		s.mu.tasks[st.ID] = t
		if st.State != TaskRunning {
			close(t.done)
			continue
		}
		s.adopt(t)
	}
}

// adopt takes over a running task a predecessor started: it checks that the
// PID is still the task's, watches it through a pidfd and reopens its output
// pipes. A task that is gone is recorded exited, status unknown.
func (s *Supervisor) adopt(t *task) {
	st := t.status
	lost := func(why string) {
		st.State, st.ExitedAt = TaskExited, time.Now()
		st.ExitCode, st.ExitUnknown, st.Lost = -1, true, why
		close(t.done)
		s.logger.Warn("task lost", "task_id", st.ID, "pid", st.PID, "reason", why)
		s.persist(st.copy())
	}
	if st.BootID != s.bootID {
		lost("the node rebooted")
		return
	}
	pidfd, err := openPidfd(st.PID)
	if err != nil {
		lost("exited while no supervisor watched it")
		return
	}
	// Checked after the pidfd is open: the pidfd then holds this very process.
	if ticks, err := StartTicks(st.PID); err != nil || ticks != st.StartTicks {
		pidfd.Close()
		lost("exited while no supervisor watched it")
		return
	}
	st.Adopted = true
	if !st.Logs.Disabled {
		r := &streams{}
		r.outR, _ = openFifoReader(fifoPath(st.Logs, "stdout"))
		r.errR, _ = openFifoReader(fifoPath(st.Logs, "stderr"))
		if r.outR != nil && r.errR != nil {
			r.copy(st.Logs)
		} else {
			r.closeReaders()
			s.logger.Warn("cannot reopen the task's output pipes; its output is lost until it restarts", "task_id", st.ID)
		}
	}
	s.persist(st.copy())
	s.logger.Info("task adopted", "task_id", st.ID, "pid", st.PID)
	go s.watchAdopted(t, pidfd)
}

// watchAdopted waits for an adopted task to exit. Its status is unknown: it
// is not our child.
func (s *Supervisor) watchAdopted(t *task, pidfd *os.File) {
	err := waitPidfd(pidfd)
	pidfd.Close()
	s.mu.Lock()
	st := t.status
	// What the main process left in its group goes too. The group's ID cannot
	// have been reused while any member lives.
	killGroup(st.PID, syscall.SIGKILL)
	st.State, st.ExitedAt = TaskExited, time.Now()
	st.ExitCode, st.ExitUnknown = -1, true
	st.Lost = "exited while adopted; its exit status is unknown"
	if err != nil {
		st.Lost = "watching the adopted task failed: " + err.Error()
	}
	out := st.copy()
	s.mu.Unlock()
	s.finish(t, out)
}
