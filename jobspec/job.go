package jobspec

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/orch-io/orch/structs"
)

// The schemas follow Nomad's job specification. The unsupported lists hold
// what Nomad has at that level and orch does not implement yet.
var (
	jobSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "region"}, {Name: "namespace"}, {Name: "type"}, {Name: "priority"},
				{Name: "datacenters"}, {Name: "meta"},
			},
			Blocks: []hcl.BlockHeaderSchema{
				{Type: "group", LabelNames: []string{"name"}}, {Type: "constraint"}, {Type: "meta"},
				{Type: "affinity"}, {Type: "spread"},
			},
		},
		unsupportedAttrs: []string{"all_at_once", "node_pool", "vault_token", "consul_token", "consul_namespace"},
		unsupportedBlocks: []string{"update", "migrate", "reschedule", "periodic",
			"parameterized", "multiregion", "vault", "consul", "ui"},
	}

	groupSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "meta"}},
			Blocks: []hcl.BlockHeaderSchema{
				{Type: "task", LabelNames: []string{"name"}}, {Type: "restart"}, {Type: "ephemeral_disk"},
				{Type: "constraint"}, {Type: "meta"},
				{Type: "affinity"}, {Type: "spread"},
			},
		},
		unsupportedAttrs: []string{"max_client_disconnect", "stop_after_client_disconnect", "shutdown_delay",
			"prevent_reschedule_on_lost"},
		unsupportedBlocks: []string{"update", "migrate", "reschedule", "network", "service",
			"volume", "scaling", "consul", "vault", "disconnect"},
	}

	taskSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "driver"}, {Name: "user"}, {Name: "kill_timeout"}, {Name: "kill_signal"},
				{Name: "env"}, {Name: "meta"},
			},
			Blocks: []hcl.BlockHeaderSchema{
				{Type: "config"}, {Type: "env"}, {Type: "meta"}, {Type: "resources"}, {Type: "constraint"},
				{Type: "affinity"},
			},
		},
		unsupportedAttrs: []string{"leader", "kind", "shutdown_delay"},
		unsupportedBlocks: []string{"artifact", "template", "service", "vault", "consul", "lifecycle", "logs",
			"volume_mount", "dispatch_payload", "scaling", "csi_plugin", "identity", "restart",
			"action", "schedule"},
	}

	restartSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "attempts"}, {Name: "interval"}, {Name: "delay"}, {Name: "mode"},
		}},
		unsupportedAttrs: []string{"render_templates"},
	}

	ephemeralDiskSchema = bodySchema{
		BodySchema:       hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "size"}}},
		unsupportedAttrs: []string{"migrate", "sticky"},
	}

	resourcesSchema = bodySchema{
		BodySchema:        hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "cpu"}, {Name: "memory"}}},
		unsupportedAttrs:  []string{"cores", "memory_max", "secrets", "disk", "iops"},
		unsupportedBlocks: []string{"device", "network", "numa"},
	}

	constraintSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "attribute"}, {Name: "operator"}, {Name: "value"},
		}},
		unsupportedAttrs: []string{"distinct_hosts", "distinct_property"},
	}
)

// nomadOperators are the constraint operators of Nomad that orch does not
// support yet (the supported ones are in structs.NormalizeConstraintOperand).
var nomadOperators = []string{
	">", ">=", "<", "<=", "distinct_hosts", "distinct_property", "regexp", "set_contains",
	"set_contains_all", "set_contains_any", "version", "semver", "is_set", "is_not_set",
}

