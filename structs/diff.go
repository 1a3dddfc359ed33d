package structs

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The field-level difference between two versions of a job, in Nomad's shape,
// for `orch job plan`: a job has fields, objects (nested blocks such as a
// constraint or the restart policy, themselves with fields) and groups; a group
// has fields, objects and tasks. Values are compared as strings.
//
// Each struct is flattened into "name → value" by one function below
// (jobFields, groupFields, taskFields, resourcesFields, ...): a new field of
// Job, TaskGroup or Task is one more line there. Maps become one field per key
// ("Meta[owner]"), lists of values (datacenters) and of blocks (constraints)
// are compared as sets: an element is added or deleted, never edited.
// Durations are shown as Go durations ("30s"), not nanoseconds.

// DiffType says how an object changed from the old version to the new.
type DiffType string

const (
	DiffTypeNone    DiffType = "None"
	DiffTypeAdded   DiffType = "Added"
	DiffTypeDeleted DiffType = "Deleted"
	DiffTypeEdited  DiffType = "Edited"
)

// JobDiff is the difference between two versions of one job.
type JobDiff struct {
	Type       DiffType
	ID         string
	Fields     []*FieldDiff  // sorted by Name
	Objects    []*ObjectDiff // sorted by Name, then content
	TaskGroups []*TaskGroupDiff
}

// TaskGroupDiff is the difference between two versions of one group.
type TaskGroupDiff struct {
	Type    DiffType
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
	Tasks   []*TaskDiff
	// Updates counts, per kind of change (the UpdateType* names: "create",
	// "destroy", "in-place update", ...), the allocations the scheduler would
	// change. DiffJobs leaves it nil; Job.Plan fills it from the plan's
	// annotations.
	Updates map[string]uint64
}

// TaskDiff is the difference between two versions of one task.
type TaskDiff struct {
	Type    DiffType
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
	// Annotations say what the change forces ("forces create/destroy
	// update", ...); Job.Plan fills them.
	Annotations []string
}

// ObjectDiff is the difference of a nested block: a constraint, the restart
// policy, the resources, a task's config.
type ObjectDiff struct {
	Type    DiffType
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
}

// FieldDiff is the difference of one value. Old is "" when Added, New is ""
// when Deleted.
type FieldDiff struct {
	Type        DiffType
	Name        string
	Old, New    string
	Annotations []string
}

// Kinds of change to allocations counted in TaskGroupDiff.Updates, and the
// annotations of a task, as Nomad words them.
const (
	UpdateTypeIgnore            = "ignore"
	UpdateTypeCreate            = "create"
	UpdateTypeDestroy           = "destroy"
	UpdateTypeMigrate           = "migrate"
	UpdateTypeCanary            = "canary"
	UpdateTypeInplaceUpdate     = "in-place update"
	UpdateTypeDestructiveUpdate = "create/destroy update"

	AnnotationForcesCreate            = "forces create"
	AnnotationForcesDestroy           = "forces destroy"
	AnnotationForcesInplaceUpdate     = "forces in-place update"
	AnnotationForcesDestructiveUpdate = "forces create/destroy update"
)

// ErrDiffIDs: DiffJobs was given two different jobs.
var ErrDiffIDs = errors.New("structs: cannot diff jobs with different IDs")

// DiffJobs returns what changed from old to next, either of which may be nil
// (a job being created or removed). Both are read, never modified; both
// should be canonicalized, or defaults show as changes. Unchanged groups and
// tasks are listed with DiffTypeNone (a plan counts their allocations);
// unchanged fields and objects are left out.
func DiffJobs(old, next *Job) (*JobDiff, error) {
	d, err := DiffJobsContextual(old, next)
	if err != nil {
		return nil, err
	}
	d.Fields, d.Objects = pruneUnchanged(d.Fields, d.Objects)
	for _, g := range d.TaskGroups {
		g.Fields, g.Objects = pruneUnchanged(g.Fields, g.Objects)
		for _, t := range g.Tasks {
			t.Fields, t.Objects = pruneUnchanged(t.Fields, t.Objects)
		}
	}
	return d, nil
}

