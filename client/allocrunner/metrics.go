package allocrunner

import (
	"time"

	"github.com/orch-io/orch/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the task runners' series (docs/metrics.md). One per client,
// shared by its alloc runners; a nil *Metrics records nothing (tests).
type Metrics struct {
	startDuration *prometheus.HistogramVec
	restarts      *prometheus.CounterVec
	driverErrors  *prometheus.CounterVec
}

// NewMetrics defines the task runners' series in r.
func NewMetrics(r *metrics.Registry) *Metrics {
	return &Metrics{
		startDuration: r.Histogram("orch_client_task_start_duration_seconds",
			"Time a driver took to start a task (its Start call), by driver.", "driver"),
		restarts: r.Counter("orch_client_task_restarts_total",
			"Tasks restarted by their restart policy or on request, by driver.", "driver"),
		driverErrors: r.Counter("orch_client_driver_errors_total",
			"Tasks a driver failed to start, or that failed with a driver error, by driver.", "driver"),
	}
}

func (m *Metrics) taskStarted(driver string, start time.Time, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.driverErrors.WithLabelValues(driver).Inc()
		return
	}
	m.startDuration.WithLabelValues(driver).Observe(time.Since(start).Seconds())
}

func (m *Metrics) taskRestarted(driver string) {
	if m != nil {
		m.restarts.WithLabelValues(driver).Inc()
	}
}