// job decodes a job block. Fields the file does not set stay zero, for
// Canonicalize, except where zero is legal and differs from the default:
// a group's count is 1 unless set, and a restart block is merged with the
// default policy of the job's type.
func (d *decoder) job(b *hcl.Block) *structs.Job {
	job := &structs.Job{ID: b.Labels[0], Name: b.Labels[0]}
	loc := &d.loc.job
	loc.block = b.DefRange
	loc.field("id", b.LabelRanges[0])

	c := d.content(b.Body, jobSchema)
	for _, f := range []struct {
		name string
		dst  *string
	}{{"region", &job.Region}, {"namespace", &job.Namespace}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field(f.name, a.Range)
			if s, ok := d.str(a); ok {
				*f.dst = s
			}
		}
	}
	if a := c.Attributes["type"]; a != nil {
		loc.field("type", a.Range)
		if s, ok := d.str(a); ok {
			job.Type = structs.JobType(s)
		}
	}
	if a := c.Attributes["priority"]; a != nil {
		loc.field("priority", a.Range)
		if n, ok := d.integer(a); ok {
			job.Priority = n
		}
	}
	if a := c.Attributes["datacenters"]; a != nil {
		loc.field("datacenters", a.Range)
		if dcs, ok := d.stringList(a); ok {
			job.Datacenters = dcs
		}
	}
	job.Meta = d.mapAttrOrBlock(c, "meta")
	job.Constraints = d.constraints(c.Blocks.OfType("constraint"), loc)
	job.Affinities = d.affinities(c.Blocks.OfType("affinity"), loc)
	job.Spreads = d.spreads(c.Blocks.OfType("spread"), loc)
	for _, gb := range c.Blocks.OfType("group") {
		job.TaskGroups = append(job.TaskGroups, d.group(gb, job.Type))
	}
	return job
}

func (d *decoder) group(b *hcl.Block, jobType structs.JobType) *structs.TaskGroup {
	tg := &structs.TaskGroup{Name: b.Labels[0], Count: 1}
	loc := d.loc.addGroup(b)

	c := d.content(b.Body, groupSchema)
	if a := c.Attributes["count"]; a != nil {
		loc.field("count", a.Range)
		if n, ok := d.integer(a); ok {
			tg.Count = n
		}
	}
	for _, rb := range d.atMostOne(c.Blocks.OfType("restart")) {
		tg.RestartPolicy = d.restart(rb, jobType, loc)
	}
	for _, eb := range d.atMostOne(c.Blocks.OfType("ephemeral_disk")) {
		loc.field("ephemeral_disk", eb.DefRange)
		tg.EphemeralDisk = &structs.EphemeralDisk{SizeMB: structs.DefaultEphemeralDiskMB}
		ec := d.content(eb.Body, ephemeralDiskSchema)
		if a := ec.Attributes["size"]; a != nil {
			loc.field("ephemeral_disk.size", a.Range)
			if n, ok := d.integer(a); ok {
				tg.EphemeralDisk.SizeMB = n
			}
		}
	}
	tg.Meta = d.mapAttrOrBlock(c, "meta")
	tg.Constraints = d.constraints(c.Blocks.OfType("constraint"), loc)
	tg.Affinities = d.affinities(c.Blocks.OfType("affinity"), loc)
	tg.Spreads = d.spreads(c.Blocks.OfType("spread"), loc)
	for _, tb := range c.Blocks.OfType("task") {
		tg.Tasks = append(tg.Tasks, d.task(tb))
	}
	return tg
}

// restart decodes a restart block over the default policy of jobType, so that
// the fields it leaves out keep their default (attempts = 0 is legal, and a
// RestartPolicy cannot tell it from "unset").
func (d *decoder) restart(b *hcl.Block, jobType structs.JobType, loc *scope) *structs.RestartPolicy {
	loc.field("restart", b.DefRange)
	rp := structs.DefaultRestartPolicy(jobType)
	c := d.content(b.Body, restartSchema)
	if a := c.Attributes["attempts"]; a != nil {
		loc.field("restart.attempts", a.Range)
		if n, ok := d.integer(a); ok {
			rp.Attempts = n
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"interval", &rp.Interval}, {"delay", &rp.Delay}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("restart."+f.name, a.Range)
			if dur, ok := d.duration(a); ok {
				*f.dst = dur
			}
		}
	}
	if a := c.Attributes["mode"]; a != nil {
		loc.field("restart.mode", a.Range)
		if s, ok := d.str(a); ok {
			rp.Mode = s
		}
	}
	return rp
}

