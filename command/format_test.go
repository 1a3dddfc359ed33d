package command

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestPrettyTimeDiff(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{0, "just now"},
		{400 * time.Millisecond, "just now"},
		{45 * time.Second, "45s ago"},
		{2 * time.Minute, "2m ago"},
		{65 * time.Second, "1m5s ago"},
		{time.Hour + 5*time.Minute + 30*time.Second, "1h5m ago"},
		{time.Hour + 30*time.Second, "1h ago"},
		{50*time.Hour + 10*time.Minute, "2d2h ago"},
		{-10 * time.Second, "in 10s"},
	}
	for _, tt := range tests {
		if got := prettyTimeDiff(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("prettyTimeDiff(-%v) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := prettyTimeDiff(time.Time{}, now); got != "N/A" {
		t.Errorf("zero time: %q", got)
	}
	if got := relUnixNano(0, now); got != "N/A" {
		t.Errorf("zero timestamp: %q", got)
	}
}

func TestFormatKVAndTable(t *testing.T) {
	got := formatKV([]kv{{"ID", "web"}, {"Submit Date", "x"}, {"Class", ""}})
	want := "ID          = web\nSubmit Date = x\nClass       = <none>\n"
	if got != want {
		t.Errorf("formatKV:\n%q\nwant\n%q", got, want)
	}
	got = formatTable([]string{"ID", "Status"}, [][]string{{"a1", "running"}, {"abcdef", "x"}})
	want = "ID      Status\na1      running\nabcdef  x\n"
	if got != want {
		t.Errorf("formatTable:\n%q\nwant\n%q", got, want)
	}
}

func TestFormatAllocMetric(t *testing.T) {
	m := &structs.AllocMetric{
		NodesEvaluated:     3,
		NodesAvailable:     map[string]int{"dc1": 3, "dc2": 0},
		ConstraintFiltered: map[string]int{"${attr.kernel.name} = windows": 2},
		ClassFiltered:      map[string]int{"large": 2},
		NodesExhausted:     1,
		DimensionExhausted: map[string]int{"memory": 1, "cpu": 1},
	}
	want := `  * No nodes are available in datacenter "dc2"
  * Class "large": 2 nodes excluded by filter
  * Constraint "${attr.kernel.name} = windows": 2 nodes excluded by filter
  * Resources exhausted on 1 nodes
  * Dimension "cpu" exhausted on 1 nodes
  * Dimension "memory" exhausted on 1 nodes
`
	if got := formatAllocMetric(m, "  "); got != want {
		t.Errorf("formatAllocMetric:\n%s\nwant\n%s", got, want)
	}
	if got := formatAllocMetric(&structs.AllocMetric{}, ""); got != "* No nodes were eligible for evaluation\n" {
		t.Errorf("no nodes: %q", got)
	}
}
