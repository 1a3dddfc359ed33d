package jobspec

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/orch-io/orch/structs"
	"github.com/zclconf/go-cty/cty"
)

// The schemas follow Nomad's job specification. The unsupported lists hold
// what Nomad has at that level and orch does not implement yet.
var (
	jobSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "region"}, {Name: "namespace"}, {Name: "type"}, {Name: "priority"},
				{Name: "datacenters"}, {Name: "meta"}, {Name: "node_pool"}, {Name: "all_at_once"},
			},
			Blocks: []hcl.BlockHeaderSchema{
				{Type: "group", LabelNames: []string{"name"}}, {Type: "constraint"}, {Type: "meta"},
				{Type: "affinity"}, {Type: "spread"}, {Type: "reschedule"}, {Type: "migrate"}, {Type: "update"},
				{Type: "periodic"}, {Type: "parameterized"}, {Type: "ui"},
			},
		},
		unsupportedAttrs:  []string{"vault_token", "consul_token", "consul_namespace"},
		unsupportedBlocks: []string{"multiregion", "vault", "consul"},
	}

	uiSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: "description"}},
			Blocks:     []hcl.BlockHeaderSchema{{Type: "link"}},
		},
	}

	uiLinkSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "label"}, {Name: "url"}}},
	}

	periodicSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "cron"}, {Name: "crons"}, {Name: "prohibit_overlap"}, {Name: "time_zone"}, {Name: "enabled"},
		}},
	}

	parameterizedSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "payload"}, {Name: "meta_required"}, {Name: "meta_optional"},
		}},
	}

	dispatchPayloadSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "file", Required: true}}},
	}

	groupSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "meta"}},
			Blocks: []hcl.BlockHeaderSchema{
				{Type: "task", LabelNames: []string{"name"}}, {Type: "restart"}, {Type: "ephemeral_disk"},
				{Type: "constraint"}, {Type: "meta"}, {Type: "network"},
				{Type: "affinity"}, {Type: "spread"}, {Type: "service"}, {Type: "reschedule"}, {Type: "migrate"},
				{Type: "update"},
			},
		},
		unsupportedAttrs: []string{"max_client_disconnect", "stop_after_client_disconnect", "shutdown_delay",
			"prevent_reschedule_on_lost"},
		unsupportedBlocks: []string{
			"volume", "scaling", "consul", "vault", "disconnect"},
	}

	networkSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: "mode"}},
			Blocks:     []hcl.BlockHeaderSchema{{Type: "port", LabelNames: []string{"label"}}},
		},
		unsupportedAttrs:  []string{"hostname", "mbits"},
		unsupportedBlocks: []string{"dns", "cni"},
	}

	portSchema = bodySchema{
		BodySchema:       hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "static"}, {Name: "to"}}},
		unsupportedAttrs: []string{"host_network", "ignore_collision"},
	}

	taskSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "driver"}, {Name: "user"}, {Name: "kill_timeout"}, {Name: "kill_signal"},
				{Name: "env"}, {Name: "meta"},
			},
			Blocks: []hcl.BlockHeaderSchema{
				{Type: "config"}, {Type: "env"}, {Type: "meta"}, {Type: "resources"}, {Type: "constraint"},
				{Type: "affinity"}, {Type: "logs"}, {Type: "service"}, {Type: "template"},
				{Type: "lifecycle"}, {Type: "dispatch_payload"},
			},
		},
		unsupportedAttrs: []string{"leader", "kind", "shutdown_delay"},
		unsupportedBlocks: []string{"artifact", "vault", "consul",
			"volume_mount", "scaling", "csi_plugin", "identity", "restart",
			"action", "schedule"},
	}

	lifecycleSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "hook", Required: true}, {Name: "sidecar"}}},
	}

	logsSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "max_files"}, {Name: "max_file_size"}, {Name: "disabled"},
		}},
		unsupportedAttrs: []string{"enabled"},
	}

	rescheduleSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "attempts"}, {Name: "interval"}, {Name: "delay"}, {Name: "delay_function"},
			{Name: "max_delay"}, {Name: "unlimited"},
		}},
	}

	migrateSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "max_parallel"}, {Name: "health_check"}, {Name: "min_healthy_time"}, {Name: "healthy_deadline"},
		}},
	}

	restartSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "attempts"}, {Name: "interval"}, {Name: "delay"}, {Name: "mode"},
		}},
		unsupportedAttrs: []string{"render_templates"},
	}

	updateSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "max_parallel"}, {Name: "health_check"}, {Name: "min_healthy_time"}, {Name: "healthy_deadline"},
			{Name: "progress_deadline"}, {Name: "auto_revert"}, {Name: "auto_promote"}, {Name: "canary"},
			{Name: "stagger"},
		}},
	}

	ephemeralDiskSchema = bodySchema{
		BodySchema:       hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "size"}}},
		unsupportedAttrs: []string{"migrate", "sticky"},
	}

	resourcesSchema = bodySchema{
		BodySchema:        hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "cpu"}, {Name: "cores"}, {Name: "memory"}, {Name: "memory_max"}}},
		unsupportedAttrs:  []string{"secrets", "disk", "iops"},
		unsupportedBlocks: []string{"device", "network", "numa"},
	}

	constraintSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "attribute"}, {Name: "operator"}, {Name: "value"},
			// Nomad's shorthands: `version = ">= 1.2"` is operator "version" with that value, ...
			{Name: "version"}, {Name: "semver"}, {Name: "regexp"}, {Name: "set_contains"},
			{Name: "distinct_hosts"}, {Name: "distinct_property"},
		}},
	}
)

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
	}{{"region", &job.Region}, {"namespace", &job.Namespace}, {"node_pool", &job.NodePool}} {
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
	if a := c.Attributes["all_at_once"]; a != nil {
		loc.field("all_at_once", a.Range)
		if v, ok := d.value(a, cty.Bool); ok {
			job.AllAtOnce = v.True()
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
	// A job-level reschedule block is every group's starting point (Nomad's
	// merge); a group's own block overrides the fields it sets.
	// So are job-level migrate and update blocks.
	var inherited groupDefaults
	for _, rb := range d.atMostOne(c.Blocks.OfType("reschedule")) {
		inherited.reschedule = d.reschedule(rb, structs.DefaultReschedulePolicy(job.Type), loc)
	}
	for _, mb := range d.atMostOne(c.Blocks.OfType("migrate")) {
		inherited.migrate = d.migrate(mb, structs.DefaultMigrateStrategy(job.Type), loc)
	}
	for _, ub := range d.atMostOne(c.Blocks.OfType("update")) {
		job.Update = d.update(ub, structs.DefaultUpdateStrategy(), loc)
	}
	inherited.update = job.Update
	for _, pb := range d.atMostOne(c.Blocks.OfType("periodic")) {
		job.Periodic = d.periodic(pb, loc)
	}
	for _, pb := range d.atMostOne(c.Blocks.OfType("parameterized")) {
		job.ParameterizedJob = d.parameterized(pb, loc)
	}
	for _, ub := range d.atMostOne(c.Blocks.OfType("ui")) {
		job.UI = d.ui(ub, loc)
	}
	for _, gb := range c.Blocks.OfType("group") {
		job.TaskGroups = append(job.TaskGroups, d.group(gb, job.Type, inherited))
	}
	return job
}

// groupDefaults are the job-level blocks every group starts from.
type groupDefaults struct {
	reschedule *structs.ReschedulePolicy
	migrate    *structs.MigrateStrategy
	update     *structs.UpdateStrategy
}

func (d *decoder) group(b *hcl.Block, jobType structs.JobType, inherited groupDefaults) *structs.TaskGroup {
	tg := &structs.TaskGroup{Name: b.Labels[0], Count: 1, ReschedulePolicy: inherited.reschedule.Copy(),
		Migrate: inherited.migrate.Copy()}
	loc := d.loc.addGroup(b)
	// A group without its own update block runs the job's (Canonicalize
	// copies it): its problems are the job block's, and are shown there.
	for name, r := range d.loc.job.fields {
		if strings.HasPrefix(name, "update") {
			loc.field(name, r)
		}
	}

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
	for _, rb := range d.atMostOne(c.Blocks.OfType("reschedule")) {
		base := tg.ReschedulePolicy
		if base == nil {
			base = structs.DefaultReschedulePolicy(jobType)
		}
		tg.ReschedulePolicy = d.reschedule(rb, base, loc)
	}
	for _, mb := range d.atMostOne(c.Blocks.OfType("migrate")) {
		base := tg.Migrate
		if base == nil {
			base = structs.DefaultMigrateStrategy(jobType)
		}
		tg.Migrate = d.migrate(mb, base, loc)
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
	for _, nb := range d.atMostOne(c.Blocks.OfType("network")) {
		tg.Networks = []*structs.NetworkResource{d.network(nb, loc)}
	}
	tg.Affinities = d.affinities(c.Blocks.OfType("affinity"), loc)
	tg.Spreads = d.spreads(c.Blocks.OfType("spread"), loc)
	tg.Services = d.services(c.Blocks.OfType("service"), loc)
	for _, ub := range d.atMostOne(c.Blocks.OfType("update")) {
		base := inherited.update.Copy()
		if base == nil {
			base = structs.DefaultUpdateStrategy()
		}
		tg.Update = d.update(ub, base, loc)
	}
	for _, tb := range c.Blocks.OfType("task") {
		tg.Tasks = append(tg.Tasks, d.task(tb))
	}
	return tg
}

// network decodes a group's network block: `port "label" {}` is a dynamic
// port, `port "label" { static = N }` a static one, `to` the port the task
// listens on. Only mode "host" is supported; Nomad's other modes are reported
// at the mode.
func (d *decoder) network(b *hcl.Block, loc *scope) *structs.NetworkResource {
	loc.field("network", b.DefRange)
	n := &structs.NetworkResource{Mode: structs.NetworkModeHost}
	c := d.content(b.Body, networkSchema)
	if a := c.Attributes["mode"]; a != nil {
		loc.field("network.mode", a.Range)
		if mode, ok := d.str(a); ok {
			switch {
			case mode == structs.NetworkModeHost:
			case mode == "bridge" || mode == "none" || strings.HasPrefix(mode, "cni/"):
				d.invalid(a, "mode %q is not supported yet; use %q", mode, structs.NetworkModeHost)
			default:
				d.invalid(a, "unknown mode %q; use %q", mode, structs.NetworkModeHost)
			}
			n.Mode = mode
		}
	}
	for _, pb := range c.Blocks.OfType("port") {
		p := structs.Port{Label: pb.Labels[0]}
		prefix := fmt.Sprintf("network.port[%q]", p.Label)
		loc.field(prefix, pb.LabelRanges[0])
		pc := d.content(pb.Body, portSchema)
		static := pc.Attributes["static"]
		if static != nil {
			loc.field(prefix+".static", static.Range)
			p.Value, _ = d.integer(static)
		}
		if a := pc.Attributes["to"]; a != nil {
			loc.field(prefix+".to", a.Range)
			p.To, _ = d.integer(a)
		}
		if static != nil {
			n.ReservedPorts = append(n.ReservedPorts, p)
		} else {
			n.DynamicPorts = append(n.DynamicPorts, p)
		}
	}
	return n
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

// reschedule decodes a reschedule block over base (a job-level block, or the
// default policy of the job's type), for the same reason as restart; setting
// attempts or interval without unlimited makes the policy limited. In a
// system job there is no default: the block yields a policy that validation
// rejects, naming the field.
func (d *decoder) reschedule(b *hcl.Block, base *structs.ReschedulePolicy, loc *scope) *structs.ReschedulePolicy {
	loc.field("reschedule", b.DefRange)
	p := base.Copy()
	if p == nil {
		p = &structs.ReschedulePolicy{DelayFunction: structs.DelayConstant}
	}
	c := d.content(b.Body, rescheduleSchema)
	if a := c.Attributes["attempts"]; a != nil {
		loc.field("reschedule.attempts", a.Range)
		if n, ok := d.integer(a); ok {
			p.Attempts = n
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"interval", &p.Interval}, {"delay", &p.Delay}, {"max_delay", &p.MaxDelay}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("reschedule."+f.name, a.Range)
			if dur, ok := d.duration(a); ok {
				*f.dst = dur
			}
		}
	}
	if a := c.Attributes["delay_function"]; a != nil {
		loc.field("reschedule.delay_function", a.Range)
		if s, ok := d.str(a); ok {
			p.DelayFunction = s
		}
	}
	// A block that bounds the attempts means them: `attempts = 2` in a
	// service job (whose default is unlimited) needs no `unlimited = false`.
	if c.Attributes["attempts"] != nil || c.Attributes["interval"] != nil {
		p.Unlimited = false
	}
	if a := c.Attributes["unlimited"]; a != nil {
		loc.field("reschedule.unlimited", a.Range)
		if v, ok := d.value(a, cty.Bool); ok {
			p.Unlimited = v.True()
		}
	}
	return p
}

// migrate decodes a migrate block over base (a job-level block, or the
// service default). Outside service jobs there is no default: the block
// yields a strategy that validation rejects, naming the field.
func (d *decoder) migrate(b *hcl.Block, base *structs.MigrateStrategy, loc *scope) *structs.MigrateStrategy {
	loc.field("migrate", b.DefRange)
	m := base.Copy()
	if m == nil {
		m = structs.DefaultMigrateStrategy(structs.JobTypeService)
	}
	c := d.content(b.Body, migrateSchema)
	if a := c.Attributes["max_parallel"]; a != nil {
		loc.field("migrate.max_parallel", a.Range)
		if n, ok := d.integer(a); ok {
			m.MaxParallel = n
		}
	}
	if a := c.Attributes["health_check"]; a != nil {
		loc.field("migrate.health_check", a.Range)
		if s, ok := d.str(a); ok {
			m.HealthCheck = s
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"min_healthy_time", &m.MinHealthyTime}, {"healthy_deadline", &m.HealthyDeadline}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("migrate."+f.name, a.Range)
			if dur, ok := d.duration(a); ok {
				*f.dst = dur
			}
		}
	}
	return m
}

// update decodes an update block over base (Nomad's defaults for a job's
// block; the job's block for a group's), so that the fields it leaves out
// keep base's values: a group's block overrides the job's field by field.
func (d *decoder) update(b *hcl.Block, base *structs.UpdateStrategy, loc *scope) *structs.UpdateStrategy {
	loc.field("update", b.DefRange)
	u := base
	c := d.content(b.Body, updateSchema)
	for _, f := range []struct {
		name string
		dst  *int
	}{{"max_parallel", &u.MaxParallel}, {"canary", &u.Canary}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("update."+f.name, a.Range)
			if n, ok := d.integer(a); ok {
				*f.dst = n
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{
		{"min_healthy_time", &u.MinHealthyTime}, {"healthy_deadline", &u.HealthyDeadline},
		{"progress_deadline", &u.ProgressDeadline}, {"stagger", &u.Stagger},
	} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("update."+f.name, a.Range)
			if dur, ok := d.duration(a); ok {
				*f.dst = dur
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"auto_revert", &u.AutoRevert}, {"auto_promote", &u.AutoPromote}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("update."+f.name, a.Range)
			if v, ok := d.value(a, cty.Bool); ok {
				*f.dst = v.True()
			}
		}
	}
	if a := c.Attributes["health_check"]; a != nil {
		loc.field("update.health_check", a.Range)
		if s, ok := d.str(a); ok {
			u.HealthCheck = s
		}
	}
	return u
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
			loc.field("config."+a.Name, a.Range)
			v, diags := d.ev.eval(a.Expr)
			d.diags = append(d.diags, diags...)
			if !diags.HasErrors() && v.IsWhollyKnown() {
				t.Config[a.Name] = ctyToGo(v)
			}
		}
	}
	t.Env = d.mapAttrOrBlock(c, "env")
	t.Meta = d.mapAttrOrBlock(c, "meta")
	mapLocations(loc, c, "env", "meta")
	for _, rb := range d.atMostOne(c.Blocks.OfType("resources")) {
		loc.field("resources", rb.DefRange)
		t.Resources = &structs.Resources{}
		rc := d.content(rb.Body, resourcesSchema)
		for _, f := range []struct {
			name string
			dst  *int
		}{{"cpu", &t.Resources.CPU}, {"cores", &t.Resources.Cores}, {"memory", &t.Resources.MemoryMB}, {"memory_max", &t.Resources.MemoryMaxMB}} {
			if a := rc.Attributes[f.name]; a != nil {
				loc.field("resources."+f.name, a.Range)
				if n, ok := d.integer(a); ok {
					*f.dst = n
				}
			}
		}
	}
	for _, lb := range d.atMostOne(c.Blocks.OfType("logs")) {
		t.LogConfig = d.logs(lb, loc)
	}
	for _, lb := range d.atMostOne(c.Blocks.OfType("lifecycle")) {
		t.Lifecycle = d.lifecycle(lb, loc)
	}
	for _, db := range d.atMostOne(c.Blocks.OfType("dispatch_payload")) {
		loc.field("dispatch_payload", db.DefRange)
		t.DispatchPayload = &structs.DispatchPayloadConfig{}
		if a := d.content(db.Body, dispatchPayloadSchema).Attributes["file"]; a != nil {
			loc.field("dispatch_payload.file", a.Range)
			t.DispatchPayload.File, _ = d.str(a)
		}
	}
	t.Constraints = d.constraints(c.Blocks.OfType("constraint"), loc)
	t.Affinities = d.affinities(c.Blocks.OfType("affinity"), loc)
	t.Services = d.services(c.Blocks.OfType("service"), loc)
	t.Templates = d.templates(c.Blocks.OfType("template"), loc)
	return t
}

