package agent

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/orch-io/orch/structs"
)

// fileClient is the client block.
type fileClient struct {
	Enabled        *bool         `hcl:"enabled,optional"`
	Servers        *[]string     `hcl:"servers,optional"`
	MinDynamicPort *int          `hcl:"min_dynamic_port,optional"`
	MaxDynamicPort *int          `hcl:"max_dynamic_port,optional"`
	Reserved       *fileReserved `hcl:"reserved,block"`
	NodePool       *string       `hcl:"node_pool,optional"`
	NodeClass      *string       `hcl:"node_class,optional"`
	Meta           *fileMeta     `hcl:"meta,block"`

	GCInterval            hcl.Expression `hcl:"gc_interval,optional"`
	GCMaxAllocs           *int           `hcl:"gc_max_allocs,optional"`
	GCDiskUsageThreshold  *float64       `hcl:"gc_disk_usage_threshold,optional"`
	GCInodeUsageThreshold *float64       `hcl:"gc_inode_usage_threshold,optional"`
	GCParallelDestroys    *int           `hcl:"gc_parallel_destroys,optional"`
}

// fileReserved is Nomad's client { reserved { ... } } block: what of the
// node's resources is held back from allocations (MHz, MB, MB, ports).
type fileReserved struct {
	CPU           hcl.Expression `hcl:"cpu,optional"`
	MemoryMB      hcl.Expression `hcl:"memory,optional"`
	DiskMB        hcl.Expression `hcl:"disk,optional"`
	ReservedPorts *string        `hcl:"reserved_ports,optional"`
	Cores         hcl.Expression `hcl:"cores,optional"`
}

// fileMeta is a meta { key = "value" ... } block: any attribute names.
type fileMeta struct {
	Body hcl.Body `hcl:",remain"`
}

// applyClient sets in n what the client block cl sets. Errors name
// file:line:col.
func applyClient(n *ClientConfig, cl *fileClient) error {
	if cl.Enabled != nil {
		n.Enabled = *cl.Enabled
	}
	if cl.NodePool != nil {
		n.NodePool = *cl.NodePool
	}
	if cl.NodeClass != nil {
		n.NodeClass = *cl.NodeClass
	}
	if cl.Servers != nil {
		n.Servers = *cl.Servers
	}
	if cl.MinDynamicPort != nil {
		n.MinDynamicPort = *cl.MinDynamicPort
	}
	if cl.MaxDynamicPort != nil {
		n.MaxDynamicPort = *cl.MaxDynamicPort
	}
	var errs []error
	if cl.GCMaxAllocs != nil {
		n.GC.MaxAllocs = *cl.GCMaxAllocs
	}
	if cl.GCParallelDestroys != nil {
		n.GC.ParallelDestroys = *cl.GCParallelDestroys
	}
	if cl.GCDiskUsageThreshold != nil {
		n.GC.DiskUsageThreshold = *cl.GCDiskUsageThreshold
	}
	if cl.GCInodeUsageThreshold != nil {
		n.GC.InodeUsageThreshold = *cl.GCInodeUsageThreshold
	}
	errs = append(errs, decodeDuration(cl.GCInterval, "client.gc_interval", &n.GC.Interval))
	if r := cl.Reserved; r != nil {
		if r.ReservedPorts != nil {
			n.ReservedPorts = *r.ReservedPorts
		}
		errs = append(errs,
			decodeAmount(r.CPU, "client.reserved.cpu", &n.ReservedCPU),
			decodeAmount(r.MemoryMB, "client.reserved.memory", &n.ReservedMemoryMB),
			decodeAmount(r.DiskMB, "client.reserved.disk", &n.ReservedDiskMB),
			decodeCoreList(r.Cores, "client.reserved.cores", &n.ReservedCores))
	}
	if cl.Meta != nil {
		meta, err := decodeMeta(cl.Meta.Body, "client.meta")
		errs = append(errs, err)
		if n.Meta == nil {
			n.Meta = map[string]string{}
		}
		maps.Copy(n.Meta, meta)
	}
	return errors.Join(errs...)
}

// decodeAmount sets *dst to the whole number >= 0 expr holds, if it is set.
func decodeAmount(expr hcl.Expression, name string, dst *int) error {
	v, at, set, err := attrValue(expr, name, cty.Number, "must be a whole number >= 0")
	if !set || err != nil {
		return err
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || i < 0 || i > 1<<31-1 {
		return fmt.Errorf("%s: %s = %s: must be a whole number >= 0", at, name, bf.Text('g', -1))
	}
	*dst = int(i)
	return nil
}

// decodeCoreList sets *dst to the cores of the cpuset list ("0-1,3") expr
// holds, if it is set.
func decodeCoreList(expr hcl.Expression, name string, dst *[]int) error {
	v, at, set, err := attrValue(expr, name, cty.String, `must be a string of core IDs and ranges, as "0-1,3"`)
	if !set || err != nil {
		return err
	}
	cores, err := structs.ParseCoreList(v.AsString())
	if err != nil {
		return fmt.Errorf("%s: %s = %w", at, name, err)
	}
	*dst = cores
	return nil
}

// decodeMeta reads a block of string attributes (numbers and bools are
// taken as written, as Nomad takes them).
func decodeMeta(body hcl.Body, name string) (map[string]string, error) {
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagnosticsError(name, diags)
	}
	meta := map[string]string{}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		a := attrs[k]
		v, diags := a.Expr.Value(nil)
		at := fmt.Sprintf("%s:%d:%d", a.Range.Filename, a.Range.Start.Line, a.Range.Start.Column)
		switch {
		case diags.HasErrors() || !v.IsKnown() || v.IsNull():
			errs = append(errs, fmt.Errorf("%s: %s.%s: must be a string", at, name, k))
		case v.Type() == cty.String:
			meta[k] = v.AsString()
		case v.Type() == cty.Number:
			meta[k] = v.AsBigFloat().Text('f', -1)
		case v.Type() == cty.Bool:
			meta[k] = fmt.Sprint(v.True())
		default:
			errs = append(errs, fmt.Errorf("%s: %s.%s: must be a string, not %s", at, name, k, v.Type().FriendlyName()))
		}
	}
	return meta, errors.Join(errs...)
}
