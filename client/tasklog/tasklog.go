package tasklog

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/orch-io/orch/structs"
)

// The two streams of a task.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Config names one stream's files and bounds them.
type Config struct {
	// Dir holds the files; it exists.
	Dir string
	// Task and Stream ("stdout", "stderr") name them: <Task>.<Stream>.N.
	Task, Stream string
	// MaxFiles is how many files are kept (structs.DefaultLogMaxFiles if not
	// positive); MaxFileSizeMB how large each grows before the next is
	// started (structs.DefaultLogMaxFileSizeMB if not positive).
	MaxFiles      int
	MaxFileSizeMB int
}

// Prefix is what the names of task's files of stream start with, the index
// following: "web.stdout.".
func Prefix(task, stream string) string { return task + "." + stream + "." }

// Writer appends to a stream's files, moving to file N+1 when file N reaches
// the size limit and removing the oldest files beyond the count limit. It
// is used by one goroutine at a time.
type Writer struct {
	dir, prefix string
	maxFiles    int
	maxSize     int64

	f    *os.File
	idx  int
	size int64
}

// NewWriter opens the newest of cfg's files for appending (file 0 if there is
// none): a restarted task, or a new writer of a running one, continues where
// the last writer stopped.
func NewWriter(cfg Config) (*Writer, error) {
	w := &Writer{
		dir: cfg.Dir, prefix: Prefix(cfg.Task, cfg.Stream),
		maxFiles: cfg.MaxFiles, maxSize: int64(cfg.MaxFileSizeMB) << 20,
	}
	if w.maxFiles <= 0 {
		w.maxFiles = structs.DefaultLogMaxFiles
	}
	if w.maxSize <= 0 {
		w.maxSize = structs.DefaultLogMaxFileSizeMB << 20
	}
	idx, _, err := Files(cfg.Dir, cfg.Task, cfg.Stream)
	if err != nil {
		return nil, err
	}
	if len(idx) > 0 {
		w.idx = idx[len(idx)-1]
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) path(i int) string { return filepath.Join(w.dir, w.prefix+strconv.Itoa(i)) }

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path(w.idx), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Write writes p, splitting it across files at the size limit.
func (w *Writer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.size >= w.maxSize {
			if err := w.rotate(); err != nil {
				return written, err
			}
		}
		chunk := p
		if room := w.maxSize - w.size; int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		n, err := w.f.Write(chunk)
		written += n
		w.size += int64(n)
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (w *Writer) rotate() error {
	w.f.Close()
	w.idx++
	if err := w.open(); err != nil {
		return err
	}
	for old := w.idx - w.maxFiles; old >= 0; old-- {
		if err := os.Remove(w.path(old)); errors.Is(err, os.ErrNotExist) {
			break // older ones went earlier
		}
	}
	return nil
}

// Close closes the current file.
func (w *Writer) Close() error { return w.f.Close() }

// Files returns the indexes N of task's files of stream in dir, ascending,
// and their sizes.
func Files(dir, task, stream string) (idx []int, sizes []int64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	prefix := Prefix(task, stream)
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
