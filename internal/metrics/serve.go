package metrics

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Handler serves the registry in Prometheus' exposition formats, chosen by
// the scraper's Accept header: protobuf (with native histograms) for a
// Prometheus that asks for it, text (classic buckets) otherwise.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Summary is Nomad's /v1/metrics JSON (its go-metrics in-memory sink's
// shape), so that tooling written for `nomad operator metrics` reads it.
// orch's values are cumulative since the agent started, not per interval.
type Summary struct {
	Timestamp string
	Gauges    []GaugeValue
	Points    []any
	Counters  []SampledValue
	Samples   []SampledValue
}

// GaugeValue is one gauge of a Summary.
type GaugeValue struct {
	Name   string
	Value  float64
	Labels map[string]string
}

// SampledValue is a counter or a histogram of a Summary: a counter has
// Count 1 and its value as Sum; a histogram its observations (seconds).
type SampledValue struct {
	Name   string
	Count  uint64
	Rate   float64
	Sum    float64
	Min    float64
	Max    float64
	Mean   float64
	Stddev float64
	Labels map[string]string
}

// Summarize gathers the registry into Nomad's JSON shape. Metric names keep
// their Prometheus spelling (orch_http_requests_total).
func (r *Registry) Summarize(now time.Time) (*Summary, error) {
	families, err := r.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("metrics: gathering: %w", err)
	}
	s := &Summary{Timestamp: now.UTC().Format("2006-01-02 15:04:05 -0700 MST"),
		Gauges: []GaugeValue{}, Points: []any{}, Counters: []SampledValue{}, Samples: []SampledValue{}}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_GAUGE:
				s.Gauges = append(s.Gauges, GaugeValue{Name: f.GetName(), Value: m.GetGauge().GetValue(), Labels: labels})
			case dto.MetricType_COUNTER:
				v := m.GetCounter().GetValue()
				s.Counters = append(s.Counters, SampledValue{Name: f.GetName(), Count: 1, Sum: v, Min: v, Max: v, Mean: v, Labels: labels})
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				sv := SampledValue{Name: f.GetName(), Count: h.GetSampleCount(), Sum: h.GetSampleSum(), Labels: labels}
				if sv.Count > 0 {
					sv.Mean = sv.Sum / float64(sv.Count)
					sv.Max = histogramMax(h)
				}
				s.Samples = append(s.Samples, sv)
			}
		}
	}
	return s, nil
}

// histogramMax is the upper bound of the highest classic bucket that holds
// an observation (+Inf when it is above every bucket).
func histogramMax(h *dto.Histogram) float64 {
	var prev uint64
	bound := 0.0
	for _, b := range h.GetBucket() {
		if b.GetCumulativeCount() > prev {
			bound = b.GetUpperBound()
		}
		prev = b.GetCumulativeCount()
	}
	if prev < h.GetSampleCount() {
		return math.Inf(1)
	}
	return bound
}

// Markdown renders defs as the table of docs/metrics.md.
func Markdown(defs []Def) string {
	var b strings.Builder
	b.WriteString("| name | type | labels | meaning |\n|---|---|---|---|\n")
	for _, d := range defs {
		labels := slices.Clone(d.Labels)
		for i, l := range labels {
			labels[i] = "`" + l + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", d.Name, d.Kind, strings.Join(labels, ", "), strings.ReplaceAll(d.Help, "|", `\|`))
	}
	return b.String()
}
