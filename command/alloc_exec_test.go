package command

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// alloc exec through a real agent: HTTP WebSocket → server → the client's
// stream → raw_exec.
func TestAllocExec(t *testing.T) {
	a := startClientAgent(t)
	a.register(t, echoJob("exec"))
	alloc := runningAlloc(t, a, "exec")
	short := alloc.ID[:8]

	// Output, stderr and the exit code, in the task's directory and
	// environment; -i=false closes stdin at once.
	r := runCLI(t, "alloc", "exec", "-address", a.addr, "-i=false", short,
		"/bin/sh", "-c", `pwd; echo "$NOMAD_ALLOC_ID"; echo err >&2; exit 7`)
	if r.code != 7 {
		t.Errorf("exit code %d, want 7 (stderr %q)", r.code, r.stderr)
	}
	mustContain(t, "stdout", r.stdout, "/allocs/"+alloc.ID+"/server\n", alloc.ID+"\n")
	if r.stderr != "err\n" {
		t.Errorf("stderr = %q, want %q", r.stderr, "err\n")
	}
	if r := runCLI(t, "alloc", "exec", "-address", a.addr, short, "true"); r.code != 0 {
		t.Errorf("exec true: code %d, stderr %q", r.code, r.stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec := func(opts api.ExecOptions) (int, string, error) {
		var out bytes.Buffer
		opts.Stdout, opts.Stderr = &out, &out
		code, err := a.API.Allocations().Exec(ctx, alloc.ID, opts)
		return code, out.String(), err
	}

	// Stdin reaches the command; its end closes the command's input.
	if code, out, err := exec(api.ExecOptions{Command: []string{"tr", "a-z", "A-Z"}, Stdin: strings.NewReader("hello\n")}); err != nil || code != 0 || out != "HELLO\n" {
		t.Errorf("exec tr = %d, %q, %v; want 0, HELLO", code, out, err)
	}

	// A terminal, of the size the caller sends.
	sizes := make(chan api.TerminalSize, 1)
	sizes <- api.TerminalSize{Height: 33, Width: 99}
	code, out, err := exec(api.ExecOptions{Tty: true, Sizes: sizes, Command: []string{"/bin/sh", "-c",
		`test -t 0 || exit 9; while [ "$(stty size)" != "33 99" ]; do sleep 0.02; done; echo sized; exit 4`}})
	if err != nil || code != 4 || out != "sized\r\n" {
		t.Errorf("exec on a terminal = %d, %q, %v; want 4 and sized with CRLF", code, out, err)
	}

	// Clear errors: a missing command, an unknown task.
	if _, _, err := exec(api.ExecOptions{Command: []string{"no-such-command-xyz"}}); err == nil || !strings.Contains(err.Error(), "no-such-command-xyz") {
		t.Errorf("exec of a missing command: %v, want an error naming it", err)
	}
	r = runCLI(t, "alloc", "exec", "-address", a.addr, "-task", "nope", short, "true")
	if r.code != 1 || !strings.Contains(r.stderr, `has no task "nope" (tasks: server)`) {
		t.Errorf("exec in an unknown task: code %d, stderr %q", r.code, r.stderr)
	}

	// The caller hanging up kills the command.
	hangup, hang := context.WithCancel(ctx)
	pidFile := filepath.Join(a.Agent.Agent.DataDir(), "client", "allocs", alloc.ID, "alloc", "exec.pid")
	ended := make(chan error, 1)
	go func() {
		_, err := a.API.Allocations().Exec(hangup, alloc.ID, api.ExecOptions{Command: []string{"/bin/sh", "-c", `echo $$ > "$NOMAD_ALLOC_DIR/exec.pid"; exec sleep 1000`}, Stdin: blockingReader{hangup}})
		ended <- err
	}()
	var pid int
	waitFor(t, "the exec'd command's pid", func() bool {
		b, err := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	hang()
	if err := <-ended; err == nil {
		t.Error("a session cut short reported no error")
	}
	waitFor(t, "the exec'd command to be killed", func() bool { return syscall.Kill(pid, 0) != nil })

	// A stopped allocation has nothing to exec into.
	if _, err := a.API.Jobs().Deregister("exec", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the allocation to stop", func() bool {
		al, _, err := a.API.Allocations().Info(alloc.ID, nil)
		return err == nil && al.ClientStatus == structs.AllocClientStatusComplete
	})
	r = runCLI(t, "alloc", "exec", "-address", a.addr, short, "true")
	if r.code != 1 || !strings.Contains(r.stderr, "is complete: exec needs a running task") {
		t.Errorf("exec into a stopped allocation: code %d, stderr %q", r.code, r.stderr)
	}
}

// blockingReader is a stdin that sends nothing until ctx ends.
type blockingReader struct{ ctx context.Context }

func (r blockingReader) Read([]byte) (int, error) {
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}
