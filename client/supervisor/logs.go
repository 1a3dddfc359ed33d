package supervisor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// fifoPath is the named pipe a task writes stream ("stdout" or "stderr") to.
func fifoPath(l LogSpec, stream string) string {
	return filepath.Join(l.Dir, "."+l.Name+"."+stream+".fifo")
}

// ensureFifo makes the named pipe at path unless it exists.
func ensureFifo(path string) error {
	err := syscall.Mkfifo(path, 0o600)
	if errors.Is(err, syscall.EEXIST) {
		fi, serr := os.Lstat(path)
		if serr == nil && fi.Mode()&os.ModeNamedPipe != 0 {
			return nil
		}
		return fmt.Errorf("%s exists and is not a named pipe", path)
	}
	if err != nil {
		return fmt.Errorf("make log pipe: %w", err)
	}
	return nil
}

// openFifoReader opens the read end of a named pipe without waiting for a
// writer; reads then block (in the Go poller, not a thread) until data comes,
// and report io.EOF once every writer has closed it.
func openFifoReader(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// copyLog copies the pipe into the log writer until every writer has closed the
// pipe, then closes both. Run on its own goroutine per stream.
func copyLog(pipe *os.File, dst io.WriteCloser) {
	buf := make([]byte, 32<<10)
	for {
		n, err := pipe.Read(buf)
		if n > 0 {
			// A failing log disk must not stop the task: keep draining.
			_, _ = dst.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	pipe.Close()
	dst.Close()
}

// discard is the log destination of a task whose logs are disabled.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }
