package jobspec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// evaluator evaluates the expressions of a job file: `var.x` and `local.y`
// come from the variables and locals resolved so far, functions from the
// standard set, and every other reference is a runtime interpolation that
// evaluates to its own source text (see eval).
//
// It is used by one goroutine, for one Parse call.
type evaluator struct {
	parser *hclparse.Parser // holds the source of every file parsed, for sourceText

	// declared variables and locals, by name: a reference to another name is an
	// error. A declared one whose value failed is cty.DynamicVal (unknown), so
	// that expressions using it evaluate to unknown without a second error.
	vars   map[string]cty.Value
	locals map[string]cty.Value
	// localDecl holds every local declared, resolved or not yet.
	localDecl map[string]bool

	funcs map[string]functionImpl
}

func newEvaluator(parser *hclparse.Parser) *evaluator {
	return &evaluator{
		parser:    parser,
		vars:      map[string]cty.Value{},
		locals:    map[string]cty.Value{},
		localDecl: map[string]bool{},
		funcs:     standardFunctions(),
	}
}

// context builds the evaluation context for one expression. runtime holds the
// runtime references of the expression (see runtimeRefs).
func (e *evaluator) context(runtime map[string]cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":   cty.ObjectVal(e.vars),
		"local": cty.ObjectVal(e.locals),
	}
	for name, v := range runtime {
		vars[name] = v
	}
	return &hcl.EvalContext{Variables: vars, Functions: e.funcs}
}

// eval evaluates expr. References rooted at var and local must name something
// declared. References with any other root (attr, node, meta, env, NOMAD_*,
// ORCH_*, a task's own environment variables, ...) are runtime interpolations:
// each evaluates to "${" + its source text + "}", so "${attr.kernel.name}" and
// "os-${attr.kernel.name}" come out as written, also inside heredocs, lists,
// maps and conditionals.
//
// The result may be unknown when the expression uses a variable or local whose
// own value failed (that failure was already reported); callers skip unknown
// values silently.
func (e *evaluator) eval(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	runtime := refTree{}
	for _, t := range expr.Variables() {
		switch t.RootName() {
		case "var":
			diags = append(diags, checkDeclared(t, "variable", e.vars)...)
		case "local":
			diags = append(diags, checkDeclared(t, "local value", e.localDecl)...)
		default:
			runtime.add(t, e.sourceText(t))
		}
	}
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, more := expr.Value(e.context(runtime.values()))
	return v, append(diags, more...)
}

// checkDeclared reports a reference like var.nmae whose name is not among
// declared. A bare `var` (the whole object) is fine.
func checkDeclared[V any](t hcl.Traversal, kind string, declared map[string]V) hcl.Diagnostics {
	if len(t) < 2 {
		return nil
	}
	var name string
	switch step := t[1].(type) {
	case hcl.TraverseAttr:
		name = step.Name
	case hcl.TraverseIndex:
		if step.Key.Type() != cty.String || !step.Key.IsKnown() || step.Key.IsNull() {
			return nil
		}
		name = step.Key.AsString()
	default:
		return nil
	}
	if _, ok := declared[name]; ok {
		return nil
	}
	block := "variable"
	if kind != "variable" {
		block = "locals"
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("reference to undeclared %s %q", kind, name),
		Detail:   fmt.Sprintf("declare it in a %s block", block),
		Subject:  t.SourceRange().Ptr(),
	}}
}

// sourceText renders a runtime reference as the user wrote it: "${" + the
// traversal's source + "}". Only the traversal's own bytes are taken, so
// `${ attr.kernel.name }` comes out as "${attr.kernel.name}".
func (e *evaluator) sourceText(t hcl.Traversal) string {
	rng := t.SourceRange()
	if f := e.parser.Files()[rng.Filename]; f != nil && 0 <= rng.Start.Byte && rng.Start.Byte < rng.End.Byte && rng.End.Byte <= len(f.Bytes) {
		return "${" + string(f.Bytes[rng.Start.Byte:rng.End.Byte]) + "}"
	}
	return "${" + renderTraversal(t) + "}"
}

// renderTraversal writes a traversal in HCL syntax; the fallback of sourceText
// for expressions without a source file (never the case for parsed files).
func renderTraversal(t hcl.Traversal) string {
	var b strings.Builder
	for _, step := range t {
		switch step := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(step.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + step.Name)
		case hcl.TraverseIndex:
			if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsNull() {
				fmt.Fprintf(&b, "[%q]", step.Key.AsString())
			} else if k, ok := keyString(step.Key); ok {
				b.WriteString("[" + k + "]")
			}
		}
	}
	return b.String()
}

// refTree collects the runtime references of one expression as a tree keyed by
// step name: attr → kernel → name. Its values are nested objects whose leaves
// are the references' text, so evaluating attr.kernel.name yields
// "${attr.kernel.name}".
//
// A path used both as a leaf and as a prefix of a longer one (${node} and
// ${node.class} in one expression) keeps the longer one: there is no value that
// is both a string and an object, and such a job is meaningless anyway.
type refTree map[string]*refNode

type refNode struct {
	text     string
	children refTree
}

func (rt refTree) add(t hcl.Traversal, text string) {
	nodes := rt
	for i, step := range t {
		var key string
		switch step := step.(type) {
		case hcl.TraverseRoot:
			key = step.Name
		case hcl.TraverseAttr:
			key = step.Name
		case hcl.TraverseIndex:
			k, ok := keyString(step.Key)
			if !ok {
				return
			}
			key = k
		default:
			return
		}
		n := nodes[key]
		if n == nil {
			n = &refNode{}
			nodes[key] = n
		}
		if i == len(t)-1 {
			n.text = text
			return
		}
		if n.children == nil {
			n.children = refTree{}
		}
		nodes = n.children
	}
}

func (rt refTree) values() map[string]cty.Value {
	if len(rt) == 0 {
		return nil
	}
	out := make(map[string]cty.Value, len(rt))
	for k, n := range rt {
		if len(n.children) > 0 {
			out[k] = cty.ObjectVal(n.children.values())
		} else {
			out[k] = cty.StringVal(n.text)
		}
	}
	return out
}

// keyString renders an index key (a string or a number) as an object attribute name.
func keyString(k cty.Value) (string, bool) {
	if !k.IsKnown() || k.IsNull() {
		return "", false
	}
	switch k.Type() {
	case cty.String:
		return k.AsString(), true
	case cty.Number:
		return k.AsBigFloat().Text('f', -1), true
	}
	return "", false
}
