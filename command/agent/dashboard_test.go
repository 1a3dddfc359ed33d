package agent_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/metrics"
)

// TestGrafanaDashboard fails when docs/grafana/orch.json queries a series
// the registry does not define (the enumeration docs/metrics.md is generated
// from), selects a label its metric does not have, leaves a component
// without a panel, or does not read its Prometheus through ${DS_PROMETHEUS}.
func TestGrafanaDashboard(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true})
	defs := map[string]metrics.Def{}
	for _, d := range a.Agent.Metrics().Defs() {
		defs[d.Name] = d
	}

	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana", "orch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash dashboard
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana/orch.json: %v", err)
	}

	var exprs []string // "where: expr"
	dsVar := false
	for _, v := range dash.Templating.List {
		switch {
		case v.Type == "datasource":
			q, _ := v.queryText()
			dsVar = dsVar || (v.Name == "DS_PROMETHEUS" && q == "prometheus")
		case v.Type == "query":
			q, err := v.queryText()
			if err != nil {
				t.Errorf("variable %s: %v", v.Name, err)
				continue
			}
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				t.Errorf("variable %s: query %q: want label_values(<selector>, <label>)", v.Name, q)
				continue
			}
			exprs = append(exprs, "variable "+v.Name+": "+m[1])
			if d, ok := defs[seriesMetric(m[1])]; ok && !hasLabelName(d, m[2]) {
				t.Errorf("variable %s: %s has no label %q (labels: %v)", v.Name, d.Name, m[2], d.Labels)
			}
		}
	}
	if !dsVar {
		t.Errorf("no datasource variable DS_PROMETHEUS of type prometheus in templating")
	}

	for _, p := range dash.allPanels() {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: datasource uid %q, want ${DS_PROMETHEUS}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q, query %s: datasource uid %q, want ${DS_PROMETHEUS}", p.Title, tg.RefID, tg.Datasource.UID)
			}
			exprs = append(exprs, fmt.Sprintf("panel %q %s: %s", p.Title, tg.RefID, tg.Expr))
		}
	}

	used := map[string]bool{}
	for _, e := range exprs {
		where, expr, _ := strings.Cut(e, ": ")
		sels, err := promqlSelectors(expr)
		if err != nil {
			t.Errorf("%s: %v in %s", where, err, expr)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: no orch_ series in %s", where, expr)
		}
		for _, s := range sels {
			d, ok := registered(defs, s.name)
			if !ok {
				t.Errorf("%s: %s is not a registered metric (docs/metrics.md)", where, s.name)
				continue
			}
			used[d.Name] = true
			for _, l := range s.labels {
				if !hasLabelName(d, l) {
					t.Errorf("%s: %s has no label %q (labels: %v, and host)", where, d.Name, l, d.Labels)
				}
			}
		}
	}
	usedNames := slices.Collect(maps.Keys(used))
	for comp, prefix := range metricComponents {
		if !slices.ContainsFunc(usedNames, func(n string) bool { return strings.HasPrefix(n, prefix) }) {
			t.Errorf("component %s has no panel (no query of %s*)", comp, prefix)
		}
	}
}

// dashboard is the part of Grafana's dashboard model the test reads.
type dashboard struct {
	Templating struct {
		List []dashVariable `json:"list"`
	} `json:"templating"`
	Panels []dashPanel `json:"panels"`
}

type dashVariable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

// queryText is a query variable's query: a string, or an object with one.
func (v dashVariable) queryText() (string, error) {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &o); err != nil {
		return "", err
	}
	return o.Query, nil
}

type dashDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashPanel struct {
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource dashDatasource `json:"datasource"`
	Targets    []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource dashDatasource `json:"datasource"`
	} `json:"targets"`
	// Panels are a collapsed row's.
	Panels []dashPanel `json:"panels"`
}

// allPanels lists the panels, those of collapsed rows included.
func (d dashboard) allPanels() []dashPanel {
	var out []dashPanel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// labelValues is a query variable of the Prometheus datasource:
// label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\(\s*([^,]+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)

// hasLabelName reports whether d's series carry label l (every one carries
// host, the agent's).
func hasLabelName(d metrics.Def, l string) bool {
	return l == "host" || slices.Contains(d.Labels, l)
}

// registered finds the definition of series name: itself, or for a
// histogram's _bucket, _sum and _count series (classic exposition) the
// histogram's.
func registered(defs map[string]metrics.Def, name string) (metrics.Def, bool) {
	if d, ok := defs[name]; ok {
		return d, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if d, ok := defs[base]; ok && d.Kind == metrics.KindHistogram {
				if suffix == "_bucket" {
					d.Labels = append(slices.Clone(d.Labels), "le")
				}
				return d, true
			}
		}
	}
	return metrics.Def{}, false
}

