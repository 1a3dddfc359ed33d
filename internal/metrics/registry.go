package metrics

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Prefix starts every metric name.
const Prefix = "orch_"

// Kind is a metric's Prometheus type.
type Kind string

const (
	KindCounter   Kind = "counter"
	KindGauge     Kind = "gauge"
	KindHistogram Kind = "histogram"
)

// Def is one metric as defined in the code: what docs/metrics.md lists.
type Def struct {
	Name   string
	Kind   Kind
	Labels []string
	Help   string
}

// Registry is an agent's metrics registry. The zero value is not usable:
// call NewRegistry. Its methods are safe for concurrent use; defining the
// same metric twice (a server restarted in the same process on the same
// registry) returns the first one.
type Registry struct {
	reg *prometheus.Registry
	// into is where collectors are registered: reg, wrapped with the
	// agent's constant labels.
	into prometheus.Registerer

	mu struct {
		sync.Mutex
		defs  map[string]Def
		funcs map[string]*funcCollector
	}
}

// NewRegistry returns an empty registry (plus the Go runtime's and the
// process's standard collectors) whose series all carry constLabels (the
// agent's host label, unless telemetry.disable_hostname; nil for none).
func NewRegistry(constLabels map[string]string) *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.into = prometheus.WrapRegistererWith(constLabels, r.reg)
	r.mu.defs = map[string]Def{}
	r.mu.funcs = map[string]*funcCollector{}
	r.into.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Gatherer is what the HTTP handlers read.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Defs returns every metric defined so far, sorted by name. The caller owns
// the slice.
func (r *Registry) Defs() []Def {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Def, 0, len(r.mu.defs))
	for _, d := range r.mu.defs {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Def) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// register records d and registers c, or returns the collector already
// registered under d's name. A bad name is a programming error: it panics.
func (r *Registry) register(d Def, c prometheus.Collector) prometheus.Collector {
	if !strings.HasPrefix(d.Name, Prefix) {
		panic(fmt.Sprintf("metrics: %q: every metric name starts with %q", d.Name, Prefix))
	}
	r.mu.Lock()
	r.mu.defs[d.Name] = d
	r.mu.Unlock()
	if err := r.into.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector
		}
		panic(fmt.Sprintf("metrics: registering %s: %v", d.Name, err))
	}
	return c
}

// Counter defines a counter with the given label names.
func (r *Registry) Counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	return r.register(Def{name, KindCounter, labels, help}, c).(*prometheus.CounterVec)
}

// Gauge defines a gauge set by the code (Set, Inc, Dec).
func (r *Registry) Gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	return r.register(Def{name, KindGauge, labels, help}, g).(*prometheus.GaugeVec)
}

// Latency buckets in seconds, for classic histograms (scrapers that do not
// negotiate native ones): 100µs to 60s.
var LatencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Histogram defines a latency histogram (seconds): native, with a bucket
// growth factor of 1.1 (about 5% relative error on any quantile, HDR-like),
// and LatencyBuckets as classic buckets for scrapers that read text.
func (r *Registry) Histogram(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                            name,
		Help:                            help,
		Buckets:                         LatencyBuckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: 0,
	}, labels)
	return r.register(Def{name, KindHistogram, labels, help}, h).(*prometheus.HistogramVec)
}

// GaugeFunc defines a gauge read at scrape time: collect is called on each
// scrape and emits one value per label set (no cost between scrapes, and
// nothing to keep in step). collect must be safe for concurrent use and
// must not block for long. Defining it again replaces collect: a component
// started anew in the same process (a server restarted on the agent's
// registry) is the one read.
func (r *Registry) GaugeFunc(name, help string, labels []string, collect func(emit func(v float64, labelValues ...string))) {
	r.valueFunc(Def{name, KindGauge, labels, help}, prometheus.GaugeValue, collect)
}

// CounterFunc defines a counter read at scrape time, as GaugeFunc does a
// gauge: for totals something else keeps (a task's CPU time, which its
// driver reports). collect must emit values that only grow, except when the
// thing counted starts anew (a new series, or a reset Prometheus' rate
// handles).
func (r *Registry) CounterFunc(name, help string, labels []string, collect func(emit func(v float64, labelValues ...string))) {
	r.valueFunc(Def{name, KindCounter, labels, help}, prometheus.CounterValue, collect)
}

// valueFunc defines d, collected by collect at scrape time.
func (r *Registry) valueFunc(d Def, vt prometheus.ValueType, collect func(emit func(v float64, labelValues ...string))) {
	r.mu.Lock()
	fc, ok := r.mu.funcs[d.Name]
	if !ok {
		fc = &funcCollector{desc: prometheus.NewDesc(d.Name, d.Help, d.Labels, nil), valueType: vt}
		r.mu.funcs[d.Name] = fc
	}
	fc.collect.Store(&collect)
	r.mu.Unlock()
	if !ok {
		r.register(d, fc)
	}
}

// funcCollector is a GaugeFunc's or CounterFunc's collector.
type funcCollector struct {
	desc      *prometheus.Desc
	valueType prometheus.ValueType
	collect   atomic.Pointer[func(emit func(v float64, labelValues ...string))]
}

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	(*c.collect.Load())(func(v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc, c.valueType, v, lv...)
	})
}
