package command

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/structs"
	"golang.org/x/term"
)

// The live view of a deployment that `job run` and `deployment status
// -monitor` print while they follow it: per group, desired, placed, healthy,
// unhealthy and the progress deadline, then what each group waits for. On a
// terminal the table is redrawn in place (the cursor moves up over the
// previous drawing, which is cleared); otherwise each group prints a plain
// line whenever its figures or what it waits for change, so that a log or a
// pipe reads top to bottom.

// progressPrinter draws successive states of one deployment. It belongs to
// the goroutine following the deployment.
type progressPrinter struct {
	out io.Writer
	tty bool
	now func() time.Time
	// drawn is how many lines the last drawing took (tty).
	drawn int
	// last holds each group's last plain line (not tty).
	last map[string]string
}

func newProgressPrinter(out io.Writer, now func() time.Time) *progressPrinter {
	return &progressPrinter{out: out, tty: isTerminal(out), now: now, last: map[string]string{}}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// update draws d; waiting says per group what it waits for
// (deploywatch.Waiting).
func (p *progressPrinter) update(d *structs.Deployment, waiting map[string]string) {
	now := p.now()
	if p.tty {
		lines := progressTable(d, waiting, now)
		var b strings.Builder
		if p.drawn > 0 {
			fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.drawn) // up over the last drawing, clear to the end
		}
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		io.WriteString(p.out, b.String())
		p.drawn = len(lines)
		return
	}
	for _, name := range d.GroupNames() {
		line := progressLine(name, d.TaskGroups[name], d.Active(), waiting[name])
		if line != p.last[name] {
			fmt.Fprintf(p.out, "    %s: %s\n", formatTime(now), line)
			p.last[name] = line
		}
	}
}

// progressTable is the drawing of d on a terminal.
func progressTable(d *structs.Deployment, waiting map[string]string, now time.Time) []string {
	var rows [][]string
	for _, name := range d.GroupNames() {
		s := d.TaskGroups[name]
		desired := strconv.Itoa(s.DesiredTotal)
		if s.DesiredCanaries > 0 {
			desired += fmt.Sprintf(" (%d canaries%s)", s.DesiredCanaries, map[bool]string{true: ", promoted"}[s.Promoted])
		}
		deadline := "N/A"
		if !s.RequireProgressBy.IsZero() && d.Active() {
			deadline = fmt.Sprintf("%s (in %s)", formatTime(s.RequireProgressBy), s.RequireProgressBy.Sub(now).Round(time.Second))
		}
		rows = append(rows, []string{name, desired, strconv.Itoa(s.PlacedAllocs), strconv.Itoa(s.HealthyAllocs),
			strconv.Itoa(s.UnhealthyAllocs), deadline})
	}
	table := formatTable([]string{"Task Group", "Desired", "Placed", "Healthy", "Unhealthy", "Progress Deadline"}, rows)
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	for _, name := range d.GroupNames() {
		if msg, ok := waiting[name]; ok {
			lines = append(lines, name+": "+msg)
		}
	}
	return lines
}

// stayHealthyFor matches the countdown of deploywatch.Waiting's "N
// allocations must stay healthy for 8s more".
var stayHealthyFor = regexp.MustCompile(`must stay healthy for \S+ more`)

// progressLine is a group's plain line. It leaves out what changes with the
// clock alone (the time left before the progress deadline, and how long
// allocations must stay healthy still), so that it changes only when the
// deployment does.
func progressLine(name string, s *structs.DeploymentState, active bool, waiting string) string {
	line := fmt.Sprintf("%s: desired=%d placed=%d healthy=%d unhealthy=%d", name, s.DesiredTotal, s.PlacedAllocs,
		s.HealthyAllocs, s.UnhealthyAllocs)
	if s.DesiredCanaries > 0 {
		line += fmt.Sprintf(" canaries=%d promoted=%t", s.DesiredCanaries, s.Promoted)
	}
	if !s.RequireProgressBy.IsZero() && active {
		line += " progress-deadline=" + formatTime(s.RequireProgressBy)
	}
	if waiting != "" {
		waiting, _, _ = strings.Cut(waiting, "; progress deadline in")
		waiting = stayHealthyFor.ReplaceAllString(waiting, "must stay healthy")
		line += "; " + waiting
	}
	return line
}