// seriesMetric is the metric name a label_values selector starts with.
func seriesMetric(sel string) string {
	name, _, _ := strings.Cut(sel, "{")
	return strings.TrimSpace(name)
}

// selector is one series a PromQL expression reads: its metric name and the
// label names of its matchers.
type selector struct {
	name   string
	labels []string
}

// promqlSelectors lexes a PromQL expression (Grafana's $variables allowed)
// and returns the orch_ series it selects. It checks that strings end and
// that brackets pair; names inside {} are label names, inside the
// parentheses after by, without, on, ignoring, group_left and group_right
// label names too, and a name followed by "(" a function: none of those are
// series.
func promqlSelectors(expr string) ([]selector, error) {
	type token struct{ kind, text string }
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for ; j < len(expr) && expr[j] != c; j++ {
				if expr[j] == '\\' && c != '`' {
					j++
				}
			}
			if j >= len(expr) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, token{"string", expr[i : j+1]})
			i = j + 1
		case c == '$':
			j := i + 1
			if j < len(expr) && expr[j] == '{' {
				k := strings.IndexByte(expr[j:], '}')
				if k < 0 {
					return nil, fmt.Errorf("unterminated ${ at %d", i)
				}
				j += k + 1
			} else {
				for j < len(expr) && isNameChar(expr[j]) {
					j++
				}
			}
			toks = append(toks, token{"var", expr[i:j]})
			i = j
		case isNameStart(c):
			j := i
			for j < len(expr) && (isNameChar(expr[j]) || expr[j] == ':') {
				j++
			}
			toks = append(toks, token{"name", expr[i:j]})
			i = j
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(expr) && (isNameChar(expr[j]) || expr[j] == '.') {
				j++
			}
			toks = append(toks, token{"number", expr[i:j]})
			i = j
		default:
			toks = append(toks, token{"punct", string(c)})
			i++
		}
	}

	var (
		out   []selector
		stack []string // open brackets: "(", "{", "[", or "labels(" for a grouping list
	)
	grouping := map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	for i, tk := range toks {
		inLabels := len(stack) > 0 && (stack[len(stack)-1] == "{" || stack[len(stack)-1] == "labels(")
		switch {
		case tk.kind == "punct" && (tk.text == "(" || tk.text == "{" || tk.text == "["):
			open := tk.text
			if open == "(" && i > 0 && toks[i-1].kind == "name" && grouping[toks[i-1].text] {
				open = "labels("
			}
			stack = append(stack, open)
		case tk.kind == "punct" && (tk.text == ")" || tk.text == "}" || tk.text == "]"):
			want := map[string]string{")": "(", "}": "{", "]": "["}[tk.text]
			if len(stack) == 0 || strings.TrimPrefix(stack[len(stack)-1], "labels") != want {
				return nil, fmt.Errorf("unbalanced %q", tk.text)
			}
			stack = stack[:len(stack)-1]
		case tk.kind == "name" && !inLabels && strings.HasPrefix(tk.text, "orch_"):
			if i+1 < len(toks) && toks[i+1].text == "(" {
				continue // a function of that name: none exists
			}
			s := selector{name: tk.text}
			if i+1 < len(toks) && toks[i+1].text == "{" {
				for j := i + 2; j < len(toks) && toks[j].text != "}"; j++ {
					if toks[j].kind == "name" && j+1 < len(toks) && slices.Contains([]string{"=", "!"}, toks[j+1].text) {
						s.labels = append(s.labels, toks[j].text)
					}
				}
			}
			out = append(out, s)
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("unclosed %q", stack[len(stack)-1])
	}
	return out, nil
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func TestPromQLSelectors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string // name[labels] ...; or "error"
	}{
		{`sum by (route) (rate(orch_http_requests_total{host=~"$host", code!~"2.."}[$__rate_interval]))`, "orch_http_requests_total[host code]"},
		{`histogram_quantile(0.99, sum by (le, type) (rate(orch_x_bucket{a="orch_fake}"}[5m])))`, "orch_x_bucket[a]"},
		{`sum(orch_a) or on (orch_label) group_left (orch_other) orch_b{b!="1"} > bool 2`, "orch_a[] orch_b[b]"},
		{`label_values(orch_a{ns=~"$namespace"}, job)`, "orch_a[ns]"},
		{`max by (host) (orch_c offset 5m)`, "orch_c[]"},
		{`rate(orch_a[5m]`, "error"},
		{`orch_a{x="unterminated}`, "error"},
		{`sum(orch_a))`, "error"},
	} {
		sels, err := promqlSelectors(tc.expr)
		var got []string
		for _, s := range sels {
			got = append(got, s.name+"["+strings.Join(s.labels, " ")+"]")
		}
		g := strings.Join(got, " ")
		if err != nil {
			g = "error"
		}
		if g != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.expr, g, err, tc.want)
		}
	}
}
