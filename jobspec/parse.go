package jobspec

import (
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/orch-io/orch/structs"
)

// Options are the inputs of a job file besides its text.
type Options struct {
	// Vars are -var flags, "name=value", applied in order (a later one wins).
	// The value is taken literally for string, number, bool and untyped
	// variables and parsed as an HCL expression for lists, maps and objects.
	Vars []string
	// VarFiles are -var-file paths: HCL files of `name = value` attributes,
	// applied in order before Vars.
	VarFiles []string
	// VarSources are variable files given as text (the API's
	// JobsParseRequest.Variables), applied after VarFiles and before Vars;
	// Name is the file name errors carry.
	VarSources []VarSource
	// Env is the environment as os.Environ returns it ("KEY=VALUE"); entries
	// NOMAD_VAR_name=value then ORCH_VAR_name=value set variables, before
	// VarFiles and Vars. Entries
	// naming variables the file does not declare are ignored. nil reads none:
	// the parser never reads the process environment itself.
	Env []string
}

// VarSource is the text of a variable file and the name its errors carry.
type VarSource struct {
	Name string
	Src  []byte
}

var rootSchema = bodySchema{BodySchema: hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "job", LabelNames: []string{"name"}},
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
}}}

// ParseFile reads and parses the job file at path; see Parse. An error reading
// the file is returned as is (an *os.PathError), not as an *Error.
func ParseFile(path string, opts Options) (*structs.Job, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jobspec: %w", err)
	}
	return Parse(path, src, opts)
}

// Parse parses the job file src, named filename in positions, into a job that
// is canonicalized and valid. On any problem (syntax, unknown or unsupported
// block, bad value, missing variable, invalid job) it returns a nil job and an
// *Error listing every problem with its position. It is safe to call from
// several goroutines at once.
func Parse(filename string, src []byte, opts Options) (*structs.Job, error) {
	parser := hclparse.NewParser()
	file, diags := parser.ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, newError(diags)
	}

	root, more := content(file.Body, rootSchema)
	diags = append(diags, more...)

	ev := newEvaluator(parser)
	diags = append(diags, ev.resolveVariables(root.Blocks.OfType("variable"), opts)...)
	diags = append(diags, ev.resolveLocals(root.Blocks.OfType("locals"))...)

	jobs := root.Blocks.OfType("job")
	if len(jobs) == 0 {
		start := hcl.Pos{Line: 1, Column: 1}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "no job block",
			Detail:   `a job file declares exactly one job "<name>" { ... } block`,
			Subject:  &hcl.Range{Filename: filename, Start: start, End: start},
		})
		return nil, newError(diags)
	}
	for _, extra := range jobs[1:] {
		diags = append(diags, errorAt(extra.DefRange, "only one job block is allowed per file; the first is at %s", posString(jobs[0].DefRange)))
	}

	dec := &decoder{ev: ev}
	job := dec.job(jobs[0])
	diags = append(diags, dec.diags...)
	if diags.HasErrors() {
		return nil, newError(diags)
	}

	job.Canonicalize()
	if err := job.Validate(); err != nil {
		return nil, newError(dec.loc.validationDiagnostics(err))
	}
	return job, nil
}
