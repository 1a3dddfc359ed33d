package dockere2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Everything the suite creates carries labelSuite, and a name that starts
// with namePrefix followed by the PID of the test process that made it: a
// later run removes what a dead run left behind, and never what a live one
// uses.
const (
	labelSuite = "io.orch.e2e.docker"
	namePrefix = "orch-e2e-"
)

var (
	// skipReason is why the container tests cannot run here ("" if they can).
	skipReason string
	// image is the orch image built by TestMain.
	image string
	// runID is namePrefix + PID + start time: unique per run.
	runID string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("ORCH_E2E_DOCKER") != "1" {
		skipReason = "container tests run only under `make e2e-docker` (ORCH_E2E_DOCKER=1)"
		return m.Run()
	}
	if err := dockerAnswers(); err != nil {
		skipReason = "no Docker engine answers: " + err.Error()
		return m.Run()
	}
	removeLeftovers()
	runID = fmt.Sprintf("%s%d-%d", namePrefix, os.Getpid(), time.Now().UnixNano()%1e9)
	dir, err := os.MkdirTemp("", "orch-e2e-docker-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if image, err = buildImage(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer docker(context.Background(), "rmi", "-f", image)
	return m.Run()
}

// requireDocker skips t unless the suite can run containers.
func requireDocker(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// dockerAnswers reports why no Docker engine can be used, or nil.
func dockerAnswers() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("the docker CLI is not installed")
	}
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			return fmt.Errorf("DOCKER_HOST is unset and %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := docker(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
		return err
	}
	return nil
}

// docker runs the docker CLI and returns its trimmed stdout; a failure's
// error carries stderr.
func docker(ctx context.Context, args ...string) (string, error) {
	return dockerIn(ctx, nil, args...)
}

// dockerIn is docker with stdin.
func dockerIn(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// mustDocker runs docker with a one-minute bound and fails t on error.
func mustDocker(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := docker(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// buildImage builds orch and the helper as static binaries in dir and an
// image FROM scratch holding them. Nothing is pulled.
func buildImage(dir string) (string, error) {
	root := repoRoot()
	builds := [][2]string{{"orch", "."}, {"e2ehelper", "./e2e/docker/testdata/e2ehelper"}}
	for _, b := range builds {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, b[0]), b[1])
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("building %s: %v\n%s", b[0], err, out)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return "", err
	}
	dockerfile := "FROM scratch\nCOPY orch e2ehelper /bin/\nCOPY tmp /tmp\nENTRYPOINT [\"/bin/orch\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", err
	}
	tag := "orch-e2e:" + strings.TrimPrefix(runID, namePrefix)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The legacy builder: it needs no buildx plugin, and FROM scratch needs
	// nothing BuildKit adds.
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", tag, "--label", labelSuite+"=1", dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker build: %v\n%s", err, out)
	}
	return tag, nil
}

func repoRoot() string {
	if root := os.Getenv("ORCH_REPO_ROOT"); root != "" {
		return root
	}
	wd, _ := os.Getwd()
	return filepath.Dir(filepath.Dir(wd)) // tests run in e2e/docker/
}

// removeLeftovers removes the containers, networks and images of earlier runs
// whose test process is gone (a run killed before its cleanup).
func removeLeftovers() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	filter := "label=" + labelSuite
	if out, err := docker(ctx, "ps", "-a", "--filter", filter, "--format", "{{.Names}}"); err == nil {
		for _, name := range deadRuns(out) {
			docker(ctx, "unpause", name) // rm -f of a paused container fails on some engines
			docker(ctx, "rm", "-f", "-v", name)
		}
	}
	if out, err := docker(ctx, "network", "ls", "--filter", filter, "--format", "{{.Name}}"); err == nil {
		for _, name := range deadRuns(out) {
			docker(ctx, "network", "rm", name)
		}
	}
	if out, err := docker(ctx, "images", "--filter", filter, "--format", "{{.Repository}}:{{.Tag}}"); err == nil {
		var names []string
		for _, ref := range strings.Fields(out) {
			names = append(names, namePrefix+strings.TrimPrefix(ref, "orch-e2e:"))
		}
		for _, name := range deadRuns(strings.Join(names, "\n")) {
			docker(ctx, "rmi", "-f", "orch-e2e:"+strings.TrimPrefix(name, namePrefix))
		}
	}
}

// deadRuns returns the names (one a line in out) made by a process that is
// no longer running.
func deadRuns(out string) []string {
	var dead []string
	for _, name := range strings.Fields(out) {
		rest, ok := strings.CutPrefix(name, namePrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil {
			continue
		}
		if pid != os.Getpid() && syscall.Kill(pid, 0) == syscall.ESRCH {
			dead = append(dead, name)
		}
	}
	return dead
}
