package jobspec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvVarPrefix is the prefix of environment variables that set job file
// variables: ORCH_VAR_port=9090 sets var.port.
const EnvVarPrefix = "ORCH_VAR_"

// NomadEnvVarPrefix is Nomad's prefix for the same, honoured so that a Nomad
// user's environment works unchanged; ORCH_VAR_ wins when both set a variable.
const NomadEnvVarPrefix = "NOMAD_VAR_"

var variableSchema = bodySchema{
	BodySchema: hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"},
	}},
	unsupportedBlocks: []string{"validation"},
}

// variable is one `variable "name" { ... }` block.
type variable struct {
	name  string
	decl  hcl.Range // the block header, where errors about the variable point
	typ   cty.Type  // cty.DynamicPseudoType for `any` or no type
	def   *hcl.Attribute
	value cty.Value
	set   bool // value came from a default, ORCH_VAR_, -var-file or -var
}

// resolveVariables declares the variable blocks and sets e.vars from, in
// increasing precedence: defaults, NOMAD_VAR_ then ORCH_VAR_ environment
// variables, -var-file
// files in order, -var flags in order. A variable whose value is wrong or
// missing is reported and set to unknown, so that its uses do not report again.
func (e *evaluator) resolveVariables(blocks hcl.Blocks, opts Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	vars := map[string]*variable{}
	var order []*variable
	for _, b := range blocks {
		v, d := declareVariable(b)
		diags = append(diags, d...)
		if v == nil {
			continue
		}
		if prev := vars[v.name]; prev != nil {
			diags = append(diags, errorAt(v.decl, "variable %q is declared twice; first at %s", v.name, posString(prev.decl)))
			continue
		}
		vars[v.name] = v
		order = append(order, v)
	}
	// Declared names are known from here on: a failure below leaves the value
	// unknown, not undeclared.
	for _, v := range order {
		e.vars[v.name] = cty.DynamicVal
	}

	// setValue converts val to v's type. rng is where a wrong value is
	// reported: the value's own text in a file, or the variable's
	// declaration (with its type) for a value from a flag or the environment.
	setValue := func(v *variable, val cty.Value, rng *hcl.Range, what string) {
		conv, msg := convertTo(val, v.typ)
		if msg != "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("invalid value for variable %q from %s", v.name, what),
				Detail:   msg,
				Subject:  rng,
			})
			v.value, v.set = cty.DynamicVal, true
			return
		}
		v.value, v.set = conv, true
	}

	for _, v := range order {
		if v.def == nil {
			continue
		}
		val, d := v.def.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() {
			v.value, v.set = cty.DynamicVal, true
			continue
		}
		setValue(v, val, v.def.Expr.Range().Ptr(), "its default")
	}

	for _, prefix := range []string{NomadEnvVarPrefix, EnvVarPrefix} {
		for _, kv := range opts.Env {
			name, raw, ok := strings.Cut(kv, "=")
			if !ok || !strings.HasPrefix(name, prefix) {
				continue
			}
			v := vars[strings.TrimPrefix(name, prefix)]
			if v == nil {
				continue // the environment is shared by many job files: ignore what this one does not declare
			}
			val, d := parseRawValue(raw, v.typ, "<environment variable "+name+">")
			diags = append(diags, d...)
			if !d.HasErrors() {
				setValue(v, val, v.decl.Ptr(), "environment variable "+name)
			}
		}
	}

	for _, path := range opts.VarFiles {
		file, d := e.parser.ParseHCLFile(path)
		diags = append(diags, d...)
		if !d.HasErrors() {
			diags = append(diags, applyVarFile(file, "-var-file "+path, vars, setValue)...)
		}
	}
	for _, src := range opts.VarSources {
		file, d := e.parser.ParseHCL(src.Src, src.Name)
		diags = append(diags, d...)
		if !d.HasErrors() {
			diags = append(diags, applyVarFile(file, src.Name, vars, setValue)...)
		}
	}

	for _, arg := range opts.Vars {
		name, raw, ok := strings.Cut(arg, "=")
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("invalid -var %q", arg), Detail: "expected NAME=VALUE"})
			continue
		}
		v := vars[name]
		if v == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("-var %q: variable %q is not declared in the job file", arg, name)})
			continue
		}
		val, d := parseRawValue(raw, v.typ, fmt.Sprintf("<value for var.%s>", name))
		diags = append(diags, d...)
		if !d.HasErrors() {
			setValue(v, val, v.decl.Ptr(), fmt.Sprintf("-var %q", arg))
		}
	}

	for _, v := range order {
		switch {
		case !v.set:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("variable %q has no value", v.name),
				Detail:   fmt.Sprintf("it has no default: set it with -var %s=VALUE, a -var-file or %s%s", v.name, EnvVarPrefix, v.name),
				Subject:  v.decl.Ptr(),
			})
		default:
			e.vars[v.name] = v.value
		}
	}
	return diags
}