// DiffJobsContextual is DiffJobs with the context: the fields and objects
// that did not change are listed too, with DiffTypeNone, so that a reader
// sees a changed value among its neighbours (`job plan -verbose`).
func DiffJobsContextual(old, next *Job) (*JobDiff, error) {
	if old != nil && next != nil && old.ID != next.ID {
		return nil, fmt.Errorf("%w: %q and %q", ErrDiffIDs, old.ID, next.ID)
	}
	d := &JobDiff{}
	var oldGroups, newGroups []*TaskGroup
	var oldDCs, newDCs []string
	var oldCons, newCons []*Constraint
	if old != nil {
		d.ID = old.ID
		oldGroups, oldDCs, oldCons = old.TaskGroups, old.Datacenters, old.Constraints
	}
	if next != nil {
		d.ID = next.ID
		newGroups, newDCs, newCons = next.TaskGroups, next.Datacenters, next.Constraints
	}
	d.Fields = diffFields(jobFields(old), jobFields(next))
	d.Objects = appendObject(d.Objects, diffStringSet("Datacenters", oldDCs, newDCs))
	var oldAff, newAff []*Affinity
	var oldSpr, newSpr []*Spread
	if old != nil {
		oldAff, oldSpr = old.Affinities, old.Spreads
	}
	if next != nil {
		newAff, newSpr = next.Affinities, next.Spreads
	}
	d.Objects = append(d.Objects, diffPlacement(oldCons, newCons, oldAff, newAff, oldSpr, newSpr)...)
	var oldUp, newUp *UpdateStrategy
	if old != nil {
		oldUp = old.Update
	}
	if next != nil {
		newUp = next.Update
	}
	d.Objects = appendObject(d.Objects, diffObject("Update", updateFields(oldUp), updateFields(newUp)))
	sortObjects(d.Objects)

	oldByName := groupsByName(oldGroups)
	newByName := groupsByName(newGroups)
	changed := anyChange(d.Fields, d.Objects)
	for _, name := range unionKeys(oldByName, newByName) {
		gd := diffGroup(oldByName[name], newByName[name])
		changed = changed || gd.Type != DiffTypeNone
		d.TaskGroups = append(d.TaskGroups, gd)
	}
	d.Type = diffType(old == nil, next == nil, changed)
	return d, nil
}

// diffGroup diffs two versions of a group; either may be nil, not both.
func diffGroup(old, next *TaskGroup) *TaskGroupDiff {
	d := &TaskGroupDiff{}
	var oldTasks, newTasks []*Task
	var oldCons, newCons []*Constraint
	var oldRP, newRP *RestartPolicy
	var oldDisk, newDisk *EphemeralDisk
	var oldNets, newNets []*NetworkResource
	var oldAff, newAff []*Affinity
	var oldSpr, newSpr []*Spread
	var oldUp, newUp *UpdateStrategy
	if old != nil {
		oldUp = old.Update
		d.Name = old.Name
		oldTasks, oldCons, oldRP, oldDisk = old.Tasks, old.Constraints, old.RestartPolicy, old.EphemeralDisk
		oldNets, oldAff, oldSpr = old.Networks, old.Affinities, old.Spreads
	}
	if next != nil {
		newUp = next.Update
		d.Name = next.Name
		newTasks, newCons, newRP, newDisk = next.Tasks, next.Constraints, next.RestartPolicy, next.EphemeralDisk
		newNets, newAff, newSpr = next.Networks, next.Affinities, next.Spreads
	}
	d.Fields = diffFields(groupFields(old), groupFields(next))
	d.Objects = diffPlacement(oldCons, newCons, oldAff, newAff, oldSpr, newSpr)
	d.Objects = appendObject(d.Objects, diffObject("RestartPolicy", restartPolicyFields(oldRP), restartPolicyFields(newRP)))
	d.Objects = appendObject(d.Objects, diffObject("ReschedulePolicy", reschedulePolicyFields(old), reschedulePolicyFields(next)))
	d.Objects = appendObject(d.Objects, diffObject("Migrate", migrateFields(old), migrateFields(next)))
	d.Objects = appendObject(d.Objects, diffObject("EphemeralDisk", ephemeralDiskFields(oldDisk), ephemeralDiskFields(newDisk)))
	d.Objects = appendObject(d.Objects, diffObject("Network", networkFields(oldNets), networkFields(newNets)))
	d.Objects = append(d.Objects, diffObjectSet("Service", groupServices(old), groupServices(next), serviceFields)...)
	d.Objects = appendObject(d.Objects, diffObject("Update", updateFields(oldUp), updateFields(newUp)))
	sortObjects(d.Objects)

	oldByName := tasksByName(oldTasks)
	newByName := tasksByName(newTasks)
	changed := anyChange(d.Fields, d.Objects)
	for _, name := range unionKeys(oldByName, newByName) {
		td := diffTask(oldByName[name], newByName[name])
		changed = changed || td.Type != DiffTypeNone
		d.Tasks = append(d.Tasks, td)
	}
	d.Type = diffType(old == nil, next == nil, changed)
	return d
}