// periodic decodes a job's periodic block (Nomad's: enabled unless
// enabled = false); Validate checks the cron expressions and the time zone,
// and the errors point at each.
func (d *decoder) periodic(b *hcl.Block, loc *scope) *structs.PeriodicConfig {
	loc.field("periodic", b.DefRange)
	p := &structs.PeriodicConfig{Enabled: true}
	c := d.content(b.Body, periodicSchema)
	if a := c.Attributes["cron"]; a != nil {
		loc.field("periodic.cron", a.Range)
		p.Spec, _ = d.str(a)
	}
	if a := c.Attributes["crons"]; a != nil {
		loc.field("periodic.crons", a.Range)
		if specs, ok := d.stringList(a); ok {
			p.Specs = specs
			d.listElementLocations(loc, "periodic.crons", a)
		}
	}
	if a := c.Attributes["time_zone"]; a != nil {
		loc.field("periodic.time_zone", a.Range)
		p.TimeZone, _ = d.str(a)
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"prohibit_overlap", &p.ProhibitOverlap}, {"enabled", &p.Enabled}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("periodic."+f.name, a.Range)
			if v, ok := d.value(a, cty.Bool); ok {
				*f.dst = v.True()
			}
		}
	}
	return p
}

// ui decodes a job's ui block (Nomad's web UI presentation: a description
// and links), kept in the job as Nomad keeps it.
func (d *decoder) ui(b *hcl.Block, loc *scope) *structs.JobUIConfig {
	loc.field("ui", b.DefRange)
	u := &structs.JobUIConfig{}
	c := d.content(b.Body, uiSchema)
	fields{d: d, c: c, loc: loc, prefix: "ui"}.str("description", &u.Description)
	for i, lb := range c.Blocks.OfType("link") {
		field := fmt.Sprintf("ui.link[%d]", i)
		loc.field(field, lb.DefRange)
		l := &structs.JobUILink{}
		f := fields{d: d, c: d.content(lb.Body, uiLinkSchema), loc: loc, prefix: field}
		f.str("label", &l.Label)
		f.str("url", &l.URL)
		u.Links = append(u.Links, l)
	}
	return u
}

