package agent_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/metrics"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

var updateMetricsDoc = flag.Bool("update-metrics-doc", false, "rewrite docs/metrics.md from the registry")

// metricComponents are the components that must each have series, by the
// name prefix of their series.
var metricComponents = map[string]string{
	"http": "orch_http_", "rpc": "orch_rpc_", "raft": "orch_raft_", "fsm": "orch_fsm_",
	"broker": "orch_broker_", "scheduler": "orch_scheduler_", "plan": "orch_plan_",
	"heartbeat": "orch_heartbeat_", "gossip": "orch_gossip_", "client": "orch_client_",
	"drain": "orch_drain_", "deployment": "orch_deployment_",
}

// loggerComponents map every "component" log attribute of the agent's code
// to the metric component that covers it: a new component (a new logger)
// fails TestMetricsEveryComponent until it is given series (or mapped here to
// those that cover it).
var loggerComponents = map[string]string{
	"server": "rpc", "fsm": "fsm", "broker": "broker", "blocked_evals": "broker", "worker": "scheduler",
	"memberlist": "gossip", "http": "http", "client": "client", "rpc": "client",
	"supervisor": "client", "supervisor-client": "client", "drainer": "drain",
	"deployment_watcher": "deployment",
}

func TestMetricsEveryComponent(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true})
	defs := a.Agent.Metrics().Defs()
	for comp, prefix := range metricComponents {
		n := 0
		for _, d := range defs {
			if strings.HasPrefix(d.Name, prefix) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("component %s has no metric (no series named %s*)", comp, prefix)
		}
	}
	re := regexp.MustCompile(`"component", "([a-z_-]+)"`)
	for _, dir := range []string{"../../server", "../../client", "."} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				if _, ok := metricComponents[loggerComponents[m[1]]]; !ok {
					t.Errorf("%s: component %q (a logger) has no metrics: give it series and map it in loggerComponents", path, m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestMetricsDoc fails when docs/metrics.md is not what the registry
// defines; -update-metrics-doc (go generate ./command/agent) rewrites it.
func TestMetricsDoc(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true})
	const header = "# orch metrics\n\n" +
		"Generated from the agent's registry by `go generate ./command/agent` (TestMetricsDoc fails when this file is stale); do not edit.\n\n" +
		"Served at `/v1/metrics?format=prometheus` (with `telemetry { prometheus_metrics = true }`; `-dev` sets it) and in Nomad's JSON shape at `/v1/metrics`. " +
		"Every series also carries the label `host` (the agent's name) unless `telemetry { disable_hostname = true }`. " +
		"Histograms are in seconds: native histograms for a Prometheus that negotiates them (protobuf exposition), classic buckets otherwise. " +
		"The Go runtime's `go_*` and the process's `process_*` series are served too.\n\n"
	want := header + metrics.Markdown(a.Agent.Metrics().Defs())
	path := filepath.Join("..", "..", "docs", "metrics.md")
	if *updateMetricsDoc {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/metrics.md is stale: run go generate ./command/agent")
	}
}

// scrape reads the agent's Prometheus text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/v1/metrics?format=prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/metrics?format=prometheus: %s", resp.Status)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value sums the series of name whose labels include want: a counter's or
// gauge's value, a histogram's sample count.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	sum, found := 0.0, false
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