// diffTask diffs two versions of a task; either may be nil, not both.
func diffTask(old, next *Task) *TaskDiff {
	d := &TaskDiff{}
	var oldCons, newCons []*Constraint
	var oldRes, newRes *Resources
	var oldConfig, newConfig map[string]any
	var oldAff, newAff []*Affinity
	if old != nil {
		d.Name = old.Name
		oldCons, oldRes, oldConfig, oldAff = old.Constraints, old.Resources, old.Config, old.Affinities
	}
	if next != nil {
		d.Name = next.Name
		newCons, newRes, newConfig, newAff = next.Constraints, next.Resources, next.Config, next.Affinities
	}
	d.Fields = diffFields(taskFields(old), taskFields(next))
	d.Objects = diffPlacement(oldCons, newCons, oldAff, newAff, nil, nil)
	d.Objects = appendObject(d.Objects, diffObject("Config", configFields(oldConfig), configFields(newConfig)))
	d.Objects = appendObject(d.Objects, diffObject("Resources", resourcesFields(oldRes), resourcesFields(newRes)))
	d.Objects = append(d.Objects, diffObjectSet("Service", taskServices(old), taskServices(next), serviceFields)...)
	d.Objects = append(d.Objects, diffObjectSet("Template", taskTemplates(old), taskTemplates(next), templateFields)...)
	sortObjects(d.Objects)
	d.Type = diffType(old == nil, next == nil, anyChange(d.Fields, d.Objects))
	return d
}

// The flattening of each struct: one line per field. A nil struct flattens
// to nil, which diffObject reads as "absent".

func jobFields(j *Job) map[string]string {
	if j == nil {
		return nil
	}
	f := map[string]string{
		"ID":        j.ID,
		"Name":      j.Name,
		"Region":    j.Region,
		"Namespace": j.Namespace,
		"Type":      string(j.Type),
		"Priority":  strconv.Itoa(j.Priority),
		"AllAtOnce": strconv.FormatBool(j.AllAtOnce),
		"Stop":      strconv.FormatBool(j.Stop),
		"NodePool":  j.NodePool,
	}
	addMap(f, "Meta", j.Meta)
	if p := j.Periodic; p != nil {
		f["Periodic.Enabled"] = strconv.FormatBool(p.Enabled)
		f["Periodic.Spec"] = p.Spec
		f["Periodic.Specs"] = strings.Join(p.Specs, ", ")
		f["Periodic.SpecType"] = p.SpecType
		f["Periodic.ProhibitOverlap"] = strconv.FormatBool(p.ProhibitOverlap)
		f["Periodic.TimeZone"] = p.TimeZone
	}
	if p := j.ParameterizedJob; p != nil {
		f["ParameterizedJob.Payload"] = p.Payload
		f["ParameterizedJob.MetaRequired"] = strings.Join(p.MetaRequired, ", ")
		f["ParameterizedJob.MetaOptional"] = strings.Join(p.MetaOptional, ", ")
	}
	if u := j.UI; u != nil {
		f["UI.Description"] = u.Description
		links := make([]string, len(u.Links))
		for i, l := range u.Links {
			if l != nil {
				links[i] = l.Label + " <" + l.URL + ">"
			}
		}
		f["UI.Links"] = strings.Join(links, ", ")
	}
	return f
}

func groupFields(g *TaskGroup) map[string]string {
	if g == nil {
		return nil
	}
	f := map[string]string{
		"Count": strconv.Itoa(g.Count),
	}
	addMap(f, "Meta", g.Meta)
	return f
}

