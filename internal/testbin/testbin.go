// Package testbin builds the orch binary for the test packages that run it
// as real processes (e2e, the simulator's tests), once per package, in a
// temporary directory. Only TestMain functions use it.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds orch from the repository at root (ORCH_REPO_ROOT when set,
// which the Makefile exports) into a temporary directory and returns the
// binary's path and a function that removes it.
func Build(root string) (bin string, remove func(), err error) {
	return BuildVersion(root, "")
}

// BuildVersion is Build with command.Version set to version by -ldflags
// ("": the source's own), as a release build sets it: a second, different
// binary of the same source, for upgrade tests.
func BuildVersion(root, version string) (bin string, remove func(), err error) {
	if r := os.Getenv("ORCH_REPO_ROOT"); r != "" {
		root = r
	}
	dir, err := os.MkdirTemp("", "orch-test-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "orch")
	args := []string{"build", "-o", bin}
	if version != "" {
		args = append(args, "-ldflags", "-X github.com/orch-io/orch/command.Version="+version)
	}
	build := exec.Command("go", append(args, ".")...)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building orch in %s: %w\n%s", root, err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
