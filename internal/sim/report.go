package sim

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteSummary prints the run's figures as a table, then each as a FIGURE
// line, then the invariants' verdict.
func WriteSummary(w io.Writer, res *Result) {
	cfg := res.Config
	fmt.Fprintf(w, "\norch sim: %d servers, %d nodes over %d sessions, %d jobs × %d = %d allocations\n\n",
		cfg.Servers, cfg.Nodes, cfg.Sessions, cfg.Jobs, cfg.Count, cfg.Allocs())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tunit\twhat")
	for _, f := range res.Figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, formatValue(f.Value), f.Unit, f.Note)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, f := range res.Figures {
		fmt.Fprintf(w, "FIGURE name=%s value=%s unit=%s\n", f.Name, formatValue(f.Value), f.Unit)
		if f.Name == "submit_to_all_running" {
			fmt.Fprintf(w, "FIGURE allocs=%d nodes=%d seconds=%.1f\n", cfg.Allocs(), cfg.Nodes, f.Value)
		}
	}
	switch {
	case !res.Checked:
		fmt.Fprintln(w, "invariants: not checked")
	case len(res.Violations) == 0:
		fmt.Fprintln(w, "invariants: hold (no over-commit, every allocation running exactly once, every evaluation terminal)")
	default:
		fmt.Fprintf(w, "invariants: BROKEN (%d)\n", len(res.Violations))
		for _, v := range res.Violations {
			fmt.Fprintln(w, "  "+v)
		}
	}
}
