package jobspec

import (
	"errors"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/orch-io/orch/structs"
)

// locations remembers where each part of the decoded job came from in the
// file, so that a problem found later by structs.Job.Validate is reported at
// the attribute or block it is about.
//
// Groups and tasks are kept by index, in block order, which is the order of
// Job.TaskGroups and TaskGroup.Tasks; that is what ValidationError carries.
type locations struct {
	job    scope
	groups []*groupScope
}

type groupScope struct {
	scope
	tasks []*scope
}

// scope is one job, group or task block: its header, and the range of each
// field it set, keyed by the field names of structs.ValidationError
// ("count", "restart.mode", "constraint[0].operator", ...).
type scope struct {
	block  hcl.Range
	fields map[string]hcl.Range
}

func (s *scope) field(name string, r hcl.Range) {
	if s.fields == nil {
		s.fields = map[string]hcl.Range{}
	}
	s.fields[name] = r
}

// find returns the range of field, or of the closest enclosing field that was
// set ("restart.mode" falls back to the restart block), or the block itself.
func (s *scope) find(field string) hcl.Range {
	for field != "" {
		if r, ok := s.fields[field]; ok {
			return r
		}
		field = field[:max(0, strings.LastIndexAny(field, ".["))]
	}
	return s.block
}

func (l *locations) addGroup(b *hcl.Block) *scope {
	g := &groupScope{scope: scope{block: b.DefRange}}
	g.field("name", b.LabelRanges[0])
	l.groups = append(l.groups, g)
	return &g.scope
}

// addTask records a task block of the group added last.
func (l *locations) addTask(b *hcl.Block) *scope {
	t := &scope{block: b.DefRange}
	t.field("name", b.LabelRanges[0])
	if n := len(l.groups); n > 0 {
		l.groups[n-1].tasks = append(l.groups[n-1].tasks, t)
	}
	return t
}

// place returns where the problem ve is in the file.
func (l *locations) place(ve *structs.ValidationError) hcl.Range {
	s := &l.job
	if ve.GroupIndex >= 0 && ve.GroupIndex < len(l.groups) {
		g := l.groups[ve.GroupIndex]
		s = &g.scope
		if ve.TaskIndex >= 0 && ve.TaskIndex < len(g.tasks) {
			s = g.tasks[ve.TaskIndex]
		}
	}
	return s.find(ve.Field)
}

// validationDiagnostics turns the error of structs.Job.Validate into one
// positioned diagnostic per problem; Extra holds the *structs.ValidationError.
func (l *locations) validationDiagnostics(err error) hcl.Diagnostics {
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	var diags hcl.Diagnostics
	for _, e := range errs {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: e.Error()}
		var ve *structs.ValidationError
		if errors.As(e, &ve) {
			d.Subject = l.place(ve).Ptr()
			d.Extra = ve
		}
		diags = append(diags, d)
	}
	return diags
}
