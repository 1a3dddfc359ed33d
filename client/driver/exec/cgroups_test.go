package exec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeCgroupRoot makes dir look like a cgroup mount: the files the kernel
// would have, with the given contents.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFileT(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCgroupV1Writes(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"cpuset/cpuset.cpus": "0-3\n", "cpuset/cpuset.mems": "0\n"})
	cg := newCgroup(cgroupV1, root, "orch", "a1.web", true)
	l := limits{MemoryBytes: 256 << 20, MemoryMaxBytes: 512 << 20, CPUShares: 500, Cpuset: "1-2", PidsMax: 100}
	if err := cg.create(l); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory/orch/a1.web/memory.limit_in_bytes":      "536870912",
		"memory/orch/a1.web/memory.soft_limit_in_bytes": "268435456",
		"cpu/orch/a1.web/cpu.shares":                    "500",
		"pids/orch/a1.web/pids.max":                     "100",
		"cpuset/orch/cpuset.cpus":                       "0-3",
		"cpuset/orch/cpuset.mems":                       "0",
		"cpuset/orch/a1.web/cpuset.cpus":                "1-2",
		"cpuset/orch/a1.web/cpuset.mems":                "0",
	}
	for f, v := range want {
		if got := readFileT(t, filepath.Join(root, f)); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
	// No swap accounting file: not written (not created).
	if _, err := os.Stat(filepath.Join(root, "memory/orch/a1.web/memory.memsw.limit_in_bytes")); err == nil {
		t.Error("memory.memsw.limit_in_bytes written though the kernel has none")
	}
	if got := strings.Join(cg.dirs(), " "); !strings.Contains(got, filepath.Join(root, "cpuacct/orch/a1.web")) {
		t.Errorf("dirs = %s, want the cpuacct hierarchy too", got)
	}

	writeFiles(t, root, map[string]string{
		"cpuacct/orch/a1.web/cpuacct.usage":        "2500000000\n",
		"memory/orch/a1.web/memory.usage_in_bytes": "1048576\n",
		"memory/orch/a1.web/memory.stat":           "cache 4096\nrss 8192\ntotal_rss 12288\n",
		"memory/orch/a1.web/memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
	})
	st, err := cg.stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUTotal != 2500*time.Millisecond || st.MemoryUsage != 1<<20 || st.MemoryRSS != 12288 {
		t.Errorf("stats = %+v", st)
	}
	if n, err := cg.oomKills(); err != nil || n != 2 {
		t.Errorf("oomKills = %d, %v; want 2", n, err)
	}
	if err := cg.destroy(); err != nil {
		t.Fatal(err)
	}
	for _, d := range cg.dirs() {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s still exists after destroy", d)
		}
	}
}

func TestCgroupV2Writes(t *testing.T) {
	root := t.TempDir()
	cg := newCgroup(cgroupV2, root, "orch", "a1.web", true)
	if err := cg.create(limits{MemoryBytes: 64 << 20, CPUShares: 1024, Cpuset: "0", PidsMax: 0}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cgroup.subtree_control":      "+cpu +memory +pids +cpuset",
		"orch/cgroup.subtree_control": "+cpu +memory +pids +cpuset",
		"orch/a1.web/memory.max":      "67108864",
		"orch/a1.web/cpu.weight":      "39", // 1 + (1024-2)*9999/262142
		"orch/a1.web/pids.max":        "max",
		"orch/a1.web/cpuset.cpus":     "0",
	}
	for f, v := range want {
		if got := readFileT(t, filepath.Join(root, f)); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "orch/a1.web/memory.low")); err == nil {
		t.Error("memory.low written without oversubscription")
	}
	writeFiles(t, root, map[string]string{
		"orch/a1.web/cpu.stat":       "usage_usec 1500000\nuser_usec 1000000\n",
		"orch/a1.web/memory.current": "2097152\n",
		"orch/a1.web/memory.stat":    "anon 1048576\nfile 4096\n",
		"orch/a1.web/memory.events":  "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
	})
	st, err := cg.stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUTotal != 1500*time.Millisecond || st.MemoryUsage != 2<<20 || st.MemoryRSS != 1<<20 {
		t.Errorf("stats = %+v", st)
	}
	if n, _ := cg.oomKills(); n != 1 {
		t.Errorf("oomKills = %d, want 1", n)
	}
	if err := cg.destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "orch/a1.web")); err == nil {
		t.Error("cgroup still exists after destroy")
	}
}

// Under memory oversubscription, v2's hard limit is memory_max and memory
// is protected (memory.low).
func TestCgroupV2Oversubscription(t *testing.T) {
	root := t.TempDir()
	cg := newCgroup(cgroupV2, root, "orch", "a1.web", false)
	if err := cg.create(limits{MemoryBytes: 64 << 20, MemoryMaxBytes: 256 << 20, CPUShares: 100}); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{
		"cgroup.subtree_control": "+cpu +memory +pids",
		"orch/a1.web/memory.max": "268435456",
		"orch/a1.web/memory.low": "67108864",
		"orch/a1.web/pids.max":   "max",
		"orch/a1.web/cpu.weight": "4",
	} {
		if got := readFileT(t, filepath.Join(root, f)); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "orch/a1.web/cpuset.cpus")); err == nil {
		t.Error("cpuset.cpus written without cores")
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[int64]int64{1: 1, 2: 1, 1024: 39, 262144: 10000, 1 << 30: 10000} {
		if got := sharesToWeight(shares); got != want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}