// TestMetricsMoveWithAJobRun scrapes a real agent before and after a job
// runs, and checks that every component's series exist and moved.
func TestMetricsMoveWithAJobRun(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true})
	before := scrape(t, a.URL)
	if _, err := a.API.Jobs().Register(structstest.Job("metrics")); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, a, "metrics")
	after := scrape(t, a.URL)

	grew := []struct {
		name   string
		labels map[string]string
	}{
		{"orch_http_requests_total", map[string]string{"route": "PUT /v1/jobs", "code": "200"}},
		{"orch_http_request_duration_seconds", map[string]string{"route": "PUT /v1/jobs"}},
		{"orch_rpc_requests_total", map[string]string{"method": "Job.Register", "route": "local", "code": "ok"}},
		{"orch_rpc_request_duration_seconds", map[string]string{"method": "Job.Register"}},
		{"orch_raft_commit_duration_seconds", map[string]string{"type": "JobRegister"}},
		{"orch_raft_last_index", nil},
		{"orch_fsm_apply_duration_seconds", map[string]string{"type": "Write"}},
		{"orch_fsm_apply_duration_seconds", map[string]string{"type": "ApplyPlanResults"}},
		{"orch_broker_wait_duration_seconds", map[string]string{"type": "service"}},
		{"orch_scheduler_eval_duration_seconds", map[string]string{"type": "service"}},
		{"orch_scheduler_evals_total", map[string]string{"type": "service", "outcome": "ack"}},
		{"orch_scheduler_placements_total", map[string]string{"type": "service"}},
		{"orch_plan_verify_duration_seconds", nil},
		{"orch_plan_commit_duration_seconds", nil},
		{"orch_client_rpc_requests_total", map[string]string{"method": "Node.UpdateAlloc"}},
		{"orch_client_task_start_duration_seconds", map[string]string{"driver": "raw_exec"}},
		{"orch_client_allocations", map[string]string{"status": "running"}},
	}
	for _, g := range grew {
		b, _ := value(before, g.name, g.labels)
		v, ok := value(after, g.name, g.labels)
		if !ok || v <= b {
			t.Errorf("%s%v: %v before the job ran, %v (present %v) after: want it to grow", g.name, g.labels, b, v, ok)
		}
	}
	present := []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"orch_raft_leader", nil, 1},
		{"orch_heartbeat_active_timers", nil, 1},
		{"orch_gossip_members", map[string]string{"state": "alive"}, 1},
		{"orch_plan_queue_depth", nil, 0},
		{"orch_http_requests_in_flight", map[string]string{"route": "GET /v1/metrics"}, 1},
		{"orch_raft_leadership_changes_total", map[string]string{"change": "acquired"}, 1},
	}
	for _, p := range present {
		if v, ok := value(after, p.name, p.labels); !ok || v < p.min {
			t.Errorf("%s%v = %v (present %v): want >= %v", p.name, p.labels, v, ok, p.min)
		}
	}
	for name, f := range after {
		for _, m := range f.GetMetric() {
			if strings.HasPrefix(name, "orch_") && !hasLabel(m, "host") {
				t.Errorf("%s has no host label", name)
			}
		}
	}
}

func hasLabel(m *dto.Metric, name string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return true
		}
	}
	return false
}

// waitRunning waits until an allocation of the job runs.
func waitRunning(t *testing.T, a *agenttest.Agent, jobID string) {
	t.Helper()
	err := agenttest.WaitFor(30*time.Second, func() (bool, string) {
		allocs, _, err := a.API.Jobs().Allocations(jobID, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, al := range allocs {
			if al.ClientStatus == structs.AllocClientStatusRunning {
				return true, ""
			}
		}
		return false, "no running allocation of " + jobID
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMetricsNativeHistograms: a scraper that negotiates the protobuf
// exposition gets native histograms (a schema and spans), one that reads
// text gets classic buckets.
func TestMetricsNativeHistograms(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{})
	req, _ := http.NewRequest("GET", a.URL+"/v1/metrics?format=prometheus", nil)
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	native := false
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); err != nil {
			break
		}
		if f.GetName() != "orch_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			native = native || (h.Schema != nil && h.GetSampleCount() > 0 && len(h.GetPositiveSpan()) > 0)
		}
	}
	if !native {
		t.Errorf("protobuf scrape (%s): orch_http_request_duration_seconds has no native histogram", resp.Header.Get("Content-Type"))
	}
	text := scrape(t, a.URL)
	h := text["orch_http_request_duration_seconds"].GetMetric()[0].GetHistogram()
	if len(h.GetBucket()) != len(metrics.LatencyBuckets)+1 { // and +Inf
		t.Errorf("text scrape: %d classic buckets, want %d", len(h.GetBucket()), len(metrics.LatencyBuckets)+1)
	}
}

