package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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

// readJSONJob decodes a JSON job file. Errors carry path:line:col.
func readJSONJob(path string) (*structs.Job, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, positionJSONError(path, raw, err)
	}
	var job structs.Job
	var target any = &job
	for k := range probe {
		if strings.EqualFold(k, "Job") {
			target = &struct{ Job *structs.Job }{Job: &job}
		}
	}
	if err := json.Unmarshal(raw, target); err != nil {
		return nil, positionJSONError(path, raw, err)
	}
	if job.ID == "" {
		return nil, fmt.Errorf("%s: the job has no \"ID\"", path)
	}
	return &job, nil
}

// positionJSONError prefixes a decoding error of raw with path:line:col.
func positionJSONError(path string, raw []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64 = -1
	switch {
	case errors.As(err, &syn):
		off = syn.Offset - 1
	case errors.As(err, &typ):
		off = typ.Offset
	case errors.Is(err, io.ErrUnexpectedEOF):
		off = int64(len(raw))
	}
	if off < 0 {
		return fmt.Errorf("%s: %v", path, err)
	}
	line, col := 1, 1
	for _, ch := range raw[:min(off, int64(len(raw)))] {
		if ch == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%s:%d:%d: %s", path, line, col, describeDecodeError(raw, err))
}

// describeDecodeError words a decoding error for a person.
func describeDecodeError(raw []byte, err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field == "" {
			return fmt.Sprintf(`the file must hold a JSON object (a job, or {"Job": {...}}), not a JSON %s`, typ.Value)
		}
		return fmt.Sprintf("field %s: cannot use a JSON %s as %s", typ.Field, typ.Value, typ.Type)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of the file"
	}
	return err.Error()
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
