package jobspec

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// bodySchema is the schema of one kind of block, plus the names Nomad knows
// there and orch does not implement yet: those get "... is not supported yet"
// instead of HCL's "Unsupported argument" or an error about their labels.
type bodySchema struct {
	hcl.BodySchema
	unsupportedAttrs  []string
	unsupportedBlocks []string
	// why says, for some of the unsupported names, what they need that orch
	// lacks; it follows the error.
	why map[string]string
}

// content is body.Content(schema) that reports the not-yet-supported names of
// s first, by position. Job files are parsed in native syntax, so body is an
// *hclsyntax.Body; for any other body the unsupported names get HCL's generic
// diagnostics.
func content(body hcl.Body, s bodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if sb, ok := body.(*hclsyntax.Body); ok && (len(s.unsupportedAttrs) > 0 || len(s.unsupportedBlocks) > 0) {
		filtered := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}, SrcRange: sb.SrcRange, EndRange: sb.EndRange}
		for name, a := range sb.Attributes {
			if slices.Contains(s.unsupportedAttrs, name) {
				diags = append(diags, errorAt(a.NameRange, "argument %q is not supported yet%s", name, s.reason(name)))
				continue
			}
			filtered.Attributes[name] = a
		}
		for _, b := range sb.Blocks {
			if slices.Contains(s.unsupportedBlocks, b.Type) {
				diags = append(diags, errorAt(b.TypeRange, "block %q is not supported yet%s", b.Type, s.reason(b.Type)))
				continue
			}
			filtered.Blocks = append(filtered.Blocks, b)
		}
		body = filtered
	}
	c, d := body.Content(&s.BodySchema)
	return c, append(diags, d...)
}

// reason is ": " and why name is unsupported, or "" when not said.
func (s bodySchema) reason(name string) string {
	if w := s.why[name]; w != "" {
		return ": " + w
	}
	return ""
}

// decoder turns evaluated attributes into Go values, collecting diagnostics.
// The value helpers return ok=false when the attribute is wrong (reported),
// null (treated as absent, as in Terraform) or unknown (a variable it uses
// failed, already reported); the caller then keeps its default.
type decoder struct {
	ev    *evaluator
	diags hcl.Diagnostics
	loc   locations
}

func (d *decoder) content(body hcl.Body, s bodySchema) *hcl.BodyContent {
	c, diags := content(body, s)
	d.diags = append(d.diags, diags...)
	return c
}

// value evaluates attr and converts it to ty.
func (d *decoder) value(attr *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	v, diags := d.ev.eval(attr.Expr)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return cty.NilVal, false
	}
	out, msg := convertTo(v, ty)
	if msg != "" {
		d.invalid(attr, "%s", msg)
		return cty.NilVal, false
	}
	return out, true
}

// invalid reports a bad value of attr, at its expression.
func (d *decoder) invalid(attr *hcl.Attribute, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("invalid value for %q", attr.Name),
		Detail:   fmt.Sprintf(format, args...),
		Subject:  attr.Expr.Range().Ptr(),
		Context:  attr.Range.Ptr(),
	})
}

func (d *decoder) str(attr *hcl.Attribute) (string, bool) {
	v, ok := d.value(attr, cty.String)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (d *decoder) integer(attr *hcl.Attribute) (int, bool) {
	v, ok := d.value(attr, cty.Number)
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		d.invalid(attr, "a whole number is required, got %s", bf.Text('g', -1))
		return 0, false
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i < math.MinInt32 || i > math.MaxInt32 {
		d.invalid(attr, "%s is out of range", bf.Text('f', -1))
		return 0, false
	}
	return int(i), true
}

// duration reads a Go duration string: "30s", "5m", "1h30m".
func (d *decoder) duration(attr *hcl.Attribute) (time.Duration, bool) {
	v, ok := d.value(attr, cty.String)
	if !ok {
		return 0, false
	}
	dur, err := time.ParseDuration(v.AsString())
	if err != nil {
		d.invalid(attr, "%q is not a duration: write a number and a unit, such as \"15s\", \"30m\" or \"1h\"", v.AsString())
		return 0, false
	}
	return dur, true
}

func (d *decoder) stringList(attr *hcl.Attribute) ([]string, bool) {
	v, ok := d.value(attr, cty.List(cty.String))
	if !ok {
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for i, e := range v.AsValueSlice() {
		if e.IsNull() {
			d.invalid(attr, "element %d is null", i)
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// stringMap reads a map attribute (`meta = { k = "v" }`); numbers and bools
// become their text.
func (d *decoder) stringMap(attr *hcl.Attribute) (map[string]string, bool) {
	v, ok := d.value(attr, cty.Map(cty.String))
	if !ok {
		return nil, false
	}
	out := make(map[string]string, v.LengthInt())
	for k, e := range v.AsValueMap() {
		if e.IsNull() {
			d.invalid(attr, "%q is null", k)
			return nil, false
		}
		out[k] = e.AsString()
	}
	return out, true
}

// attributeMap reads a block of free-form attributes (`meta { k = "v" }`) into
// strings.
func (d *decoder) attributeMap(body hcl.Body) map[string]string {
	out := map[string]string{}
	for _, a := range d.justAttributes(body) {
		if s, ok := d.str(a); ok {
			out[a.Name] = s
		}
	}
	return out
}

// justAttributes returns the attributes of a free-form block in source order.
func (d *decoder) justAttributes(body hcl.Body) []*hcl.Attribute {
	attrs, diags := body.JustAttributes()
	d.diags = append(d.diags, diags...)
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	return out
}

// mapAttrOrBlock reads a map that Nomad lets users write either as a block
// (`env { K = "v" }`) or as an attribute (`env = { K = "v" }`); at most one of
// either. It returns nil when there is none.
func (d *decoder) mapAttrOrBlock(c *hcl.BodyContent, name string) map[string]string {
	blocks := d.atMostOne(c.Blocks.OfType(name))
	attr := c.Attributes[name]
	if attr != nil && len(blocks) > 0 {
		d.diags = append(d.diags, errorAt(blocks[0].TypeRange, "%q is set twice: as a block here and as an argument at %s", name, posString(attr.NameRange)))
		return nil
	}
	switch {
	case attr != nil:
		m, _ := d.stringMap(attr)
		return m
	case len(blocks) > 0:
		return d.attributeMap(blocks[0].Body)
	}
	return nil
}

// atMostOne reports every block after the first (a second restart block, say)
// and returns the first alone.
func (d *decoder) atMostOne(blocks hcl.Blocks) hcl.Blocks {
	for _, b := range blocks[min(1, len(blocks)):] {
		d.diags = append(d.diags, errorAt(b.TypeRange, "duplicate %q block: only one is allowed here, the first is at %s", b.Type, posString(blocks[0].TypeRange)))
	}
	return blocks[:min(1, len(blocks))]
}

// ctyToGo converts a task config value to plain Go: string, bool, int (whole
// numbers that fit) or float64, []any for lists, tuples and sets,
// map[string]any for maps and objects, nil for null.
func ctyToGo(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Bool:
		return v.True()
	case ty == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if i, acc := bf.Int64(); acc == big.Exact && i >= math.MinInt && i <= math.MaxInt {
				return int(i)
			}
		}
		f, _ := bf.Float64()
		return f
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, ctyToGo(e))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = ctyToGo(e)
		}
		return out
	}
	return nil
}