// parameterized decodes a job's parameterized block.
func (d *decoder) parameterized(b *hcl.Block, loc *scope) *structs.ParameterizedJobConfig {
	loc.field("parameterized", b.DefRange)
	p := &structs.ParameterizedJobConfig{}
	c := d.content(b.Body, parameterizedSchema)
	if a := c.Attributes["payload"]; a != nil {
		loc.field("parameterized.payload", a.Range)
		p.Payload, _ = d.str(a)
	}
	for _, f := range []struct {
		name string
		dst  *[]string
	}{{"meta_required", &p.MetaRequired}, {"meta_optional", &p.MetaOptional}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("parameterized."+f.name, a.Range)
			if l, ok := d.stringList(a); ok {
				*f.dst = l
				d.listElementLocations(loc, "parameterized."+f.name, a)
			}
		}
	}
	return p
}

// listElementLocations records where each element of a list attribute
// written as a literal is, as field[i], so that an error about one element
// points at it.
func (d *decoder) listElementLocations(loc *scope, field string, a *hcl.Attribute) {
	if tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok {
		for i, e := range tuple.Exprs {
			loc.field(fmt.Sprintf("%s[%d]", field, i), e.Range())
		}
	}
}

// lifecycle decodes a task's lifecycle block; Validate checks the hook.
func (d *decoder) lifecycle(b *hcl.Block, loc *scope) *structs.TaskLifecycle {
	loc.field("lifecycle", b.DefRange)
	l := &structs.TaskLifecycle{}
	c := d.content(b.Body, lifecycleSchema)
	if a := c.Attributes["hook"]; a != nil {
		loc.field("lifecycle.hook", a.Range)
		l.Hook, _ = d.str(a)
	}
	if a := c.Attributes["sidecar"]; a != nil {
		loc.field("lifecycle.sidecar", a.Range)
		if v, ok := d.value(a, cty.Bool); ok {
			l.Sidecar = v.True()
		}
	}
	return l
}

