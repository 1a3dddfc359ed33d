package jobspec

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/orch-io/orch/structs"
	"github.com/zclconf/go-cty/cty"
)

// The service, check, check_restart and template blocks, in Nomad's syntax:
//
//	service {
//	  name = "${NOMAD_JOB_NAME}-web"  port = "http"  tags = ["v1"]  provider = "nomad"
//	  check_restart { limit = 3 }     # its checks' default
//	  check { type = "http"  path = "/health"  interval = "10s"  timeout = "2s"
//	          check_restart { limit = 3  grace = "30s" } }
//	}
//	template { data = "..."  destination = "local/app.conf"  change_mode = "restart" }
var (
	serviceSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "name"}, {Name: "port"}, {Name: "tags"}, {Name: "canary_tags"}, {Name: "address"},
				{Name: "address_mode"}, {Name: "provider"}, {Name: "meta"}, {Name: "canary_meta"}, {Name: "task"}, {Name: "on_update"},
			},
			Blocks: []hcl.BlockHeaderSchema{{Type: "check"}, {Type: "meta"}, {Type: "canary_meta"}, {Type: "check_restart"}},
		},
		unsupportedAttrs:  []string{"enable_tag_override", "tagged_addresses", "kind", "cluster"},
		unsupportedBlocks: []string{"connect", "identity", "weights"},
	}
	checkSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "name"}, {Name: "type"}, {Name: "command"}, {Name: "args"}, {Name: "path"},
				{Name: "method"}, {Name: "protocol"}, {Name: "port"}, {Name: "address_mode"},
				{Name: "interval"}, {Name: "timeout"}, {Name: "initial_status"},
				{Name: "success_before_passing"}, {Name: "failures_before_critical"}, {Name: "on_update"},
				{Name: "grpc_service"}, {Name: "grpc_use_tls"}, {Name: "tls_skip_verify"}, {Name: "task"}, {Name: "body"},
			},
			Blocks: []hcl.BlockHeaderSchema{{Type: "header"}, {Type: "check_restart"}},
		},
		// expose needs Connect; the others are Consul's.
		unsupportedAttrs: []string{"expose", "tls_server_name", "notes"},
		why: map[string]string{"expose": "it exposes the check through a Consul Connect sidecar proxy, and orch has no Connect; " +
			"point the check at a port of the group's network instead"},
	}
	checkRestartSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "limit"}, {Name: "grace"}, {Name: "ignore_warnings"},
		}},
	}
	templateSchema = bodySchema{
		BodySchema: hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "data"}, {Name: "source"}, {Name: "destination"}, {Name: "change_mode"},
				{Name: "change_signal"}, {Name: "env"}, {Name: "perms"}, {Name: "splay"},
				{Name: "left_delimiter"}, {Name: "right_delimiter"}, {Name: "error_on_missing_key"},
			},
			Blocks: []hcl.BlockHeaderSchema{{Type: "change_script"}, {Type: "wait"}},
		},
		unsupportedAttrs: []string{"uid", "gid", "vault_grace"},
	}
	waitSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "min"}, {Name: "max"}}},
	}
	changeScriptSchema = bodySchema{
		BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "command"}, {Name: "args"}, {Name: "timeout"}, {Name: "fail_on_error"},
		}},
		unsupportedAttrs: []string{"run_on_first_render"},
	}
)

// fields decodes the attributes of one block into Go values, recording each
// one's location under prefix + "." + its name.
type fields struct {
	d      *decoder
	c      *hcl.BodyContent
	loc    *scope
	prefix string
}

// attr returns the attribute name, recording its location; nil if absent.
func (f fields) attr(name string) *hcl.Attribute {
	a := f.c.Attributes[name]
	if a != nil {
		f.loc.field(f.prefix+"."+name, a.Range)
	}
	return a
}

func (f fields) str(name string, dst *string) {
	if a := f.attr(name); a != nil {
		if s, ok := f.d.str(a); ok {
			*dst = s
		}
	}
}

func (f fields) integer(name string, dst *int) {
	if a := f.attr(name); a != nil {
		if n, ok := f.d.integer(a); ok {
			*dst = n
		}
	}
}

func (f fields) duration(name string, dst *time.Duration) {
	if a := f.attr(name); a != nil {
		if v, ok := f.d.duration(a); ok {
			*dst = v
		}
	}
}

func (f fields) boolean(name string, dst *bool) {
	if a := f.attr(name); a != nil {
		if v, ok := f.d.value(a, cty.Bool); ok {
			*dst = v.True()
		}
	}
}

func (f fields) list(name string, dst *[]string) {
	if a := f.attr(name); a != nil {
		if v, ok := f.d.stringList(a); ok {
			*dst = v
		}
	}
}

