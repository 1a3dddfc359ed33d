package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/testbin"
)

// TestUpgradeReattaches: 20 raw_exec tasks run under an agent of one build;
// the agent stops (SIGTERM) and its binary is replaced by another build of
// the same source (another Version by -ldflags), whose agent re-attaches to
// the same 20 processes through the supervisor the first build started: the
// same PIDs, no task restarted, none duplicated.
func TestUpgradeReattaches(t *testing.T) {
	const n = 20
	dir := t.TempDir()
	v1 := filepath.Join(dir, "orch-v1")
	copyFile(t, orchBin, v1)
	v2, remove, err := testbin.BuildVersion(repoRoot(), "99.0.0-upgrade")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	versions := map[string]string{}
	for name, bin := range map[string]string{"v1": v1, "v2": v2} {
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatal(err)
		}
		versions[name] = strings.TrimSpace(string(out))
	}
	if versions["v1"] == versions["v2"] || versions["v2"] != "orch v99.0.0-upgrade" {
		t.Fatalf("builds are not different versions: %v", versions)
	}

	dataDir := t.TempDir()
	ports := freePorts(t)
	a := startDevAgentBin(t, v1, dataDir, ports)
	if out, stderr, code := a.orch("job", "run", "-detach", writeJob(t, "sleepers", sleepersJob(n))); code != 0 {
		t.Fatalf("job run: exit %d\n%s\n%s", code, out, stderr)
	}
	before := runningPIDs(t, a, "sleepers", n)

	// The upgrade: graceful stop, the binary replaced, the new one started.
	a.stop()
	if err := os.Remove(v1); err != nil {
		t.Fatal(err)
	}
	for id, pid := range before {
		if got := allocPIDs(id); !slices.Equal(got, []int{pid}) {
			t.Fatalf("between the builds, alloc %s has processes %v, want [%d]", id, got, pid)
		}
	}
	start := time.Now()
	a = startDevAgentBin(t, v2, dataDir, ports)
	checkSame(t, a, before)
	t.Logf("upgrade: %d tasks re-attached by the new build %s within %s of its start", n, versions["v2"], time.Since(start).Round(time.Millisecond))

	if out, stderr, code := a.orch("job", "stop", "-detach", "sleepers"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s\n%s", code, out, stderr)
	}
	a.waitFor("every task process to end", 60*time.Second, func() (bool, error) {
		for id := range before {
			if len(allocPIDs(id)) != 0 {
				return false, nil
			}
		}
		return true, nil
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
