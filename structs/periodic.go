package structs

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
)

// Periodic and parameterized jobs (Nomad's). Such a job is a template: it is
// never scheduled itself. The leader's periodic launcher (server/periodic.go)
// registers a child job `<parent>/periodic-<unix>` at each launch time of a
// periodic job; Job.Dispatch registers a child `<parent>/dispatch-<unix>-<8
// hex>` of a parameterized job, carrying the dispatch's payload and meta.

// PeriodicSpecCron is the only spec type, as in Nomad.
const PeriodicSpecCron = "cron"

// Child job ID infixes, Nomad's.
const (
	PeriodicLaunchSuffix = "/periodic-"
	DispatchLaunchSuffix = "/dispatch-"
)

// DispatchPayloadSizeLimit is the largest payload a dispatch carries (Nomad's 16 KiB).
const DispatchPayloadSizeLimit = 16 * 1024

// PeriodicConfig is a job's periodic block.
type PeriodicConfig struct {
	// Enabled is true unless the block says enabled = false: a disabled
	// periodic job is kept and launches nothing.
	Enabled bool
	// Spec is the block's `cron` (Nomad's older single spec), Specs its
	// `crons`; exactly one is set. Launch times are the earliest next time
	// of any of them.
	Spec     string
	Specs    []string
	SpecType string // "cron"
	// ProhibitOverlap skips a launch while a previous child is not dead.
	ProhibitOverlap bool
	// TimeZone is the IANA zone the specs are read in; "UTC" by default.
	TimeZone string
}

// AllSpecs returns the cron expressions of the block, Spec or Specs.
func (p *PeriodicConfig) AllSpecs() []string {
	if p.Spec != "" {
		return append([]string{p.Spec}, p.Specs...)
	}
	return p.Specs
}

// Location is the block's time zone.
func (p *PeriodicConfig) Location() (*time.Location, error) {
	if p.TimeZone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(p.TimeZone)
}

