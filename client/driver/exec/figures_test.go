package exec

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/rawexec"
)

// TestFigureDriverStart measures Start (request to the supervisor until the
// task runs) of 50 tasks one after another on one supervisor, for exec (the
// launcher's re-exec, mounts, cgroup) and raw_exec: the drivers' share of
// placed → running. Set ORCH_FIGURES=1 to run it.
func TestFigureDriverStart(t *testing.T) {
	if os.Getenv("ORCH_FIGURES") == "" {
		t.Skip("set ORCH_FIGURES=1 to measure")
	}
	d, sup, _ := newDriver(t)
	raw := rawexec.New(nil, sup)
	const n = 50
	for _, name := range []string{"raw_exec", "exec"} {
		var lat []time.Duration
		for range n {
			cfg := shTask(t, "")
			cfg.Config = map[string]any{"command": "/bin/sleep", "args": []any{"1000"}}
			cfg.Env = []string{}
			start := time.Now()
			var h driver.Handle
			var err error
			if name == "exec" {
				h, err = d.Start(context.Background(), cfg)
			} else {
				h, err = raw.Start(context.Background(), cfg)
			}
			lat = append(lat, time.Since(start))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = h.Destroy(context.Background()) })
		}
		slices.Sort(lat)
		t.Logf("FIGURE name=driver_start_p50 driver=%s value=%.1f unit=ms n=%d", name, float64(lat[n/2])/1e6, n)
		t.Logf("FIGURE name=driver_start_p99 driver=%s value=%.1f unit=ms n=%d", name, float64(lat[n*99/100])/1e6, n)
	}
}