func declareVariable(b *hcl.Block) (*variable, hcl.Diagnostics) {
	name := b.Labels[0]
	if !hclsyntax.ValidIdentifier(name) {
		return nil, hcl.Diagnostics{errorAt(b.LabelRanges[0], "invalid variable name %q: must be a letter followed by letters, digits, underscores or dashes", name)}
	}
	c, diags := content(b.Body, variableSchema)
	v := &variable{name: name, decl: b.DefRange, typ: cty.DynamicPseudoType, def: c.Attributes["default"]}
	if attr := c.Attributes["type"]; attr != nil {
		ty, d := typeexpr.TypeConstraint(attr.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.typ = ty
		}
	}
	if attr := c.Attributes["description"]; attr != nil {
		val, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if _, msg := convertTo(val, cty.String); !d.HasErrors() && msg != "" {
			diags = append(diags, errorAt(attr.Expr.Range(), "invalid description of variable %q: %s", name, msg))
		}
	}
	return v, diags
}

// applyVarFile sets variables from a parsed file of `name = value`
// attributes; what names the file in errors.
func applyVarFile(file *hcl.File, what string, vars map[string]*variable, setValue func(*variable, cty.Value, *hcl.Range, string)) hcl.Diagnostics {
	var diags hcl.Diagnostics
	attrs, d := file.Body.JustAttributes()
	diags = append(diags, d...)
	sorted := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		sorted = append(sorted, a)
	}
	slices.SortFunc(sorted, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	for _, a := range sorted {
		v := vars[a.Name]
		if v == nil {
			diags = append(diags, errorAt(a.NameRange, "variable %q is not declared in the job file", a.Name))
			continue
		}
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			setValue(v, val, a.Expr.Range().Ptr(), what)
		}
	}
	return diags
}

// parseRawValue reads the text of a -var or ORCH_VAR_ value as Terraform does:
// literally for a string, number, bool or untyped variable (the caller converts
// it to the declared type), as an HCL expression (a list, a map, an object) for
// any other type.
func parseRawValue(raw string, ty cty.Type, source string) (cty.Value, hcl.Diagnostics) {
	if ty.IsPrimitiveType() || ty == cty.DynamicPseudoType {
		// A number or bool is converted from the text, so that a bad one gets
		// "a number is required" rather than an HCL syntax error.
		return cty.StringVal(raw), nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), source, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	return expr.Value(nil)
}

// resolveLocals evaluates every attribute of the locals blocks, in dependency
// order (a local may use locals declared after it). A cycle is reported on
// every local in it.
func (e *evaluator) resolveLocals(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var pending []*hcl.Attribute
	declared := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		attrs, d := b.Body.JustAttributes()
		diags = append(diags, d...)
		sorted := make([]*hcl.Attribute, 0, len(attrs))
		for _, a := range attrs {
			sorted = append(sorted, a)
		}
		slices.SortFunc(sorted, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
		for _, a := range sorted {
			if prev := declared[a.Name]; prev != nil {
				diags = append(diags, errorAt(a.NameRange, "local value %q is defined twice; first at %s", a.Name, posString(prev.NameRange)))
				continue
			}
			declared[a.Name] = a
			e.localDecl[a.Name] = true
			pending = append(pending, a)
		}
	}

	for len(pending) > 0 {
		var next []*hcl.Attribute
		for _, a := range pending {
			if !e.localDepsResolved(a) {
				next = append(next, a)
				continue
			}
			v, d := e.eval(a.Expr)
			diags = append(diags, d...)
			if d.HasErrors() {
				v = cty.DynamicVal
			}
			e.locals[a.Name] = v
		}
		if len(next) == len(pending) {
			for _, a := range next {
				diags = append(diags, errorAt(a.NameRange, "local value %q depends on itself, through other locals", a.Name))
				e.locals[a.Name] = cty.DynamicVal
			}
			break
		}
		pending = next
	}
	return diags
}

// localDepsResolved reports whether every local that a's expression uses has
// its value. A bare `local` (the whole object) depends on every other local.
// References to undeclared locals do not block: eval reports them.
func (e *evaluator) localDepsResolved(a *hcl.Attribute) bool {
	for _, t := range a.Expr.Variables() {
		if t.RootName() != "local" {
			continue
		}
		if len(t) < 2 {
			for name := range e.localDecl {
				if _, done := e.locals[name]; !done && name != a.Name {
					return false
				}
			}
			continue
		}
		var name string
		switch step := t[1].(type) {
		case hcl.TraverseAttr:
			name = step.Name
		case hcl.TraverseIndex:
			name, _ = keyString(step.Key)
		}
		if _, done := e.locals[name]; e.localDecl[name] && !done {
			return false
		}
	}
	return true
}

// convertTo converts v to ty, returning a message naming the problem (and
// where inside v it is) when it cannot.
func convertTo(v cty.Value, ty cty.Type) (cty.Value, string) {
	out, err := convert.Convert(v, ty)
	if err == nil {
		return out, ""
	}
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return cty.DynamicVal, formatPath(pe.Path) + ": " + pe.Error()
	}
	return cty.DynamicVal, err.Error()
}

// formatPath writes a cty path as HCL would index it: [0]["key"].attr.
func formatPath(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else if k, ok := keyString(s.Key); ok {
				b.WriteString("[" + k + "]")
			}
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}

func posString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
