package command

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func progressDeployment(placed, healthy int) *structs.Deployment {
	return &structs.Deployment{ID: "d1", Status: structs.DeploymentStatusRunning, TaskGroups: map[string]*structs.DeploymentState{
		"web": {DesiredTotal: 3, PlacedAllocs: placed, HealthyAllocs: healthy, ProgressDeadline: 10 * time.Minute,
			RequireProgressBy: time.Date(2026, 1, 2, 3, 14, 5, 0, time.UTC)},
	}}
}

// TestProgressPlainLines: not on a terminal, a group prints a line when its
// figures or what it waits for change, never because the clock moved.
func TestProgressPlainLines(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := newProgressPrinter(&out, func() time.Time { return now })
	if p.tty {
		t.Fatal("a buffer is taken for a terminal")
	}
	waiting := map[string]string{"web": "waiting: 1 allocations must be healthy; progress deadline in 10m0s"}
	p.update(progressDeployment(1, 0), waiting)
	now = now.Add(time.Second)
	waiting["web"] = "waiting: 1 allocations must be healthy; progress deadline in 9m59s"
	p.update(progressDeployment(1, 0), waiting) // only the clock moved: nothing
	waiting["web"] = "waiting: 1 allocation must stay healthy for 3s more (min_healthy_time 3s); progress deadline in 9m59s"
	p.update(progressDeployment(1, 0), waiting)
	now = now.Add(time.Second)
	waiting["web"] = "waiting: 1 allocation must stay healthy for 2s more (min_healthy_time 3s); progress deadline in 9m58s"
	p.update(progressDeployment(1, 0), waiting) // only the clock moved: nothing
	p.update(progressDeployment(2, 1), map[string]string{})
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 3 || strings.Contains(out.String(), "\x1b") {
		t.Fatalf("want 3 plain lines, got:\n%q", out.String())
	}
	if !strings.HasSuffix(lines[1], "; waiting: 1 allocation must stay healthy (min_healthy_time 3s)") {
		t.Errorf("line 2: %q", lines[1])
	}
	for i, want := range []string{"web: desired=3 placed=1 healthy=0 unhealthy=0 progress-deadline=", "; waiting: 1 allocations must be healthy"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("line 1 %q lacks %q (%d)", lines[0], want, i)
		}
	}
	if !strings.HasSuffix(lines[2], "web: desired=3 placed=2 healthy=1 unhealthy=0 progress-deadline=2026-01-02T03:14:05Z") {
		t.Errorf("line 3: %q", lines[2])
	}
}

// TestProgressTableRedrawsInPlace: on a terminal the table is drawn, then
// redrawn over itself: the cursor goes up as many lines as were drawn and
// the rest of the screen is cleared.
func TestProgressTableRedrawsInPlace(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := newProgressPrinter(&out, func() time.Time { return now })
	p.tty = true
	p.update(progressDeployment(1, 0), map[string]string{"web": "waiting: 1 allocations must be healthy"})
	first := out.String()
	want := "Task Group  Desired  Placed  Healthy  Unhealthy  Progress Deadline\n" +
		"web         3        1       0        0          2026-01-02T03:14:05Z (in 10m0s)\n" +
		"web: waiting: 1 allocations must be healthy\n"
	if first != want {
		t.Fatalf("first drawing:\n%q\nwant\n%q", first, want)
	}
	out.Reset()
	now = now.Add(time.Minute)
	p.update(progressDeployment(3, 3), nil)
	if got := out.String(); !strings.HasPrefix(got, "\x1b[3A\x1b[J") || !strings.Contains(got, "(in 9m0s)") ||
		strings.Count(got, "\n") != 2 {
		t.Fatalf("redrawing: %q", got)
	}
}