func taskFields(t *Task) map[string]string {
	if t == nil {
		return nil
	}
	f := map[string]string{
		"Driver":      t.Driver,
		"User":        t.User,
		"KillTimeout": t.KillTimeout.String(),
		"KillSignal":  t.KillSignal,
	}
	if l := t.LogConfig; l != nil {
		f["LogConfig.MaxFiles"] = strconv.Itoa(l.MaxFiles)
		f["LogConfig.MaxFileSizeMB"] = strconv.Itoa(l.MaxFileSizeMB)
		f["LogConfig.Disabled"] = strconv.FormatBool(l.Disabled)
	}
	if l := t.Lifecycle; l != nil {
		f["Lifecycle.Hook"] = l.Hook
		f["Lifecycle.Sidecar"] = strconv.FormatBool(l.Sidecar)
	}
	if d := t.DispatchPayload; d != nil {
		f["DispatchPayload.File"] = d.File
	}
	addMap(f, "Env", t.Env)
	addMap(f, "Meta", t.Meta)
	return f
}

func resourcesFields(r *Resources) map[string]string {
	if r == nil {
		return nil
	}
	f := map[string]string{
		"CPU":      strconv.Itoa(r.CPU),
		"MemoryMB": strconv.Itoa(r.MemoryMB),
	}
	// Newer fields only when set, so plans of jobs without them read as before.
	if r.Cores != 0 {
		f["Cores"] = strconv.Itoa(r.Cores)
	}
	if r.MemoryMaxMB != 0 {
		f["MemoryMaxMB"] = strconv.Itoa(r.MemoryMaxMB)
	}
	if len(r.ReservedCores) > 0 {
		f["ReservedCores"] = FormatCoreList(r.ReservedCores)
	}
	return f
}

func restartPolicyFields(p *RestartPolicy) map[string]string {
	if p == nil {
		return nil
	}
	return map[string]string{
		"Attempts": strconv.Itoa(p.Attempts),
		"Interval": p.Interval.String(),
		"Delay":    p.Delay.String(),
		"Mode":     p.Mode,
	}
}

// reschedulePolicyFields flattens the reschedule policy of tg (nil-safe).
func reschedulePolicyFields(tg *TaskGroup) map[string]string {
	if tg == nil || tg.ReschedulePolicy == nil {
		return nil
	}
	p := tg.ReschedulePolicy
	return map[string]string{
		"Attempts":      strconv.Itoa(p.Attempts),
		"Interval":      p.Interval.String(),
		"Delay":         p.Delay.String(),
		"DelayFunction": p.DelayFunction,
		"MaxDelay":      p.MaxDelay.String(),
		"Unlimited":     strconv.FormatBool(p.Unlimited),
	}
}

// migrateFields flattens the migrate strategy of tg (nil-safe).
func migrateFields(tg *TaskGroup) map[string]string {
	if tg == nil || tg.Migrate == nil {
		return nil
	}
	m := tg.Migrate
	return map[string]string{
		"MaxParallel":     strconv.Itoa(m.MaxParallel),
		"HealthCheck":     m.HealthCheck,
		"MinHealthyTime":  m.MinHealthyTime.String(),
		"HealthyDeadline": m.HealthyDeadline.String(),
	}
}

func ephemeralDiskFields(d *EphemeralDisk) map[string]string {
	if d == nil {
		return nil
	}
	return map[string]string{
		"SizeMB": strconv.Itoa(d.SizeMB),
	}
}

