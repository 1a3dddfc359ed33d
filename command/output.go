package command

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// -json and -t on the read commands, as Nomad's: the object the command
// shows, in the API's JSON (Nomad's shape), indented; or a Go text/template
// applied to that same object (`-t '{{.ID}}'`, field names as in the JSON).

// outputFlags are -json and -t.
func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print the object as the API's JSON"},
		&cli.StringFlag{Name: "t", Usage: "format the object with a Go `TEMPLATE` (fields as in the JSON)"},
	}
}

// formatted reports whether c asked for -json or -t; if so it has printed v
// (converted to the API's shape) that way.
func formatted(c *cli.Context, v any) (bool, error) {
	asJSON, tmpl := c.Bool("json"), c.String("t")
	if !asJSON && tmpl == "" {
		return false, nil
	}
	if asJSON && tmpl != "" {
		return true, fmt.Errorf("-json and -t exclude each other: give one")
	}
	w := wireOf(v)
	if asJSON {
		out, err := json.MarshalIndent(w, "", "    ")
		if err != nil {
			return true, fmt.Errorf("encoding the output: %w", err)
		}
		fmt.Fprintln(stdout(c), string(out))
		return true, nil
	}
	t, err := template.New("t").Parse(tmpl)
	if err != nil {
		return true, fmt.Errorf("invalid -t template: %w", err)
	}
	// The template sees the JSON's values (maps and lists), so that its field
	// names are the JSON's whatever the Go types.
	raw, err := json.Marshal(w)
	if err != nil {
		return true, fmt.Errorf("encoding the output: %w", err)
	}
	var data any
	if err := json.Unmarshal(raw, &data); err != nil {
		return true, fmt.Errorf("decoding the output: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return true, fmt.Errorf("executing the -t template: %w", err)
	}
	fmt.Fprint(stdout(c), b.String())
	return true, nil
}

// wireOf converts what a command read (structs) to the API's wire types.
func wireOf(v any) any {
	switch v := v.(type) {
	case *structs.Job:
		return api.JobFromStructs(v)
	case []*structs.JobListStub:
		return mapAll(v, api.JobStubFromStructs)
	case *structs.Allocation:
		return api.AllocFromStructs(v)
	case []*structs.AllocListStub:
		return mapAll(v, api.AllocStubFromStructs)
	case *structs.Evaluation:
		return api.EvalFromStructs(v)
	case []*structs.Evaluation:
		return mapAll(v, api.EvalFromStructs)
	case *structs.Node:
		return api.NodeFromStructs(v)
	case []*structs.NodeListStub:
		return mapAll(v, api.NodeStubFromStructs)
	case *structs.Deployment:
		return api.DeploymentFromStructs(v)
	case []*structs.Deployment:
		return mapAll(v, api.DeploymentFromStructs)
	case *structs.JobSummary:
		return api.JobSummaryFromStructs(v)
	case *structs.AutopilotConfig:
		return api.AutopilotConfigFromStructs(v)
	case *structs.OperatorHealthReply:
		return api.OperatorHealthFromStructs(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = wireOf(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = wireOf(x)
		}
		return out
	}
	return v
}

func mapAll[A, B any](in []*A, f func(*A) *B) []*B {
	out := make([]*B, 0, len(in))
	for _, a := range in {
		if a != nil {
			out = append(out, f(a))
		}
	}
	return out
}
