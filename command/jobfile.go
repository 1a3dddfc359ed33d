package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/jobspec"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// Reading a job file for `job run` and `job validate`: HCL through jobspec
// (with -var and -var-file), or with -json the API's JSON (a job, or an object
// whose "Job" field is one, as `curl /v1/job/:id` or Nomad's tooling emit).

// jobFileFlags are the flags that say how to read a job file.
func jobFileFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "var", Usage: "set an HCL variable: -var key=value (repeatable)"},
		&cli.StringSliceFlag{Name: "var-file", Usage: "read HCL variables from a file (repeatable)"},
		&cli.BoolFlag{Name: "json", Usage: "the job file is JSON (the API's job object), not HCL"},
	}
}

// jobFileError is a job file that cannot be read or parsed, with its
// positioned diagnostics, one per line.
type jobFileError struct {
	path string
	err  error
}

func (e *jobFileError) Error() string {
	return fmt.Sprintf("Error parsing job file %s:\n%s", e.path, indentLines(e.err.Error(), "  "))
}

func (e *jobFileError) Unwrap() error { return e.err }

// readJobFile reads the job file named by the command's one argument.
func readJobFile(c *cli.Context) (*structs.Job, error) {
	path := c.Args().First()
	vars, varFiles := c.StringSlice("var"), c.StringSlice("var-file")
	if c.Bool("json") {
		if len(vars) > 0 || len(varFiles) > 0 {
			return nil, usageErrorf(c, "-var and -var-file apply to HCL job files, not to -json")
		}
		job, err := readJSONJob(path)
		if err != nil {
			return nil, &jobFileError{path: path, err: err}
		}
		return job, nil
	}
	for _, v := range vars {
		if k, _, ok := strings.Cut(v, "="); !ok || strings.TrimSpace(k) == "" {
			return nil, usageErrorf(c, "-var %q: must be key=value", v)
		}
	}
	job, err := jobspec.ParseFile(path, jobspec.Options{Vars: vars, VarFiles: varFiles})
	if err != nil {
		return nil, &jobFileError{path: path, err: err}
	}
	return job, nil
}

// readJSONJob decodes a JSON job file as the HTTP API decodes a job body:
// strictly (jobspec.DecodeJSON: an unknown field is an error naming its
// path), refusing the fields of Nomad's JSON orch does not act on, and with
// the API's defaults (api.JobToStructs: a group without Count runs one
// instance). Errors carry path:line:col.
func readJSONJob(path string) (*structs.Job, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var wire api.Job
	var target any = &wire
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) == nil {
		for k := range probe {
			if strings.EqualFold(k, "Job") {
				target = &struct{ Job *api.Job }{Job: &wire}
			}
		}
	}
	if err := jobspec.DecodeJSON(raw, target); err != nil {
		var je *jobspec.JSONError
		if errors.As(err, &je) {
			detail := je.Detail()
			if je.Kind == jobspec.JSONType && je.Path == "" {
				detail = `the file must hold a JSON object (a job, or {"Job": {...}}): ` + je.Rule
			}
			return nil, fmt.Errorf("%s:%d:%d: %s", path, je.Line, je.Column, detail)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := api.CheckSupported("Job", &wire); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	job := api.JobToStructs(&wire)
	if job.ID == "" {
		return nil, fmt.Errorf("%s: the job has no \"ID\"", path)
	}
	return job, nil
}

// validateJob canonicalizes a copy of job and validates it: the checks the
// servers will make, done before sending.
func validateJob(job *structs.Job) error {
	c := job.Copy()
	c.Canonicalize()
	return c.Validate()
}

// indentLines prefixes every line of s with indent.
func indentLines(s, indent string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = indent + l
	}
	return strings.Join(lines, "\n")
}