// logs decodes a task's logs block; what it leaves out is Nomad's default
// (10 files of 10 MB).
func (d *decoder) logs(b *hcl.Block, loc *scope) *structs.LogConfig {
	loc.field("logs", b.DefRange)
	l := structs.DefaultLogConfig()
	c := d.content(b.Body, logsSchema)
	for _, f := range []struct {
		name string
		dst  *int
	}{{"max_files", &l.MaxFiles}, {"max_file_size", &l.MaxFileSizeMB}} {
		if a := c.Attributes[f.name]; a != nil {
			loc.field("logs."+f.name, a.Range)
			if n, ok := d.integer(a); ok {
				*f.dst = n
			}
		}
	}
	if a := c.Attributes["disabled"]; a != nil {
		loc.field("logs.disabled", a.Range)
		if v, ok := d.value(a, cty.Bool); ok {
			l.Disabled = v.True()
		}
	}
	return l
}

// predicate decodes the attribute, value and operator of a constraint or
// affinity block at prefix, normalizing the operator ("==" and "is" to "=",
// "not" to "!="; "=" when absent). An unknown operator is an error at it;
// opAttr is the operator attribute, nil when absent.
func (d *decoder) predicate(c *hcl.BodyContent, loc *scope, prefix string) (ltarget, rtarget, op string, opAttr *hcl.Attribute) {
	op = structs.ConstraintEqual
	if a := c.Attributes["attribute"]; a != nil {
		loc.field(prefix+".attribute", a.Range)
		ltarget, _ = d.str(a)
	}
	if a := c.Attributes["value"]; a != nil {
		loc.field(prefix+".value", a.Range)
		rtarget, _ = d.str(a)
	}
	if opAttr = c.Attributes["operator"]; opAttr != nil {
		loc.field(prefix+".operator", opAttr.Range)
		if raw, ok := d.str(opAttr); ok {
			if canonical, known := structs.NormalizeConstraintOperand(raw); known {
				op = canonical
			} else {
				d.invalid(opAttr, "unknown operator %q; use one of %s", raw, supportedOperators)
			}
		}
	}
	return ltarget, rtarget, op, opAttr
}

