package allocrunner

import (
	"maps"
	"regexp"
	"strings"

	"github.com/orch-io/orch/structs"
)

// interpolationRe matches one ${name} reference; names are what Nomad's
// client accepts there: letters, digits, '_', '-', '.', '[' and ']'.
var interpolationRe = regexp.MustCompile(`\$\{([A-Za-z0-9_.\-\[\]]+)\}`)

// interpolate replaces every ${name} in s whose name vars holds by its value.
// A reference vars does not hold is left as written, as Nomad leaves it. Pure.
func interpolate(s string, vars map[string]string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return interpolationRe.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := vars[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}

// interpolateValue returns v, a task config value as the job file decoder
// builds it, with every string in it interpolated. Maps and slices are
// copied, never changed in place: the allocation's job is shared.
func interpolateValue(v any, vars map[string]string) any {
	switch v := v.(type) {
	case string:
		return interpolate(v, vars)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = interpolate(s, vars)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = interpolateValue(e, vars)
		}
		return out
	case map[string]any:
		return interpolateConfig(v, vars)
	case []map[string]any:
		out := make([]map[string]any, len(v))
		for i, m := range v {
			out[i] = interpolateConfig(m, vars)
		}
		return out
	case map[string]string:
		return interpolateStrings(v, vars)
	default:
		return v
	}
}

// interpolateConfig returns a copy of a task's config with ${...} interpolated
// in every string value (keys are left alone, as Nomad leaves them).
func interpolateConfig(cfg map[string]any, vars map[string]string) map[string]any {
	if cfg == nil {
		return nil
	}
	out := make(map[string]any, len(cfg))
	for k, v := range cfg {
		out[k] = interpolateValue(v, vars)
	}
	return out
}

// interpolateStrings returns a copy of m with its values interpolated.
func interpolateStrings(m map[string]string, vars map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = interpolate(v, vars)
	}
	return out
}

// nodeVars are the node's interpolation variables: attr.<name> for each
// fingerprinted attribute, meta.<key> for each node meta key, and node.*
// (unique.id, unique.name, datacenter, region, class, pool), as Nomad names
// them. Region is the servers' and not on the node; pass it in.
func nodeVars(n *structs.Node, region string) map[string]string {
	vars := map[string]string{}
	if n == nil {
		return vars
	}
	for k, v := range n.Attributes {
		vars["attr."+k] = v
	}
	for k, v := range n.Meta {
		vars["meta."+k] = v
	}
	vars["node.unique.id"] = n.ID
	vars["node.unique.name"] = n.Name
	vars["node.datacenter"] = n.Datacenter
	vars["node.class"] = n.NodeClass
	vars["node.pool"] = n.Pool()
	if region != "" {
		vars["node.region"] = region
	}
	return vars
}

// interpolationVars is what ${...} may name in a task: the variables of its
// environment ("KEY=value" entries) and the node's (nodeVars).
func interpolationVars(env []string, node map[string]string) map[string]string {
	vars := make(map[string]string, len(env)+len(node))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	maps.Copy(vars, node)
	return vars
}

// taskMeta is the meta a task sees: the job's, overridden by its group's,
// overridden by its own.
func taskMeta(a *structs.Allocation, t *structs.Task) map[string]string {
	meta := map[string]string{}
	if a.Job != nil {
		maps.Copy(meta, a.Job.Meta)
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
			maps.Copy(meta, tg.Meta)
		}
	}
	maps.Copy(meta, t.Meta)
	return meta
}
