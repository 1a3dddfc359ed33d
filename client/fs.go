package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/client/tasklog"
	"github.com/orch-io/orch/structs"
)

// The files of an allocation, as the client endpoints serve them (orch alloc
// fs, orch alloc logs). Every path is confined to the allocation directory:
// a path with ".." is refused, and files are opened through an os.Root of the
// directory, so a symlink that leads out of it is refused too, even one
// swapped in between a check and the open.

// Tuning of log streaming.
const (
	// logPollInterval is how often a follower looks for new output once it
	// has sent everything: the bulk of `alloc logs -f` latency.
	logPollInterval = 20 * time.Millisecond
	// logHeartbeatInterval is how often an idle follow sends an empty frame,
	// so that a dead caller is noticed and proxies keep the stream open.
	logHeartbeatInterval = 10 * time.Second
	// frameSize bounds the Data of one frame.
	frameSize = 64 << 10
)

// allocRoot opens the directory of allocID, which the client must know. The
// caller closes it.
func (c *Client) allocRoot(allocID string) (*os.Root, error) {
	c.mu.Lock()
	_, ok := c.mu.runners[allocID]
	c.mu.Unlock()
	if !ok || allocID == "" || strings.ContainsAny(allocID, "/\x00") || allocID == "." || allocID == ".." {
		return nil, structs.NewError(structs.CodeNotFound, "allocation %q is not on node %s", allocID, c.nodeID)
	}
	root, err := os.OpenRoot(filepath.Join(c.allocsDir, allocID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, structs.NewError(structs.CodeNotFound, "allocation %s has no directory on node %s (not started yet, or collected)", allocID, c.nodeID)
	}
	if err != nil {
		return nil, structs.NewError(structs.CodeInternal, "allocation %s: opening its directory: %v", allocID, err)
	}
	return root, nil
}

// cleanAllocPath turns a user's path ("/", "alloc/logs", "/web/local/x")
// into a path relative to the allocation directory ("." for its root). It
// refuses ".." anywhere, rather than resolve it: a path that means to climb
// is a mistake or an attack either way.
func cleanAllocPath(p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", structs.NewError(structs.CodeInvalid, "path %q: must not contain NUL", p)
	}
	if slices.Contains(strings.Split(p, "/"), "..") {
		return "", structs.NewError(structs.CodeInvalid, `path %q: ".." is not allowed: paths stay inside the allocation directory`, p)
	}
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}
	return rel, nil
}

// rootErr gives an error of an os.Root operation on p its code: a path
// that leaves the directory (through a symlink) is refused, a missing file
// is not found.
func rootErr(allocID, p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return structs.NewError(structs.CodeNotFound, "allocation %s: path %q: no such file or directory", allocID, p)
	case errors.Is(err, fs.ErrPermission):
		return structs.NewError(structs.CodePermissionDenied, "allocation %s: path %q: permission denied", allocID, p)
	case strings.Contains(err.Error(), "escapes"):
		// os.Root's error for a path that resolves outside the root has no
		// sentinel of its own to test.
		return structs.NewError(structs.CodePermissionDenied, "allocation %s: path %q: leads outside the allocation directory (through a symlink): refused", allocID, p)
	}
	return structs.NewError(structs.CodeInternal, "allocation %s: path %q: %v", allocID, p, err)
}

// fileInfo describes fi as the API shows it.
func fileInfo(fi fs.FileInfo) *structs.AllocFileInfo {
	out := &structs.AllocFileInfo{
		Name:     fi.Name(),
		IsDir:    fi.IsDir(),
		Size:     fi.Size(),
		FileMode: fi.Mode().String(),
		ModTime:  fi.ModTime(),
	}
	if !fi.IsDir() {
		out.ContentType = mime.TypeByExtension(filepath.Ext(fi.Name()))
		if out.ContentType == "" {
			out.ContentType = "application/octet-stream"
		}
	}
	return out
}

