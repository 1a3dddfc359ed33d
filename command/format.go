package command

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orch-io/orch/structs"
)

// Output formatting shared by the commands: aligned key = value blocks and
// tables, times absolute and relative, IDs short or full, and the explanation
// of a placement failure. All functions are pure: the caller passes `now`.

// kv is one line of a key = value block.
type kv struct{ key, value string }

// formatKV aligns a key = value block, as Nomad prints an object's fields:
//
//	ID     = web
//	Status = running
func formatKV(rows []kv) string {
	width := 0
	for _, r := range rows {
		width = max(width, len(r.key))
	}
	var b strings.Builder
	for _, r := range rows {
		v := r.value
		if v == "" {
			v = "<none>"
		}
		fmt.Fprintf(&b, "%-*s = %s\n", width, r.key, v)
	}
	return b.String()
}

// formatTable aligns rows under header in columns two spaces apart.
func formatTable(header []string, rows [][]string) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	_ = w.Flush() // a strings.Builder does not fail
	// tabwriter pads the last column's header when a row is longer; trim it.
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

// formatTime is an absolute time, RFC 3339 in the local zone ("N/A" for zero).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.Format(time.RFC3339)
}

// formatUnixNano is formatTime of a unix-nanoseconds timestamp (0: "N/A").
func formatUnixNano(ns int64) string {
	if ns == 0 {
		return "N/A"
	}
	return formatTime(time.Unix(0, ns))
}

// prettyTimeDiff says how long ago then was, in at most two units: "just
// now", "45s ago", "2m ago", "1h5m ago", "3d2h ago"; "in 10s" for a future
// time (clock skew). A zero time is "N/A".
func prettyTimeDiff(then, now time.Time) string {
	if then.IsZero() {
		return "N/A"
	}
	d := now.Sub(then).Round(time.Second)
	future := d < 0
	if future {
		d = -d
	}
	if d < time.Second {
		return "just now"
	}
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var parts []string
	for _, u := range units {
		if len(parts) == 2 {
			break
		}
		n := d / u.size
		d -= n * u.size
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
		} else if len(parts) > 0 {
			break // "1h" rather than "1h0m"; the next unit down is too fine
		}
	}
	s := strings.Join(parts, "")
	if future {
		return "in " + s
	}
	return s + " ago"
}

// relUnixNano is prettyTimeDiff of a unix-nanoseconds timestamp.
func relUnixNano(ns int64, now time.Time) string {
	if ns == 0 {
		return "N/A"
	}
	return prettyTimeDiff(time.Unix(0, ns), now)
}

// shortID is an ID as tables show it: the first 8 characters, or all of it
// with -verbose.
func shortID(id string, verbose bool) string {
	if verbose {
		return id
	}
	return structs.ShortID(id)
}

// orNone is s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// plural is "1 allocation", "2 allocations".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// formatAllocMetric explains why placements failed, one line per reason,
// each starting with indent, in Nomad's words: "* Resources exhausted on 1
// nodes", "* Dimension "memory" exhausted on 1 nodes", "* Constraint
// "${attr.kernel.name} = windows": 2 nodes excluded by filter".
func formatAllocMetric(m *structs.AllocMetric, indent string) string {
	if m == nil {
		return ""
	}
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, "%s* %s\n", indent, fmt.Sprintf(format, args...))
	}
	if m.NodesEvaluated == 0 {
		line("No nodes were eligible for evaluation")
	}
	for _, dc := range slices.Sorted(maps.Keys(m.NodesAvailable)) {
		if m.NodesAvailable[dc] == 0 {
			line("No nodes are available in datacenter %q", dc)
		}
	}
	for _, c := range slices.Sorted(maps.Keys(m.ClassFiltered)) {
		line("Class %q: %d nodes excluded by filter", c, m.ClassFiltered[c])
	}
	for _, c := range slices.Sorted(maps.Keys(m.ConstraintFiltered)) {
		line("Constraint %q: %d nodes excluded by filter", c, m.ConstraintFiltered[c])
	}
	if m.NodesExhausted > 0 {
		line("Resources exhausted on %d nodes", m.NodesExhausted)
	}
	for _, d := range slices.Sorted(maps.Keys(m.DimensionExhausted)) {
		line("Dimension %q exhausted on %d nodes", d, m.DimensionExhausted[d])
	}
	return b.String()
}

// formatFailedTGAllocs explains, group by group, the placements that failed,
// as Nomad's `eval status` and `job plan` do:
//
//	Task Group "web" (failed to place 2 allocations):
//	  * Dimension "memory" exhausted on 1 nodes
func formatFailedTGAllocs(failed map[string]*structs.AllocMetric, indent string) string {
	var b strings.Builder
	for _, tg := range slices.Sorted(maps.Keys(failed)) {
		m := failed[tg]
		fmt.Fprintf(&b, "%sTask Group %q (failed to place %s):\n", indent, tg, plural(failedCount(m), "allocation"))
		b.WriteString(formatAllocMetric(m, indent+"  "))
	}
	return b.String()
}

// failedCount is how many placements of a group a metric stands for: the
// failure itself and the identical ones coalesced into it.
func failedCount(m *structs.AllocMetric) int {
	if m == nil {
		return 0
	}
	return m.CoalescedFailures + 1
}
