package client

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"time"

	"github.com/orch-io/orch/client/allocrunner"
	"github.com/orch-io/orch/structs"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// The client's metrics (docs/metrics.md): its calls to the servers, its
// allocations by status, the task runners' starts, restarts and driver
// errors (allocrunner.Metrics), with telemetry.publish_node_metrics the
// host's memory and disk, and with telemetry.publish_allocation_metrics each
// running task's usage (alloc_metrics.go). Gauges are read at scrape time.

type clientMetrics struct {
	rpcDuration *prometheus.HistogramVec
	rpcRequests *prometheus.CounterVec
	tasks       *allocrunner.Metrics
	// allocsCollected counts the allocations the client GC removed.
	allocsCollected prometheus.Counter
}

func newClientMetrics(c *Client) *clientMetrics {
	r := c.cfg.Metrics
	m := &clientMetrics{
		rpcDuration: r.Histogram("orch_client_rpc_duration_seconds",
			"Time of the client's calls to the servers (blocking queries included: Node.GetClientAllocs waits for changes), by method.", "method"),
		rpcRequests: r.Counter("orch_client_rpc_requests_total",
			"Calls of the client to the servers, by method and error code (ok for success).", "method", "code"),
		tasks: allocrunner.NewMetrics(r),
		allocsCollected: r.Counter("orch_client_gc_allocations_total",
			"Terminal allocations the client's garbage collection removed (directory and local state).").WithLabelValues(),
	}
	r.GaugeFunc("orch_client_allocations", "Allocations this client runs or still lists, by client status.", []string{"status"},
		func(emit func(float64, ...string)) {
			counts := map[structs.AllocClientStatus]int{
				structs.AllocClientStatusPending: 0, structs.AllocClientStatusRunning: 0,
				structs.AllocClientStatusComplete: 0, structs.AllocClientStatusFailed: 0,
			}
			for _, a := range c.allocs() {
				counts[a.ClientStatus]++
			}
			for st, n := range counts {
				emit(float64(n), string(st))
			}
		})
	if c.cfg.PublishNodeMetrics {
		r.GaugeFunc("orch_client_host_memory_bytes", "The host's memory (/proc/meminfo), by kind: total, available.", []string{"kind"},
			func(emit func(float64, ...string)) {
				total, avail, ok := readMeminfo()
				if ok {
					emit(total, "total")
					emit(avail, "available")
				}
			})
		r.GaugeFunc("orch_client_host_disk_bytes", "The file system of the client's data dir, by kind: size, available.", []string{"kind"},
			func(emit func(float64, ...string)) {
				var st unix.Statfs_t
				if unix.Statfs(c.cfg.DataDir, &st) == nil {
					emit(float64(st.Blocks)*float64(st.Bsize), "size")
					emit(float64(st.Bavail)*float64(st.Bsize), "available")
				}
			})
	}
	return m
}

// observeRPC records one call to the servers (nothing for a Client a test
// built without NewClient: m nil).
func (m *clientMetrics) observeRPC(method string, start time.Time, err error) {
	if m == nil {
		return
	}
	code := string(structs.CodeOf(err))
	if code == "" {
		code = "ok"
	}
	m.rpcDuration.WithLabelValues(method).Observe(time.Since(start).Seconds())
	m.rpcRequests.WithLabelValues(method, code).Inc()
}

// allocs returns the client's allocations as their runners hold them.
func (c *Client) allocs() []*structs.Allocation {
	runners := c.runners()
	out := make([]*structs.Allocation, len(runners))
	for i, ar := range runners {
		out[i] = ar.Alloc()
	}
	return out
}

// readMeminfo returns MemTotal and MemAvailable in bytes.
func readMeminfo() (total, avail float64, ok bool) {
	buf, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(buf))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseFloat(string(f[1]), 64)
		if err != nil {
			continue
		}
		switch string(f[0]) {
		case "MemTotal:":
			total = kb * 1024
		case "MemAvailable:":
			avail = kb * 1024
		}
	}
	return total, avail, total > 0
}
