package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// BenchmarkWebJobRunToRunning measures, on a dev agent, the time from
// `orch job run examples/web.hcl` (a fresh job each op) until all three of
// its allocations are running, and reports the agent's resident memory right
// after start and with the job running.
func BenchmarkWebJobRunToRunning(b *testing.B) {
	a := startDevAgent(b, b.TempDir(), freePorts(b))
	idle := rssKB(b, a.cmd.Process.Pid)

	var withJob int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		job := fmt.Sprintf("web-%d", i)
		start := time.Now()
		out, err := exec.Command(orchBin, "job", "run", "-detach", "-address", a.addr(), "-var", "count=3",
			jobFileNamed(b, job)).CombinedOutput()
		if err != nil {
			b.Fatalf("job run: %v\n%s", err, out)
		}
		for {
			var allocs []*structs.AllocListStub
			if err := a.get("/v1/job/"+job+"/allocations", &allocs); err != nil {
				b.Fatal(err)
			}
			if len(runningAllocs(allocs)) == 3 {
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatalf("job %s not running after a minute", job)
			}
			time.Sleep(5 * time.Millisecond) // poll interval
		}
		b.StopTimer()
		withJob = rssKB(b, a.cmd.Process.Pid)
		if out, err := exec.Command(orchBin, "job", "stop", "-purge", "-detach", "-address", a.addr(), job).CombinedOutput(); err != nil {
			b.Fatalf("job stop: %v\n%s", err, out)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(idle)/1024, "MB-rss-idle")
	b.ReportMetric(float64(withJob)/1024, "MB-rss-with-job")
}

// jobFileNamed writes examples/web.hcl with the job renamed.
func jobFileNamed(b *testing.B, name string) string {
	src, err := os.ReadFile(repoRoot() + "/examples/web.hcl")
	if err != nil {
		b.Fatal(err)
	}
	path := b.TempDir() + "/" + name + ".hcl"
	if err := os.WriteFile(path, bytes.Replace(src, []byte(`job "web"`), []byte(`job "`+name+`"`), 1), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// rssKB reads VmRSS of pid.
func rssKB(b *testing.B, pid int) int {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	b.Fatal("no VmRSS in /proc/<pid>/status")
	return 0
}
