// Package tracingtest is test-only: Receiver, a tiny OTLP/HTTP collector
// that keeps every span exported to it, so that a test asserts the span tree
// of a trace (command/agent's in-process test, the e2e test across
// processes).
package tracingtest

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one exported span, as a test reads it.
type Span struct {
	TraceID, SpanID, ParentID string // hex; ParentID "" for a root
	Name                      string
	// Instance is the exporter's service.instance.id: the agent's name.
	Instance string
	Attrs    map[string]string // string attributes only
}

// Receiver accepts OTLP/HTTP protobuf exports on POST /v1/traces.
type Receiver struct {
	srv *httptest.Server
	mu  struct {
		sync.Mutex
		spans []Span
	}
}

// NewReceiver starts a receiver on 127.0.0.1, closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// Endpoint is the receiver's host:port (telemetry.otlp_endpoint).
func (r *Receiver) Endpoint() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.Error(w, "not an OTLP trace export", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var export coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &export); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var spans []Span
	for _, rs := range export.GetResourceSpans() {
		instance := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.instance.id" {
				instance = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()), Name: s.GetName(), Instance: instance, Attrs: map[string]string{}}
				for _, kv := range s.GetAttributes() {
					sp.Attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
				}
				spans = append(spans, sp)
			}
		}
	}
	r.mu.Lock()
	r.mu.spans = append(r.mu.spans, spans...)
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// Trace returns the spans of one trace received so far (a copy).
func (r *Receiver) Trace(traceID string) []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Span
	for _, s := range r.mu.spans {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// Tree is a trace's spans by ID, to check parent links.
type Tree map[string]Span

// NewTree indexes spans by span ID.
func NewTree(spans []Span) Tree {
	t := Tree{}
	for _, s := range spans {
		t[s.SpanID] = s
	}
	return t
}

// Named returns the spans named name.
func (t Tree) Named(name string) []Span {
	var out []Span
	for _, s := range t {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// CheckParent reports whether some span named child has a span named parent
// as its parent ("" when so, else why not).
func (t Tree) CheckParent(child, parent string) string {
	kids := t.Named(child)
	if len(kids) == 0 {
		return fmt.Sprintf("no span %q (have %s)", child, t.Names())
	}
	for _, k := range kids {
		if p, ok := t[k.ParentID]; ok && p.Name == parent {
			return ""
		}
	}
	var parents []string
	for _, k := range kids {
		parents = append(parents, t[k.ParentID].Name)
	}
	return fmt.Sprintf("span %q has parents %q, want %q", child, parents, parent)
}

// Names lists the span names of the tree, sorted.
func (t Tree) Names() string {
	var names []string
	for _, s := range t {
		names = append(names, s.Name+"@"+s.Instance)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