// statAlloc opens the allocation directory of args and describes args.Path
// in it. The caller closes root.
func (c *Client) statAlloc(args *structs.FSRequest) (root *os.Root, rel string, fi fs.FileInfo, err error) {
	if rel, err = cleanAllocPath(args.Path); err != nil {
		return nil, "", nil, err
	}
	if root, err = c.allocRoot(args.AllocID); err != nil {
		return nil, "", nil, err
	}
	if fi, err = root.Stat(rel); err != nil {
		root.Close()
		return nil, "", nil, rootErr(args.AllocID, args.Path, err)
	}
	return root, rel, fi, nil
}

// fsStat describes one path of an allocation directory.
func (c *Client) fsStat(args *structs.FSRequest) (*structs.AllocFileInfo, error) {
	root, _, fi, err := c.statAlloc(args)
	if err != nil {
		return nil, err
	}
	root.Close()
	return fileInfo(fi), nil
}

// fsList lists a directory of an allocation, sorted by name (a file's path
// lists the file).
func (c *Client) fsList(args *structs.FSRequest) ([]*structs.AllocFileInfo, error) {
	root, rel, fi, err := c.statAlloc(args)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if !fi.IsDir() {
		return []*structs.AllocFileInfo{fileInfo(fi)}, nil
	}
	entries, err := fs.ReadDir(root.FS(), rel)
	if err != nil {
		return nil, rootErr(args.AllocID, args.Path, err)
	}
	out := make([]*structs.AllocFileInfo, 0, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".fifo") && e.Type()&fs.ModeNamedPipe != 0 {
			continue // the supervisor's log pipes: reading one would steal a task's output
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, fileInfo(info))
	}
	return out, nil
}

// fsOpen opens a regular file of an allocation for fsCat.
func (c *Client) fsOpen(args *structs.FSRequest) (*os.File, error) {
	if args.Offset < 0 || args.Limit < 0 {
		return nil, structs.NewError(structs.CodeInvalid, "offset = %d, limit = %d: must be >= 0", args.Offset, args.Limit)
	}
	root, rel, fi, err := c.statAlloc(args)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if !fi.Mode().IsRegular() {
		return nil, structs.NewError(structs.CodeInvalid, "allocation %s: path %q is a %s, not a file", args.AllocID, args.Path, kindOf(fi))
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, rootErr(args.AllocID, args.Path, err)
	}
	if _, err := f.Seek(args.Offset, io.SeekStart); err != nil {
		f.Close()
		return nil, structs.NewError(structs.CodeInvalid, "offset %d: %v", args.Offset, err)
	}
	return f, nil
}

func kindOf(fi fs.FileInfo) string {
	switch {
	case fi.IsDir():
		return "directory"
	case fi.Mode()&fs.ModeNamedPipe != 0:
		return "named pipe"
	default:
		return "special file"
	}
}