// Next returns the first launch time strictly after from, the earliest over
// the block's specs, or the zero time when there is none (a spec with no
// future time, or a block that fails validation).
func (p *PeriodicConfig) Next(from time.Time) time.Time {
	loc, err := p.Location()
	if err != nil {
		return time.Time{}
	}
	var next time.Time
	for _, spec := range p.AllSpecs() {
		e, err := cronexpr.Parse(spec)
		if err != nil {
			return time.Time{}
		}
		if t := e.Next(from.In(loc)); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// Copy returns a deep copy.
func (p *PeriodicConfig) Copy() *PeriodicConfig {
	if p == nil {
		return nil
	}
	c := *p
	c.Specs = slices.Clone(p.Specs)
	return &c
}

// Parameterized payload rules.
const (
	DispatchPayloadOptional  = "optional"
	DispatchPayloadRequired  = "required"
	DispatchPayloadForbidden = "forbidden"
)

// ParameterizedJobConfig is a job's parameterized block.
type ParameterizedJobConfig struct {
	Payload      string // "optional" (default), "required" or "forbidden"
	MetaRequired []string
	MetaOptional []string
}

// Copy returns a deep copy.
func (p *ParameterizedJobConfig) Copy() *ParameterizedJobConfig {
	if p == nil {
		return nil
	}
	return &ParameterizedJobConfig{Payload: p.Payload, MetaRequired: slices.Clone(p.MetaRequired), MetaOptional: slices.Clone(p.MetaOptional)}
}

// DispatchPayloadConfig is a task's dispatch_payload block: the client writes
// the dispatched payload to the task's local/<File> before starting it.
type DispatchPayloadConfig struct {
	File string
}

// PeriodicLaunch records the latest launch time of a periodic job, written
// in the Raft entry of the launch: the launcher never launches a time at or
// before it, so a launch is neither doubled nor lost across a leader change.
type PeriodicLaunch struct {
	Namespace   string
	ID          string // the parent job's
	Launch      int64  // unix nanoseconds
	CreateIndex uint64
	ModifyIndex uint64
}

// IsPeriodic reports whether the job is a periodic parent.
func (j *Job) IsPeriodic() bool { return j != nil && j.Periodic != nil }

// IsParameterized reports whether the job is a parameterized parent (a
// dispatched child carries its parent's block too, and is not one).
func (j *Job) IsParameterized() bool { return j != nil && j.ParameterizedJob != nil && !j.Dispatched }

// IsParent reports whether the job is a template that is never scheduled
// itself: a periodic or parameterized job.
func (j *Job) IsParent() bool { return j.IsPeriodic() || j.IsParameterized() }

// PeriodicChildID is the ID of the child launched at t.
func PeriodicChildID(parent string, t time.Time) string {
	return parent + PeriodicLaunchSuffix + strconv.FormatInt(t.Unix(), 10)
}

// NewChildJob derives a child of parent: a copy without the parent's
// periodic block, registered as a job of its own (the caller sets ID).
func (j *Job) NewChildJob(id string) *Job {
	c := j.Copy()
	c.ID, c.Name, c.ParentID = id, id, j.ID
	c.Periodic = nil
	c.Status, c.StatusDescription = "", ""
	c.Version, c.Stable, c.CreateIndex, c.ModifyIndex, c.JobModifyIndex = 0, false, 0, 0, 0
	return c
}

func (v *validator) periodic(j *Job) {
	p := j.Periodic
	if p == nil {
		return
	}
	if j.Type != JobTypeBatch && j.Type != JobTypeSysBatch {
		v.add("periodic", "", fmt.Sprintf("a periodic job must be of type %q or %q, not %q", JobTypeBatch, JobTypeSysBatch, j.Type))
	}
	if j.ParameterizedJob != nil {
		v.add("periodic", "", "a job cannot be both periodic and parameterized in orch")
	}
	if p.SpecType != PeriodicSpecCron {
		v.add("periodic.spec_type", strconv.Quote(p.SpecType), `must be "cron"`)
	}
	switch {
	case p.Spec == "" && len(p.Specs) == 0:
		v.add("periodic.crons", "", "must list at least one cron expression")
	case p.Spec != "" && len(p.Specs) > 0:
		v.add("periodic.cron", strconv.Quote(p.Spec), "set cron or crons, not both")
	}
	check := func(field, spec string) {
		if _, err := cronexpr.Parse(spec); err != nil {
			v.add(field, strconv.Quote(spec), "must be a cron expression: "+err.Error())
		}
	}
	if p.Spec != "" {
		check("periodic.cron", p.Spec)
	}
	for i, s := range p.Specs {
		check(fmt.Sprintf("periodic.crons[%d]", i), s)
	}
	if _, err := p.Location(); err != nil {
		v.add("periodic.time_zone", strconv.Quote(p.TimeZone), "must be an IANA time zone name (as \"America/New_York\"): "+err.Error())
	}
}

func (v *validator) parameterized(j *Job) {
	p := j.ParameterizedJob
	if p == nil {
		return
	}
	if j.Type != JobTypeBatch && j.Type != JobTypeSysBatch {
		v.add("parameterized", "", fmt.Sprintf("a parameterized job must be of type %q or %q, not %q", JobTypeBatch, JobTypeSysBatch, j.Type))
	}
	switch p.Payload {
	case DispatchPayloadOptional, DispatchPayloadRequired, DispatchPayloadForbidden:
	default:
		v.add("parameterized.payload", strconv.Quote(p.Payload), fmt.Sprintf("must be %q, %q or %q",
			DispatchPayloadOptional, DispatchPayloadRequired, DispatchPayloadForbidden))
	}
	required := map[string]bool{}
	for i, k := range p.MetaRequired {
		if k == "" {
			v.add(fmt.Sprintf("parameterized.meta_required[%d]", i), `""`, "must not be empty")
		}
		required[k] = true
	}
	for i, k := range p.MetaOptional {
		if required[k] {
			v.add(fmt.Sprintf("parameterized.meta_optional[%d]", i), strconv.Quote(k), "is also in meta_required")
		}
	}
}

// dispatchPayload checks a task's dispatch_payload block: the file must stay
// in the task's local directory.
func (v *validator) dispatchPayload(d *DispatchPayloadConfig) {
	if d == nil {
		return
	}
	f := d.File
	switch {
	case f == "":
		v.add("dispatch_payload.file", `""`, "must not be empty")
	case strings.HasPrefix(f, "/") || slices.Contains(strings.Split(f, "/"), ".."):
		v.add("dispatch_payload.file", strconv.Quote(f), "must be a relative path that stays in the task's local directory")
	}
}

// CheckDispatch checks a dispatch's payload and meta against the job's
// parameterized block, returning every problem at once.
func (j *Job) CheckDispatch(payload []byte, meta map[string]string) error {
	if !j.IsParameterized() {
		return NewError(CodeInvalid, "job %q is not a parameterized job: only a job with a parameterized block can be dispatched", j.ID)
	}
	p := j.ParameterizedJob
	var errs []error
	switch {
	case len(payload) > DispatchPayloadSizeLimit:
		errs = append(errs, fmt.Errorf("payload is %d bytes: must be at most %d bytes (16 KiB)", len(payload), DispatchPayloadSizeLimit))
	case p.Payload == DispatchPayloadRequired && len(payload) == 0:
		errs = append(errs, errors.New(`payload: job's parameterized block says payload = "required", and the dispatch has none`))
	case p.Payload == DispatchPayloadForbidden && len(payload) > 0:
		errs = append(errs, errors.New(`payload: job's parameterized block says payload = "forbidden", and the dispatch has one`))
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(p.MetaRequired, k) && !slices.Contains(p.MetaOptional, k) {
			errs = append(errs, fmt.Errorf("meta %q: not allowed by the job's parameterized block (meta_required %q, meta_optional %q)",
				k, p.MetaRequired, p.MetaOptional))
		}
	}
	for _, k := range p.MetaRequired {
		if _, ok := meta[k]; !ok {
			errs = append(errs, fmt.Errorf("meta %q: required by the job's parameterized block (meta_required) and missing", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return NewError(CodeInvalid, "dispatching job %q: %v", j.ID, err)
	}
	return nil
}