// networkFields flattens a group's network (validation allows one):
// "Mode", and per port "Static[label]" or "Dynamic[label]" with the port
// and, when set, "To[label]".
func networkFields(nets []*NetworkResource) map[string]string {
	f := map[string]string{}
	for _, n := range nets {
		f["Mode"] = n.Mode
		for _, p := range n.ReservedPorts {
			f["Static["+p.Label+"]"] = strconv.Itoa(p.Value)
			if p.To != 0 {
				f["To["+p.Label+"]"] = strconv.Itoa(p.To)
			}
		}
		for _, p := range n.DynamicPorts {
			f["Dynamic["+p.Label+"]"] = "dynamic"
			if p.To != 0 {
				f["To["+p.Label+"]"] = strconv.Itoa(p.To)
			}
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

func constraintFields(c *Constraint) map[string]string {
	if c == nil {
		return nil
	}
	return map[string]string{
		"LTarget": c.LTarget,
		"RTarget": c.RTarget,
		"Operand": c.Operand,
	}
}

// configFields flattens a task's driver config: nested maps as
// "parent[key]", lists as "parent[i]". nil and empty configs are both absent.
func configFields(config map[string]any) map[string]string {
	if len(config) == 0 {
		return nil
	}
	f := map[string]string{}
	for k, v := range config {
		flattenValue(f, k, v)
	}
	return f
}

func flattenValue(f map[string]string, name string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			flattenValue(f, name+"["+k+"]", e)
		}
	case []any:
		for i, e := range v {
			flattenValue(f, name+"["+strconv.Itoa(i)+"]", e)
		}
	case []map[string]any:
		for i, e := range v {
			flattenValue(f, name+"["+strconv.Itoa(i)+"]", e)
		}
	case []string:
		for i, e := range v {
			f[name+"["+strconv.Itoa(i)+"]"] = e
		}
	case nil:
		f[name] = ""
	default:
		f[name] = fmt.Sprint(v)
	}
}

// addMap adds one field per key of m, named "name[key]".
func addMap(f map[string]string, name string, m map[string]string) {
	for k, v := range m {
		f[name+"["+k+"]"] = v
	}
}

// diffFields compares two flattenings, field by field, sorted by name;
// equal values are listed as DiffTypeNone. An empty value, added, deleted or
// kept (a task without a user) is not listed.
func diffFields(old, next map[string]string) []*FieldDiff {
	var out []*FieldDiff
	for _, name := range unionKeys(old, next) {
		o, inOld := old[name]
		n, inNew := next[name]
		switch {
		case inOld && inNew && o == n:
			if o != "" {
				out = append(out, &FieldDiff{Type: DiffTypeNone, Name: name, Old: o, New: n})
			}
		case !inOld && n == "", !inNew && o == "":
			// An empty value appearing or going, or staying, says nothing.
		case !inOld:
			out = append(out, &FieldDiff{Type: DiffTypeAdded, Name: name, New: n})
		case !inNew:
			out = append(out, &FieldDiff{Type: DiffTypeDeleted, Name: name, Old: o})
		default:
			out = append(out, &FieldDiff{Type: DiffTypeEdited, Name: name, Old: o, New: n})
		}
	}
	return out
}

// diffObject compares two flattenings of a block; nil means the block is
// absent. It returns nil when the block is absent from both, or added or
// deleted with nothing in it.
func diffObject(name string, old, next map[string]string) *ObjectDiff {
	fields := diffFields(old, next)
	changed := anyChange(fields, nil)
	if !changed && (old == nil || next == nil) {
		return nil
	}
	return &ObjectDiff{Type: diffType(old == nil, next == nil, changed), Name: name, Fields: fields}
}

// diffStringSet compares two lists as sets: one field named name per value,
// added, deleted or (in both) unchanged. It returns nil when both are empty.
func diffStringSet(name string, old, next []string) *ObjectDiff {
	if len(old) == 0 && len(next) == 0 {
		return nil
	}
	var fields []*FieldDiff
	for _, v := range old {
		if slices.Contains(next, v) {
			fields = append(fields, &FieldDiff{Type: DiffTypeNone, Name: name, Old: v, New: v})
		} else {
			fields = append(fields, &FieldDiff{Type: DiffTypeDeleted, Name: name, Old: v})
		}
	}
	for _, v := range next {
		if !slices.Contains(old, v) {
			fields = append(fields, &FieldDiff{Type: DiffTypeAdded, Name: name, New: v})
		}
	}
	value := func(f *FieldDiff) string { return cmp.Or(f.New, f.Old) }
	slices.SortFunc(fields, func(a, b *FieldDiff) int { return cmp.Compare(value(a), value(b)) })
	return &ObjectDiff{Type: diffType(len(old) == 0, len(next) == 0, anyChange(fields, nil)), Name: name, Fields: fields}
}

// diffConstraints compares two lists of constraints as sets.
func diffConstraints(old, next []*Constraint) []*ObjectDiff {
	return diffObjectSet("Constraint", old, next, constraintFields)
}

// diffPlacement compares the constraints, affinities and spreads of two
// versions of a job, group or task, each list as a set.
func diffPlacement(oldCons, newCons []*Constraint, oldAff, newAff []*Affinity, oldSpr, newSpr []*Spread) []*ObjectDiff {
	out := diffConstraints(oldCons, newCons)
	out = append(out, diffObjectSet("Affinity", oldAff, newAff, affinityFields)...)
	return append(out, diffObjectSet("Spread", oldSpr, newSpr, spreadFields)...)
}

// diffObjectSet compares two lists as sets of objects named name, each
// flattened by fields: each one only in old is Deleted, each one only in next
// is Added, each one in both is listed unchanged.
func diffObjectSet[T any](name string, old, next []T, fields func(T) map[string]string) []*ObjectDiff {
	key := func(f map[string]string) string {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(f)) {
			b.WriteString(k + "\x00" + f[k] + "\x00")
		}
		return b.String()
	}
	oldKeys := map[string]bool{}
	for _, o := range old {
		oldKeys[key(fields(o))] = true
	}
	newKeys := map[string]bool{}
	for _, o := range next {
		newKeys[key(fields(o))] = true
	}
	var out []*ObjectDiff
	for _, o := range old {
		if f := fields(o); !newKeys[key(f)] {
			out = appendObject(out, diffObject(name, f, nil))
		}
	}
	for _, o := range next {
		f := fields(o)
		if oldKeys[key(f)] {
			out = appendObject(out, diffObject(name, f, f))
		} else {
			out = appendObject(out, diffObject(name, nil, f))
		}
	}
	return out
}

