package supervisor

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
	r, err := newRotator(LogSpec{Dir: dir, Name: "web", MaxFiles: 2, MaxFileSizeMB: 1}, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	r.maxSize = 10 // bytes, for the test
	if _, err := r.Write([]byte("0123456789abcdefghij0123")); err != nil {
		t.Fatal(err)
	}
	r.Close()
	idx, sizes, err := LogFiles(dir, "web.stdout.")
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
	r2, err := newRotator(LogSpec{Dir: dir, Name: "web", MaxFiles: 2}, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	r2.Write([]byte("x"))
	r2.Close()
	if got := readLog(t, dir, "web.stdout.2"); got != "0123x" {
		t.Fatalf("continued = %q", got)
	}
}
