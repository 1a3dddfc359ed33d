package tasklog

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func readLog(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(Config{Dir: dir, Task: "web", Stream: Stdout, MaxFiles: 2, MaxFileSizeMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.maxSize = 10 // bytes, for the test
	if _, err := w.Write([]byte("0123456789abcdefghij0123")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	idx, sizes, err := Files(dir, "web", Stdout)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(idx, sizes) != "[1 2] [10 4]" {
		t.Fatalf("files = %v %v, want [1 2] [10 4] (file 0 rotated away)", idx, sizes)
	}
	if got := readLog(t, dir, "web.stdout.2"); got != "0123" {
		t.Fatalf("newest = %q", got)
	}
	// A new writer continues the newest file.
	w2, err := NewWriter(Config{Dir: dir, Task: "web", Stream: Stdout, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	if got := readLog(t, dir, "web.stdout.2"); got != "0123x" {
		t.Fatalf("continued = %q", got)
	}
}

func TestFilesIgnoresOtherNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"web.stdout.0", "web.stdout.x", "web.stderr.1", "api.stdout.3", ".web.stdout.fifo", "web.stdout.-1"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("ab"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx, sizes, err := Files(dir, "web", Stdout)
	if err != nil || fmt.Sprint(idx, sizes) != "[0] [2]" {
		t.Fatalf("Files = %v %v %v, want [0] [2]", idx, sizes, err)
	}
}