// services decodes the service blocks of a group or task.
func (d *decoder) services(blocks hcl.Blocks, loc *scope) []*structs.Service {
	var out []*structs.Service
	for i, b := range blocks {
		prefix := fmt.Sprintf("service[%d]", i)
		loc.field(prefix, b.DefRange)
		s := &structs.Service{}
		c := d.content(b.Body, serviceSchema)
		f := fields{d: d, c: c, loc: loc, prefix: prefix}
		f.str("name", &s.Name)
		f.str("port", &s.PortLabel) // a label or a number, converted to text
		f.list("tags", &s.Tags)
		f.list("canary_tags", &s.CanaryTags)
		f.str("address", &s.Address)
		f.str("address_mode", &s.AddressMode)
		f.str("provider", &s.Provider)
		f.str("task", &s.TaskName)
		var onUpdate string
		f.str("on_update", &onUpdate)
		s.Meta = d.mapAttrOrBlock(c, "meta")
		s.CanaryMeta = d.mapAttrOrBlock(c, "canary_meta")
		restart := d.checkRestart(c, loc, prefix)
		for j, cb := range c.Blocks.OfType("check") {
			ch := d.check(cb, loc, fmt.Sprintf("%s.check[%d]", prefix, j))
			if ch.OnUpdate == "" {
				ch.OnUpdate = onUpdate // the service's on_update is its checks' default
			}
			if ch.CheckRestart == nil && restart != nil {
				rc := *restart // so is its check_restart, as Nomad's
				ch.CheckRestart = &rc
			}
			if ch.TaskName == "" {
				ch.TaskName = s.TaskName
			}
			s.Checks = append(s.Checks, ch)
		}
		out = append(out, s)
	}
	return out
}

func (d *decoder) check(b *hcl.Block, loc *scope, prefix string) *structs.ServiceCheck {
	loc.field(prefix, b.DefRange)
	ch := &structs.ServiceCheck{}
	c := d.content(b.Body, checkSchema)
	f := fields{d: d, c: c, loc: loc, prefix: prefix}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"name", &ch.Name}, {"type", &ch.Type}, {"command", &ch.Command}, {"path", &ch.Path},
		{"method", &ch.Method}, {"protocol", &ch.Protocol}, {"port", &ch.PortLabel},
		{"address_mode", &ch.AddressMode}, {"initial_status", &ch.InitialStatus},
		{"on_update", &ch.OnUpdate}, {"grpc_service", &ch.GRPCService}, {"task", &ch.TaskName}, {"body", &ch.Body},
	} {
		f.str(s.name, s.dst)
	}
	f.list("args", &ch.Args)
	f.duration("interval", &ch.Interval)
	f.duration("timeout", &ch.Timeout)
	f.integer("success_before_passing", &ch.SuccessBeforePassing)
	f.integer("failures_before_critical", &ch.FailuresBeforeCritical)
	f.boolean("grpc_use_tls", &ch.GRPCUseTLS)
	f.boolean("tls_skip_verify", &ch.TLSSkipVerify)
	for _, hb := range d.atMostOne(c.Blocks.OfType("header")) {
		loc.field(prefix+".header", hb.DefRange)
		ch.Header = map[string][]string{}
		for _, a := range d.justAttributes(hb.Body) {
			if vs, ok := d.stringList(a); ok {
				ch.Header[a.Name] = vs
			}
		}
	}
	ch.CheckRestart = d.checkRestart(c, loc, prefix)
	return ch
}

// checkRestart decodes the check_restart block of a check or a service
// (nil without one).
func (d *decoder) checkRestart(c *hcl.BodyContent, loc *scope, prefix string) *structs.CheckRestart {
	var r *structs.CheckRestart
	for _, rb := range d.atMostOne(c.Blocks.OfType("check_restart")) {
		loc.field(prefix+".check_restart", rb.DefRange)
		r = &structs.CheckRestart{}
		rf := fields{d: d, c: d.content(rb.Body, checkRestartSchema), loc: loc, prefix: prefix + ".check_restart"}
		rf.integer("limit", &r.Limit)
		rf.duration("grace", &r.Grace)
		rf.boolean("ignore_warnings", &r.IgnoreWarnings)
	}
	return r
}

// templates decodes a task's template blocks; splay is 5s unless set.
func (d *decoder) templates(blocks hcl.Blocks, loc *scope) []*structs.Template {
	var out []*structs.Template
	for i, b := range blocks {
		prefix := fmt.Sprintf("template[%d]", i)
		loc.field(prefix, b.DefRange)
		t := &structs.Template{Splay: structs.DefaultTemplateSplay}
		c := d.content(b.Body, templateSchema)
		f := fields{d: d, c: c, loc: loc, prefix: prefix}
		f.str("data", &t.EmbeddedTmpl)
		f.str("source", &t.SourcePath)
		f.str("destination", &t.DestPath)
		f.str("change_mode", &t.ChangeMode)
		f.str("change_signal", &t.ChangeSignal)
		f.str("perms", &t.Perms)
		f.str("left_delimiter", &t.LeftDelim)
		f.str("right_delimiter", &t.RightDelim)
		f.duration("splay", &t.Splay)
		f.boolean("env", &t.Envvars)
		f.boolean("error_on_missing_key", &t.ErrMissingKey)
		for _, sb := range d.atMostOne(c.Blocks.OfType("change_script")) {
			loc.field(prefix+".change_script", sb.DefRange)
			t.ChangeScript = &structs.ChangeScript{}
			sf := fields{d: d, c: d.content(sb.Body, changeScriptSchema), loc: loc, prefix: prefix + ".change_script"}
			sf.str("command", &t.ChangeScript.Command)
			sf.list("args", &t.ChangeScript.Args)
			sf.duration("timeout", &t.ChangeScript.Timeout)
			sf.boolean("fail_on_error", &t.ChangeScript.FailOnError)
		}
		for _, wb := range d.atMostOne(c.Blocks.OfType("wait")) {
			loc.field(prefix+".wait", wb.DefRange)
			t.Wait = &structs.TemplateWait{}
			wf := fields{d: d, c: d.content(wb.Body, waitSchema), loc: loc, prefix: prefix + ".wait"}
			wf.duration("min", &t.Wait.Min)
			wf.duration("max", &t.Wait.Max)
		}
		out = append(out, t)
	}
	return out
}