// constraints decodes constraint blocks, normalizing the operator ("==" and
// "is" to "=", "not" to "!="). An unknown operator is an error here, at the
// operator; the other rules (a value that must be set, a regexp that must
// compile, ...) are Job.Validate's, placed at the block's fields by the caller.
//
// Nomad's shorthand attributes are accepted: `version`, `semver`, `regexp`
// and `set_contains` set the operator and the value (`regexp = "amd.*"`);
// `distinct_hosts = true` sets the operator distinct_hosts (false turns it
// off); `distinct_property = "${meta.rack}"` sets the operator
// distinct_property and the attribute, `value` being the limit.
func (d *decoder) constraints(blocks hcl.Blocks, loc *scope) []*structs.Constraint {
	var out []*structs.Constraint
	for i, b := range blocks {
		prefix := fmt.Sprintf("constraint[%d]", i)
		loc.field(prefix, b.DefRange)
		con := &structs.Constraint{}
		c := d.content(b.Body, constraintSchema)
		con.LTarget, con.RTarget, con.Operand, _ = d.predicate(c, loc, prefix)
		for _, op := range []string{structs.ConstraintVersion, structs.ConstraintSemver, structs.ConstraintRegex, structs.ConstraintSetContains} {
			if a := c.Attributes[op]; a != nil {
				loc.field(prefix+".operator", a.Range)
				loc.field(prefix+".value", a.Range)
				con.Operand = op
				con.RTarget, _ = d.str(a)
			}
		}
		if a := c.Attributes["distinct_hosts"]; a != nil {
			loc.field(prefix+".operator", a.Range)
			loc.field(prefix+".value", a.Range)
			con.Operand = structs.ConstraintDistinctHosts
			if v, ok := d.value(a, cty.Bool); ok {
				con.RTarget = strconv.FormatBool(v.True())
			}
		}
		if a := c.Attributes["distinct_property"]; a != nil {
			loc.field(prefix+".operator", a.Range)
			loc.field(prefix+".attribute", a.Range)
			con.Operand = structs.ConstraintDistinctProperty
			con.LTarget, _ = d.str(a)
		}
		out = append(out, con)
	}
	return out
}

var supportedOperators = strings.Join(quoted(structs.ConstraintOperands), ", ")

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// mapLocations records where the env or meta of a block were set: the
// attribute, or each key of the block (as structs names it: env["KEY"]).
func mapLocations(loc *scope, c *hcl.BodyContent, names ...string) {
	for _, name := range names {
		if a := c.Attributes[name]; a != nil {
			loc.field(name, a.Range)
			continue
		}
		for _, b := range c.Blocks.OfType(name) {
			loc.field(name, b.DefRange)
			if attrs, diags := b.Body.JustAttributes(); !diags.HasErrors() {
				for k, a := range attrs {
					loc.field(name+"["+strconv.Quote(k)+"]", a.Range)
				}
			}
		}
	}
}
