package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestCleanAllocPath(t *testing.T) {
	for in, want := range map[string]string{
		"": ".", "/": ".", "alloc/logs": "alloc/logs", "/web/local/": "web/local", "a//b/./c": "a/b/c",
	} {
		if got, err := cleanAllocPath(in); err != nil || got != want {
			t.Errorf("cleanAllocPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"..", "../x", "web/../../etc", "/a/..", "a\x00b"} {
		if _, err := cleanAllocPath(in); !errors.Is(err, structs.ErrInvalid) {
			t.Errorf("cleanAllocPath(%q): %v, want an invalid-path error", in, err)
		}
	}
}

func TestFindLogStart(t *testing.T) {
	idx, sizes := []int{3, 4, 5}, []int64{10, 10, 4}
	for _, tc := range []struct {
		origin string
		offset int64
		want   logStart
	}{
		{structs.LogOriginStart, 0, logStart{3, 0}},
		{structs.LogOriginStart, 12, logStart{4, 2}},
		{structs.LogOriginStart, 100, logStart{5, 4}},
		{structs.LogOriginEnd, 0, logStart{5, 4}},
		{structs.LogOriginEnd, 4, logStart{5, 0}},
		{structs.LogOriginEnd, 6, logStart{4, 8}},
		{structs.LogOriginEnd, 100, logStart{3, 0}},
	} {
		if got := findLogStart(idx, sizes, tc.origin, tc.offset); got != tc.want {
			t.Errorf("%s offset %d: %+v, want %+v", tc.origin, tc.offset, got, tc.want)
		}
	}
	if got := findLogStart(nil, nil, structs.LogOriginEnd, 5); got != (logStart{}) {
		t.Errorf("no files: %+v", got)
	}
}

// TestStreamLogsFollowsAcrossRotation: a followed log delivers what is
// appended, moves to the next file when the supervisor rotates (including
// what reached the old file just before), and keeps going.
func TestStreamLogsFollowsAcrossRotation(t *testing.T) {
	c := &Client{allocsDir: t.TempDir()}
	logDir := filepath.Join(c.allocsDir, "a1", "alloc", "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	appendTo := func(i int, s string) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(logDir, "web.stdout."+string(rune('0'+i))), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	appendTo(0, "one\n")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	frames := make(chan *structs.StreamFrame, 100)
	done := make(chan error, 1)
	go func() {
		done <- c.streamLogs(ctx, &structs.FSLogsRequest{AllocID: "a1", Task: "web", LogType: "stdout", Origin: structs.LogOriginStart, Follow: true},
			func(f *structs.StreamFrame) error { frames <- f; return nil })
	}()
	var got strings.Builder
	waitText := func(want string) {
		t.Helper()
		for got.String() != want {
			select {
			case f := <-frames:
				got.Write(f.Data)
			case err := <-done:
				t.Fatalf("stream ended (%v) with %q, want %q", err, got.String(), want)
			case <-ctx.Done():
				t.Fatalf("got %q, want %q", got.String(), want)
			}
		}
	}
	waitText("one\n")
	appendTo(0, "two\n")
	waitText("one\ntwo\n")
	// A rotation: the last write to .0, then .1 appears; then .0 is removed.
	appendTo(0, "three\n")
	appendTo(1, "four\n")
	waitText("one\ntwo\nthree\nfour\n")
	if err := os.Remove(filepath.Join(logDir, "web.stdout.0")); err != nil {
		t.Fatal(err)
	}
	appendTo(1, "five\n")
	waitText("one\ntwo\nthree\nfour\nfive\n")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("stream ended with %v, want the cancellation", err)
	}

	// Without follow, from the end: the last bytes across files, then the end.
	var tail strings.Builder
	err := c.streamLogs(t.Context(), &structs.FSLogsRequest{AllocID: "a1", Task: "web", LogType: "stdout", Origin: structs.LogOriginEnd, Offset: 7},
		func(f *structs.StreamFrame) error { tail.Write(f.Data); return nil })
	if err != nil || tail.String() != "r\nfive\n" {
		t.Errorf("tail of 7 bytes: %q, %v; want %q", tail.String(), err, "r\nfive\n")
	}
}