// TestMetricsPrometheusDisabled: without telemetry.prometheus_metrics the
// Prometheus format is refused with a 400 naming the setting, as in Nomad;
// the JSON shape is served.
func TestMetricsPrometheusDisabled(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Configure: func(c *agent.Config) { c.Telemetry.PrometheusMetrics = false }})
	r := do(t, "GET", a.URL+"/v1/metrics?format=prometheus", "")
	if r.code != 400 || !strings.Contains(r.body, "prometheus_metrics = true") {
		t.Errorf("format=prometheus, disabled: %d %q", r.code, r.body)
	}
	if r := do(t, "GET", a.URL+"/v1/metrics", ""); r.code != 200 || !strings.Contains(r.body, `"Gauges"`) {
		t.Errorf("JSON metrics: %d %.200q", r.code, r.body)
	}
}

func TestTelemetryConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.hcl")
	src := "telemetry {\n  prometheus_metrics = true\n  collection_interval = \"5s\"\n  publish_allocation_metrics = true\n  publish_node_metrics = true\n  disable_hostname = true\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := agent.DefaultConfig()
	if err := cfg.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	want := agent.TelemetryConfig{PrometheusMetrics: true, CollectionInterval: 5 * time.Second,
		PublishAllocationMetrics: true, PublishNodeMetrics: true, DisableHostname: true}
	if cfg.Telemetry != want {
		t.Errorf("telemetry: %+v, want %+v", cfg.Telemetry, want)
	}
	if err := os.WriteFile(path, []byte("telemetry {\n  collection_interval = \"soon\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := agent.DefaultConfig().ApplyFile(path); err == nil || !strings.Contains(err.Error(), `agent.hcl:2:25: telemetry.collection_interval = "soon"`) {
		t.Errorf("bad collection_interval: %v", err)
	}
}

// TestMetricsAllocUsage: with publish_allocation_metrics (-dev sets it) a
// running task's memory and CPU time are published with its allocation's
// labels, and leave once the allocation stops.
func TestMetricsAllocUsage(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true,
		Configure: func(c *agent.Config) { c.Telemetry.CollectionInterval = 100 * time.Millisecond }})
	if _, err := a.API.Jobs().Register(structstest.Job("usage")); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, a, "usage")
	allocs, _, err := a.API.Jobs().Allocations("usage", nil)
	if err != nil || len(allocs) != 1 {
		t.Fatalf("allocations of usage: %v, %v", allocs, err)
	}
	labels := map[string]string{"namespace": "default", "job": "usage", "task_group": "web", "alloc_id": allocs[0].ID, "task": "server"}
	err = agenttest.WaitFor(10*time.Second, func() (bool, string) {
		fams := scrape(t, a.URL)
		rss, ok := value(fams, "orch_client_alloc_memory_rss_bytes", labels)
		if !ok || rss <= 0 {
			return false, fmt.Sprintf("orch_client_alloc_memory_rss_bytes%v = %v (present %v), want > 0", labels, rss, ok)
		}
		if _, ok := value(fams, "orch_client_alloc_cpu_seconds_total", labels); !ok {
			return false, fmt.Sprintf("no orch_client_alloc_cpu_seconds_total%v", labels)
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.API.Jobs().Deregister("usage", false); err != nil {
		t.Fatal(err)
	}
	err = agenttest.WaitFor(30*time.Second, func() (bool, string) {
		if _, ok := value(scrape(t, a.URL), "orch_client_alloc_memory_rss_bytes", labels); ok {
			return false, "the stopped allocation's usage still published"
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
}
