package supervisor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Nomad's defaults for a task's logs block.
const (
	DefaultLogMaxFiles      = 10
	DefaultLogMaxFileSizeMB = 10
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

// rotator appends to <dir>/<name>.<stream>.N, moving to N+1 when the file
// reaches maxSize bytes and removing the oldest files beyond maxFiles, as
// Nomad's log rotation names them. Used by one goroutine.
type rotator struct {
	dir, prefix string // prefix: "<name>.<stream>."
	maxFiles    int
	maxSize     int64

	f    *os.File
	idx  int
	size int64
}

func newRotator(l LogSpec, stream string) (*rotator, error) {
	r := &rotator{dir: l.Dir, prefix: l.Name + "." + stream + ".", maxFiles: l.MaxFiles, maxSize: int64(l.MaxFileSizeMB) << 20}
	if r.maxFiles <= 0 {
		r.maxFiles = DefaultLogMaxFiles
	}
	if r.maxSize <= 0 {
		r.maxSize = DefaultLogMaxFileSizeMB << 20
	}
	// Continue the newest file: a restarted task or an adopting supervisor
	// appends where the last writer stopped.
	idx, _, err := LogFiles(l.Dir, r.prefix)
	if err != nil {
		return nil, err
	}
	if len(idx) > 0 {
		r.idx = idx[len(idx)-1]
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotator) path(i int) string { return filepath.Join(r.dir, r.prefix+strconv.Itoa(i)) }

func (r *rotator) open() error {
	f, err := os.OpenFile(r.path(r.idx), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write writes p, splitting it across files at the size limit.
func (r *rotator) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if r.size >= r.maxSize {
			if err := r.rotate(); err != nil {
				return written, err
			}
		}
		chunk := p
		if room := r.maxSize - r.size; int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		n, err := r.f.Write(chunk)
		written += n
		r.size += int64(n)
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (r *rotator) rotate() error {
	r.f.Close()
	r.idx++
	if err := r.open(); err != nil {
		return err
	}
	for old := r.idx - r.maxFiles; old >= 0; old-- {
		if err := os.Remove(r.path(old)); errors.Is(err, os.ErrNotExist) {
			break // older ones went earlier
		}
	}
	return nil
}

func (r *rotator) Close() error { return r.f.Close() }

// LogFiles returns the indexes N of the files <dir>/<prefix>N, ascending, and
// their sizes. prefix is "<task>.stdout." or "<task>.stderr.".
func LogFiles(dir, prefix string) (idx []int, sizes []int64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	type file struct {
		i    int
		size int64
	}
	var files []file
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{i, fi.Size()})
	}
	slices.SortFunc(files, func(a, b file) int { return a.i - b.i })
	for _, f := range files {
		idx = append(idx, f.i)
		sizes = append(sizes, f.size)
	}
	return idx, sizes, nil
}

// copyLog copies the pipe into the rotator until every writer has closed the
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
