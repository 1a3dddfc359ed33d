// Package metrics is the agent's metrics registry: one per agent (never
// Prometheus' global default registry, so that the agents of one test
// process do not collide), handed down through the server's and the client's
// configs. Each package defines its own series in its own metrics.go with the
// constructors here (Counter, Gauge, Histogram, and GaugeFunc and CounterFunc
// read at scrape time), which record every definition in a catalog:
// docs/metrics.md is generated from it (Markdown), so the table cannot drift
// from the code, and the Grafana dashboard (docs/grafana/orch.json) is
// tested against it.
//
// Histograms are native (sparse) histograms where the scraper negotiates the
// protobuf exposition, and classic buckets otherwise (Handler). Every name
// starts with "orch_".
//
// The agent serves the registry at /v1/metrics?format=prometheus (Handler)
// and in Nomad's JSON shape at /v1/metrics (Summarize).
package metrics