func affinityFields(a *Affinity) map[string]string {
	return map[string]string{
		"LTarget": a.LTarget,
		"RTarget": a.RTarget,
		"Operand": a.Operand,
		"Weight":  strconv.Itoa(int(a.Weight)),
	}
}

func spreadFields(sp *Spread) map[string]string {
	f := map[string]string{
		"Attribute": sp.Attribute,
		"Weight":    strconv.Itoa(int(sp.Weight)),
	}
	for _, t := range sp.SpreadTarget {
		f["Target["+t.Value+"]"] = strconv.Itoa(int(t.Percent))
	}
	return f
}

// anyChange reports whether any of fields or objects changed.
func anyChange(fields []*FieldDiff, objects []*ObjectDiff) bool {
	for _, f := range fields {
		if f.Type != DiffTypeNone {
			return true
		}
	}
	for _, o := range objects {
		if o.Type != DiffTypeNone {
			return true
		}
	}
	return false
}

// pruneUnchanged drops what did not change: unchanged fields, unchanged
// objects, and the unchanged fields of changed objects.
func pruneUnchanged(fields []*FieldDiff, objects []*ObjectDiff) ([]*FieldDiff, []*ObjectDiff) {
	fields = slices.DeleteFunc(fields, func(f *FieldDiff) bool { return f.Type == DiffTypeNone })
	objects = slices.DeleteFunc(objects, func(o *ObjectDiff) bool { return o.Type == DiffTypeNone })
	for _, o := range objects {
		o.Fields, o.Objects = pruneUnchanged(o.Fields, o.Objects)
	}
	if len(fields) == 0 {
		fields = nil
	}
	if len(objects) == 0 {
		objects = nil
	}
	return fields, objects
}

// diffType is the type of an object absent from old (oldNil) or next
// (newNil), or present in both and changed or not.
func diffType(oldNil, newNil, changed bool) DiffType {
	switch {
	case oldNil && newNil:
		return DiffTypeNone
	case oldNil:
		return DiffTypeAdded
	case newNil:
		return DiffTypeDeleted
	case changed:
		return DiffTypeEdited
	}
	return DiffTypeNone
}

func appendObject(list []*ObjectDiff, d *ObjectDiff) []*ObjectDiff {
	if d == nil {
		return list
	}
	return append(list, d)
}

// sortObjects orders objects by name, then by their fields, so that the
// output does not depend on map or list order.
func sortObjects(objs []*ObjectDiff) {
	slices.SortStableFunc(objs, func(a, b *ObjectDiff) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(fieldsKey(a.Fields), fieldsKey(b.Fields))
	})
}

func fieldsKey(fs []*FieldDiff) string {
	s := ""
	for _, f := range fs {
		s += f.Name + "\x00" + f.Old + "\x00" + f.New + "\x00"
	}
	return s
}

func groupsByName(groups []*TaskGroup) map[string]*TaskGroup {
	m := make(map[string]*TaskGroup, len(groups))
	for _, g := range groups {
		m[g.Name] = g
	}
	return m
}

func tasksByName(tasks []*Task) map[string]*Task {
	m := make(map[string]*Task, len(tasks))
	for _, t := range tasks {
		m[t.Name] = t
	}
	return m
}

// unionKeys returns the keys of a and b, sorted, once each.
func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
