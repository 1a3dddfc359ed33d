package docker

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/tasklog"
	"github.com/orch-io/orch/structs"
)

// The container's output goes to the task's rotated files, in the layout the
// supervisor writes raw_exec tasks' output in; a disabled logs block writes
// nothing.
func TestOpenLogsWritesRotatedFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := &driver.TaskConfig{TaskName: "web", StdoutPath: filepath.Join(dir, "web.stdout.0"), StderrPath: filepath.Join(dir, "web.stderr.0"),
		Logs: &structs.LogConfig{MaxFiles: 2, MaxFileSizeMB: 1}}
	out, errw, err := openLogs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(*tasklog.Writer); !ok {
		t.Fatalf("stdout writer is a %T, want a tasklog.Writer", out)
	}
	big := make([]byte, 1<<20+5)
	if _, err := out.Write(big); err != nil {
		t.Fatal(err)
	}
	if _, err := errw.Write([]byte("e")); err != nil {
		t.Fatal(err)
	}
	out.Close()
	errw.Close()
	if idx, sizes, _ := tasklog.Files(dir, "web", tasklog.Stdout); len(idx) != 2 || sizes[1] != 5 {
		t.Errorf("stdout files %v sizes %v, want 0 and 1 (5 bytes)", idx, sizes)
	}
	if b, _ := os.ReadFile(cfg.StderrPath); string(b) != "e" {
		t.Errorf("stderr = %q", b)
	}

	off := t.TempDir()
	cfg = &driver.TaskConfig{TaskName: "web", StdoutPath: filepath.Join(off, "web.stdout.0"), Logs: &structs.LogConfig{Disabled: true}}
	out, errw, err = openLogs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = out.Write([]byte("x"))
	_, _ = errw.Write([]byte("x"))
	if entries, _ := os.ReadDir(off); len(entries) != 0 {
		t.Errorf("logs disabled, yet %d files were written", len(entries))
	}
}