// sendFile sends f from its current position as frames, up to limit bytes
// (0: to its end).
func sendFile(ctx context.Context, f *os.File, name string, limit int64, send func(*structs.StreamFrame) error) error {
	off, _ := f.Seek(0, io.SeekCurrent)
	var r io.Reader = f
	if limit > 0 {
		r = io.LimitReader(f, limit)
	}
	buf := make([]byte, frameSize)
	for ctx.Err() == nil {
		n, err := r.Read(buf)
		if n > 0 {
			if serr := send(&structs.StreamFrame{File: name, Offset: off, Data: slices.Clone(buf[:n])}); serr != nil {
				return serr
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// logStart is where a log stream begins: file index and offset in it.
type logStart struct {
	idx int
	off int64
}

// checkLogsRequest validates a logs request against the allocation.
func (c *Client) checkLogsRequest(args *structs.FSLogsRequest) error {
	var problems []error
	if args.LogType != "stdout" && args.LogType != "stderr" {
		problems = append(problems, fmt.Errorf(`type = %q: must be "stdout" or "stderr"`, args.LogType))
	}
	if args.Origin != structs.LogOriginStart && args.Origin != structs.LogOriginEnd {
		problems = append(problems, fmt.Errorf(`origin = %q: must be "start" or "end"`, args.Origin))
	}
	if args.Offset < 0 {
		problems = append(problems, fmt.Errorf("offset = %d: must be >= 0", args.Offset))
	}
	if err := errors.Join(problems...); err != nil {
		return structs.NewError(structs.CodeInvalid, "logs of allocation %s: %v", args.AllocID, err)
	}
	c.mu.Lock()
	e := c.mu.runners[args.AllocID]
	c.mu.Unlock()
	if e == nil {
		return structs.NewError(structs.CodeNotFound, "allocation %q is not on node %s", args.AllocID, c.nodeID)
	}
	alloc := e.ar.Alloc()
	var names []string
	if alloc.Job != nil {
		if tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup); tg != nil {
			for _, t := range tg.Tasks {
				if t.Name == args.Task {
					return nil
				}
				names = append(names, t.Name)
			}
		}
	}
	return structs.NewError(structs.CodeNotFound, "allocation %s has no task %q (tasks: %s)", args.AllocID, args.Task, strings.Join(names, ", "))
}

// findLogStart picks the file and offset Origin and Offset point at, among
// the files (indexes idx, sizes) that exist now.
func findLogStart(idx []int, sizes []int64, origin string, offset int64) logStart {
	if len(idx) == 0 {
		return logStart{}
	}
	if origin == structs.LogOriginStart {
		for i := range idx {
			if offset < sizes[i] {
				return logStart{idx[i], offset}
			}
			offset -= sizes[i]
		}
		last := len(idx) - 1
		return logStart{idx[last], sizes[last]}
	}
	for i := len(idx) - 1; i >= 0; i-- {
		if offset <= sizes[i] {
			return logStart{idx[i], sizes[i] - offset}
		}
		offset -= sizes[i]
	}
	return logStart{idx[0], 0}
}

// streamLogs sends a task's log stream of the requested type as frames,
// file after file. With Follow it waits for more, moves on to the next file
// when the supervisor rotates, sends one heartbeat as soon as it has caught
// up and one every logHeartbeatInterval after, until ctx ends.
func (c *Client) streamLogs(ctx context.Context, args *structs.FSLogsRequest, send func(*structs.StreamFrame) error) error {
	dir := filepath.Join(c.allocsDir, args.AllocID, "alloc", "logs")
	prefix := tasklog.Prefix(args.Task, args.LogType)
	idx, sizes, err := tasklog.Files(dir, args.Task, args.LogType)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	pos := findLogStart(idx, sizes, args.Origin, args.Offset)
	var f *os.File // the open file pos.idx, nil while it does not exist
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	caughtUp := false
	lastSent := time.Now()
	ticker := time.NewTicker(logPollInterval)
	defer ticker.Stop()
	for ctx.Err() == nil {
		name := prefix + strconv.Itoa(pos.idx)
		if f == nil {
			if f, err = openAt(filepath.Join(dir, name), pos.off); err != nil {
				return err
			}
		}
		if f != nil {
			if err := sendFile(ctx, f, name, 0, send); err != nil {
				return err
			}
		}
		// At the end of file pos.idx. A later file means this one is
		// complete (the supervisor closes a file before it opens the
		// next): send what came since the read above, then go on. Files
		// removed meanwhile are skipped.
		if next, ok := nextLogFile(dir, args.Task, args.LogType, pos.idx); ok {
			if f != nil {
				err := sendFile(ctx, f, name, 0, send)
				f.Close()
				f = nil
				if err != nil {
					return err
				}
			}
			pos = logStart{next, 0}
			continue
		}
		if !args.Follow {
			return nil
		}
		if !caughtUp || time.Since(lastSent) >= logHeartbeatInterval {
			if err := send(&structs.StreamFrame{}); err != nil {
				return err
			}
			caughtUp, lastSent = true, time.Now()
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
		}
	}
	return ctx.Err()
}

// openAt opens path at offset off; a missing file is (nil, nil).
func openAt(path string, off int64) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// nextLogFile returns the smallest index above cur among the files.
func nextLogFile(dir, task, stream string, cur int) (int, bool) {
	idx, _, err := tasklog.Files(dir, task, stream)
	if err != nil {
		return 0, false
	}
	for _, i := range idx {
		if i > cur {
			return i, true
		}
	}
	return 0, false
}
