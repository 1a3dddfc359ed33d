package acl

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Policy levels of a namespace, node, agent or operator block.
const (
	PolicyDeny  = "deny"
	PolicyRead  = "read"
	PolicyWrite = "write"
	// PolicyScale (namespaces only) is read plus scaling.
	PolicyScale = "scale"
)

// Namespace capabilities (Nomad's names). CapDeny in a block denies the
// namespace whatever other blocks or policies grant.
const (
	CapDeny                = "deny"
	CapListJobs            = "list-jobs"
	CapParseJob            = "parse-job"
	CapReadJob             = "read-job"
	CapSubmitJob           = "submit-job"
	CapDispatchJob         = "dispatch-job"
	CapReadLogs            = "read-logs"
	CapReadFS              = "read-fs"
	CapAllocExec           = "alloc-exec"
	CapAllocNodeExec       = "alloc-node-exec"
	CapAllocLifecycle      = "alloc-lifecycle"
	CapScaleJob            = "scale-job"
	CapReadJobScaling      = "read-job-scaling"
	CapListScalingPolicies = "list-scaling-policies"
	CapReadScalingPolicy   = "read-scaling-policy"
	CapSubmitRecommend     = "submit-recommendation"
	CapCSIListVolume       = "csi-list-volume"
	CapCSIReadVolume       = "csi-read-volume"
	CapCSIWriteVolume      = "csi-write-volume"
	CapCSIMountVolume      = "csi-mount-volume"
	CapCSIRegisterPlugin   = "csi-register-plugin"
	CapSentinelOverride    = "sentinel-override"
)

// knownCaps are the capabilities a policy may list.
var knownCaps = []string{
	CapDeny, CapListJobs, CapParseJob, CapReadJob, CapSubmitJob, CapDispatchJob,
	CapReadLogs, CapReadFS, CapAllocExec, CapAllocNodeExec, CapAllocLifecycle,
	CapScaleJob, CapReadJobScaling, CapListScalingPolicies, CapReadScalingPolicy,
	CapSubmitRecommend, CapCSIListVolume, CapCSIReadVolume, CapCSIWriteVolume,
	CapCSIMountVolume, CapCSIRegisterPlugin, CapSentinelOverride,
}

// capsOfPolicy expands a namespace policy level into capabilities, as Nomad
// does: read lists and reads, scale adds scaling, write adds everything a
// job's owner does (submit, logs, exec, lifecycle).
func capsOfPolicy(level string) []string {
	read := []string{CapListJobs, CapParseJob, CapReadJob, CapCSIListVolume, CapCSIReadVolume,
		CapReadJobScaling, CapListScalingPolicies, CapReadScalingPolicy}
	switch level {
	case PolicyDeny:
		return []string{CapDeny}
	case PolicyRead:
		return read
	case PolicyScale:
		return append(read, CapScaleJob)
	case PolicyWrite:
		return append(read, CapScaleJob, CapSubmitJob, CapDispatchJob, CapReadLogs, CapReadFS,
			CapAllocExec, CapAllocLifecycle, CapCSIWriteVolume, CapCSIMountVolume, CapSubmitRecommend)
	}
	return nil
}

// Policy is a parsed policy document.
type Policy struct {
	Namespaces []*NamespaceRule
	Node       string // "" (no rule), deny, read or write
	Agent      string
	Operator   string
}

// NamespaceRule is one namespace block: Name may hold * wildcards.
type NamespaceRule struct {
	Name         string
	Policy       string
	Capabilities []string
}

type hclPolicy struct {
	Namespaces []*hclNamespace `hcl:"namespace,block"`
	Node       []*hclLevel     `hcl:"node,block"`
	Agent      []*hclLevel     `hcl:"agent,block"`
	Operator   []*hclLevel     `hcl:"operator,block"`
}

type hclNamespace struct {
	Name         string    `hcl:"name,label"`
	Policy       *string   `hcl:"policy,optional"`
	Capabilities *[]string `hcl:"capabilities,optional"`
	Range        hcl.Range `hcl:",def_range"`
}

type hclLevel struct {
	Policy string    `hcl:"policy"`
	Range  hcl.Range `hcl:",def_range"`
}

// MaxPolicySize bounds a policy's source (bytes): policies live in the
// replicated state.
const MaxPolicySize = 64 << 10

// Parse parses a policy's HCL source; filename names it in errors, which
// carry file:line:col and name the block, the value and the rule. Every
// problem is reported at once. A policy must grant or deny something.
func Parse(filename, src string) (*Policy, error) {
	if len(src) > MaxPolicySize {
		return nil, fmt.Errorf("%s: policy is %d bytes: must be at most %d", filename, len(src), MaxPolicySize)
	}
	file, diags := hclsyntax.ParseConfig([]byte(src), filename, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	var hp hclPolicy
	if diags := gohcl.DecodeBody(file.Body, nil, &hp); diags.HasErrors() {
		return nil, diagError(diags)
	}
	var errs []error
	at := func(r hcl.Range) string { return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column) }
	p := &Policy{}
	seen := map[string]bool{}
	for _, ns := range hp.Namespaces {
		where := fmt.Sprintf("%s: namespace %q", at(ns.Range), ns.Name)
		if !validNamespaceName(ns.Name) {
			errs = append(errs, fmt.Errorf("%s: name must be letters, digits, '-', '_', '.' or '*'", where))
		}
		if seen[ns.Name] {
			errs = append(errs, fmt.Errorf("%s: declared twice", where))
		}
		seen[ns.Name] = true
		rule := &NamespaceRule{Name: ns.Name}
		if ns.Policy != nil {
			rule.Policy = *ns.Policy
			if capsOfPolicy(rule.Policy) == nil {
				errs = append(errs, fmt.Errorf("%s: policy = %q: must be deny, read, scale or write", where, rule.Policy))
			}
		}
		if ns.Capabilities != nil {
			rule.Capabilities = *ns.Capabilities
			for _, c := range rule.Capabilities {
				if !slices.Contains(knownCaps, c) {
					errs = append(errs, fmt.Errorf("%s: capability %q: unknown (known: %s)", where, c, strings.Join(knownCaps, ", ")))
				}
			}
		}
		if ns.Policy == nil && ns.Capabilities == nil {
			errs = append(errs, fmt.Errorf("%s: needs a policy or capabilities", where))
		}
		p.Namespaces = append(p.Namespaces, rule)
	}
	level := func(name string, blocks []*hclLevel, dst *string) {
		for i, b := range blocks {
			if i > 0 {
				errs = append(errs, fmt.Errorf("%s: %s: declared twice", at(b.Range), name))
				continue
			}
			switch b.Policy {
			case PolicyDeny, PolicyRead, PolicyWrite:
				*dst = b.Policy
			default:
				errs = append(errs, fmt.Errorf("%s: %s: policy = %q: must be deny, read or write", at(b.Range), name, b.Policy))
			}
		}
	}
	level("node", hp.Node, &p.Node)
	level("agent", hp.Agent, &p.Agent)
	level("operator", hp.Operator, &p.Operator)
	if len(errs) == 0 && len(p.Namespaces) == 0 && p.Node == "" && p.Agent == "" && p.Operator == "" {
		errs = append(errs, fmt.Errorf("%s: the policy grants nothing: add a namespace, node, agent or operator block", filename))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

func validNamespaceName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '*':
		default:
			return false
		}
	}
	return true
}

// diagError lists HCL diagnostics one per line as file:line:col: summary; detail.
func diagError(diags hcl.Diagnostics) error {
	var errs []error
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += "; " + d.Detail
		}
		if d.Subject != nil {
			msg = fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, msg)
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}