func (d *decoder) task(b *hcl.Block) *structs.Task {
	t := &structs.Task{Name: b.Labels[0]}
	loc := d.loc.addTask(b)

	c := d.content(b.Body, taskSchema)
	for _, f := range []struct {
		name string
		dst  *string
	}{{"driver", &t.Driver}, {"user", &t.User}, {"kill_signal", &t.KillSignal}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field(f.name, a.Range)
			if s, ok := d.str(a); ok {
				*f.dst = s
			}
		}
	}
	if a := c.Attributes["kill_timeout"]; a != nil {
		loc.field("kill_timeout", a.Range)
		if dur, ok := d.duration(a); ok {
			t.KillTimeout = dur
		}
	}
	for _, cb := range d.atMostOne(c.Blocks.OfType("config")) {
		t.Config = map[string]any{}
		for _, a := range d.justAttributes(cb.Body) {
			v, diags := d.ev.eval(a.Expr)
			d.diags = append(d.diags, diags...)
			if !diags.HasErrors() && v.IsWhollyKnown() {
				t.Config[a.Name] = ctyToGo(v)
			}
		}
	}
	t.Env = d.mapAttrOrBlock(c, "env")
	t.Meta = d.mapAttrOrBlock(c, "meta")
	for _, rb := range d.atMostOne(c.Blocks.OfType("resources")) {
		loc.field("resources", rb.DefRange)
		t.Resources = &structs.Resources{}
		rc := d.content(rb.Body, resourcesSchema)
		for _, f := range []struct {
			name string
			dst  *int
		}{{"cpu", &t.Resources.CPU}, {"memory", &t.Resources.MemoryMB}} {
			if a := rc.Attributes[f.name]; a != nil {
				loc.field("resources."+f.name, a.Range)
				if n, ok := d.integer(a); ok {
					*f.dst = n
				}
			}
		}
	}
	t.Constraints = d.constraints(c.Blocks.OfType("constraint"), loc)
	t.Affinities = d.affinities(c.Blocks.OfType("affinity"), loc)
	return t
}

// constraints decodes constraint blocks, normalizing the operator ("==" and
// "is" to "=", "not" to "!="). An operator orch does not support is an error
// here, at the operator.
func (d *decoder) constraints(blocks hcl.Blocks, loc *scope) []*structs.Constraint {
	var out []*structs.Constraint
	for i, b := range blocks {
		prefix := fmt.Sprintf("constraint[%d]", i)
		loc.field(prefix, b.DefRange)
		con := &structs.Constraint{Operand: structs.ConstraintEqual}
		c := d.content(b.Body, constraintSchema)
		if a := c.Attributes["attribute"]; a != nil {
			loc.field(prefix+".attribute", a.Range)
			con.LTarget, _ = d.str(a)
		}
		if a := c.Attributes["value"]; a != nil {
			loc.field(prefix+".value", a.Range)
			con.RTarget, _ = d.str(a)
		}
		if a := c.Attributes["operator"]; a != nil {
			loc.field(prefix+".operator", a.Range)
			if op, ok := d.str(a); ok {
				canonical, supported := structs.NormalizeConstraintOperand(op)
				switch {
				case supported:
					con.Operand = canonical
				case slices.Contains(nomadOperators, op):
					d.invalid(a, "operator %q is not supported yet; use one of %s", op, supportedOperators)
				default:
					d.invalid(a, "unknown operator %q; use one of %s", op, supportedOperators)
				}
			}
		}
		out = append(out, con)
	}
	return out
}

var supportedOperators = strings.Join([]string{`"="`, `"=="`, `"is"`, `"!="`, `"not"`}, ", ")
