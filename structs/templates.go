package structs

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// Templates: a task's `template` blocks, rendered by the client into the
// task's directory (or its environment) before it starts, and again when
// what they read (services in the registry) changes. Field names are Nomad's
// (API JSON: Template).

// Template change modes: what the client does to the task when a render
// changes the file.
const (
	TemplateChangeModeRestart = "restart"
	TemplateChangeModeSignal  = "signal"
	TemplateChangeModeNoop    = "noop"
	// TemplateChangeModeScript runs the template's change_script in the
	// task (through its driver's exec).
	TemplateChangeModeScript = "script"
)

// DefaultChangeScriptTimeout is Nomad's timeout of a change_script.
const DefaultChangeScriptTimeout = 5 * time.Second

// DefaultTemplateSplay is Nomad's: a change is applied after a random delay
// of up to this, so that many allocations do not restart at once.
const DefaultTemplateSplay = 5 * time.Second

// Template is one `template` block of a task.
type Template struct {
	// SourcePath is a file in the task's directory to read the template from
	// (`source`); EmbeddedTmpl the template itself (`data`). One of them.
	SourcePath   string
	EmbeddedTmpl string
	// DestPath is where the result goes, relative to the task's directory
	// (`destination`), as in Nomad: "local/app.conf".
	DestPath     string
	ChangeMode   string
	ChangeSignal string
	Splay        time.Duration
	// Perms is the file's mode, octal text ("0644").
	Perms      string
	LeftDelim  string
	RightDelim string
	// Envvars: the result is KEY=value lines that join the task's
	// environment (`env = true`).
	Envvars bool
	// ErrMissingKey fails the render on a missing map key instead of
	// writing "<no value>".
	ErrMissingKey bool
	// ChangeScript is what change_mode "script" runs; nil otherwise.
	ChangeScript *ChangeScript
	// Wait is the `wait` block: nil re-renders at once after what the
	// template reads changed.
	Wait *TemplateWait
}

// TemplateWait is a template's `wait` block (consul-template's quiescence):
// after a change, a re-render waits until nothing more changed for Min, but
// no longer than Max after the first change (4 × Min when Max is zero, as
// consul-template's).
type TemplateWait struct {
	Min time.Duration
	Max time.Duration
}

// ChangeScript is a template's `change_script` block: a command run in the
// task's context after a re-render changed the file.
type ChangeScript struct {
	Command string
	Args    []string
	// Timeout bounds a run (DefaultChangeScriptTimeout when zero).
	Timeout time.Duration
	// FailOnError kills the task (failed) when the script cannot run, times
	// out or exits non-zero; otherwise that is only logged and recorded.
	FailOnError bool
}

// Copy returns a deep copy of the template.
func (t *Template) Copy() *Template {
	c := clonePtr(t)
	if c != nil && t.ChangeScript != nil {
		cs := *t.ChangeScript
		cs.Args = slices.Clone(t.ChangeScript.Args)
		c.ChangeScript = &cs
	}
	if c != nil && t.Wait != nil {
		w := *t.Wait
		c.Wait = &w
	}
	return c
}

func copyTemplates(ts []*Template) []*Template {
	if ts == nil {
		return nil
	}
	out := make([]*Template, len(ts))
	for i, t := range ts {
		out[i] = t.Copy()
	}
	return out
}

// TemplateFunctions are the functions orch's templates offer (beyond
// text/template's own); client/template implements exactly these.
var TemplateFunctions = []string{
	"nomadService", "nomadServices", "env", "file",
	"split", "join", "toJSON", "toJSONPretty", "parseJSON", "timestamp",
	"toLower", "toUpper", "trimSpace", "replaceAll", "parseInt", "parseBool", "parseFloat",
	"trimPrefix", "trimSuffix", "in", "contains", "containsAny", "containsAll",
	"base64Encode", "base64Decode", "regexMatch", "regexReplaceAll",
	"add", "subtract", "multiply", "loop", "envOrDefault", "byTag",
}

// unsupportedTemplateFunctions are the functions of Nomad's templates
// (consul-template's) that orch does not offer, and why.
var unsupportedTemplateFunctions = map[string]string{
	"key": "Consul KV", "keyExists": "Consul KV", "keyOrDefault": "Consul KV", "ls": "Consul KV",
	"safeLs": "Consul KV", "tree": "Consul KV", "safeTree": "Consul KV",
	"service": "Consul catalog; use nomadService", "services": "Consul catalog; use nomadServices",
	"connect": "Consul Connect", "caRoots": "Consul Connect", "caLeaf": "Consul Connect",
	"node": "Consul catalog", "nodes": "Consul catalog", "datacenters": "Consul catalog",
	"secret": "Vault", "secrets": "Vault", "pkiCert": "Vault",
	"nomadVar": "Nomad variables", "nomadVarList": "Nomad variables", "nomadVarExists": "Nomad variables",
	"nomadVarListSafe": "Nomad variables", "sockaddr": "sockaddr templates", "writeToFile": "file writes",
	"plugin": "plugins", "executeTemplate": "nested templates",
}

// canonicalizeTemplates fills a task's templates' defaults, as Nomad's:
// change_mode restart, perms 0644, delimiters {{ and }}.
func canonicalizeTemplates(ts []*Template) {
	for _, t := range ts {
		if t == nil {
			continue
		}
		if t.ChangeMode == "" {
			t.ChangeMode = TemplateChangeModeRestart
		}
		if t.Perms == "" {
			t.Perms = "0644"
		}
		if t.LeftDelim == "" {
			t.LeftDelim = "{{"
		}
		if t.RightDelim == "" {
			t.RightDelim = "}}"
		}
		if t.ChangeScript != nil && t.ChangeScript.Timeout == 0 {
			t.ChangeScript.Timeout = DefaultChangeScriptTimeout
		}
	}
}

// templates validates a task's template blocks.
func (v *validator) templates(ts []*Template) {
	dests := map[string]int{}
	for i, t := range ts {
		field := fmt.Sprintf("template[%d]", i)
		if t == nil {
			v.add(field, "", "must not be null")
			continue
		}
		switch {
		case t.SourcePath == "" && t.EmbeddedTmpl == "":
			v.add(field, "", "needs data or a source")
		case t.SourcePath != "" && t.EmbeddedTmpl != "":
			v.add(field+".source", strconv.Quote(t.SourcePath), "set either data or source, not both")
		}
		switch {
		case t.DestPath == "":
			v.add(field+".destination", `""`, "must be set")
		case path.IsAbs(t.DestPath) || strings.HasPrefix(path.Clean(t.DestPath), ".."):
			v.add(field+".destination", strconv.Quote(t.DestPath), `must be relative to the task's directory and stay in it ("local/app.conf")`)
		default:
			if j, dup := dests[path.Clean(t.DestPath)]; dup {
				v.add(field+".destination", strconv.Quote(t.DestPath), fmt.Sprintf("template[%d] writes the same file", j))
			}
			dests[path.Clean(t.DestPath)] = i
		}
		switch t.ChangeMode {
		case TemplateChangeModeRestart, TemplateChangeModeNoop:
		case TemplateChangeModeSignal:
			if !strings.HasPrefix(strings.ToUpper(t.ChangeSignal), "SIG") {
				v.add(field+".change_signal", strconv.Quote(t.ChangeSignal), `change_mode "signal" needs a signal name such as "SIGHUP"`)
			}
		case TemplateChangeModeScript:
			switch cs := t.ChangeScript; {
			case cs == nil:
				v.add(field+".change_script", "", `change_mode "script" needs a change_script block with a command`)
			case cs.Command == "":
				v.add(field+".change_script.command", `""`, "must be set")
			case cs.Timeout < 0:
				v.add(field+".change_script.timeout", quoteDuration(cs.Timeout), "must be >= 0")
			}
		default:
			v.add(field+".change_mode", strconv.Quote(t.ChangeMode), `must be "restart", "signal", "noop" or "script"`)
		}
		if t.ChangeScript != nil && t.ChangeMode != TemplateChangeModeScript {
			v.add(field+".change_script", "", fmt.Sprintf(`is used only with change_mode "script", not %q`, t.ChangeMode))
		}
		if t.Splay < 0 {
			v.add(field+".splay", quoteDuration(t.Splay), "must be >= 0")
		}
		if w := t.Wait; w != nil {
			switch {
			case w.Min < 0:
				v.add(field+".wait.min", quoteDuration(w.Min), "must be >= 0")
			case w.Max < 0:
				v.add(field+".wait.max", quoteDuration(w.Max), "must be >= 0")
			case w.Max > 0 && w.Max < w.Min:
				v.add(field+".wait.max", quoteDuration(w.Max), fmt.Sprintf("must be at least wait.min (%v)", w.Min))
			}
		}
		if p, err := strconv.ParseUint(t.Perms, 8, 32); err != nil || p > 0o777 {
			v.add(field+".perms", strconv.Quote(t.Perms), `must be octal file permissions such as "0644"`)
		}
		if t.LeftDelim == "" || t.RightDelim == "" {
			v.add(field+".left_delimiter", "", "delimiters must not be empty")
		} else if t.EmbeddedTmpl != "" {
			for _, p := range TemplateProblems(t.EmbeddedTmpl, t.LeftDelim, t.RightDelim) {
				v.add(field+".data", "", p)
			}
		}
	}
}

// TemplateProblems parses the template text and returns what is wrong with
// it: a syntax error, or each function it calls that orch's templates do
// not offer, naming it. The client checks a `source` template with it too.
func TemplateProblems(text, left, right string) []string {
	funcs := template.FuncMap{}
	stub := func(...any) any { return nil }
	for _, name := range TemplateFunctions {
		funcs[name] = stub
	}
	for name := range unsupportedTemplateFunctions {
		funcs[name] = stub
	}
	t, err := template.New("t").Delims(left, right).Funcs(funcs).Parse(text)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	seen := map[string]bool{}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		walkTemplate(tt.Tree.Root, func(name string) {
			if why, bad := unsupportedTemplateFunctions[name]; bad && !seen[name] {
				seen[name] = true
				problems = append(problems, fmt.Sprintf("function %q is not supported (%s)", name, why))
			}
		})
	}
	return problems
}

// walkTemplate calls fn with the name of every function node under n.
func walkTemplate(n parse.Node, fn func(string)) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkTemplate(c, fn)
		}
	case *parse.ActionNode:
		walkTemplate(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkTemplate(c, fn)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkTemplate(a, fn)
		}
	case *parse.IdentifierNode:
		fn(n.Ident)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.TemplateNode:
		walkTemplate(n.Pipe, fn)
	}
}

func walkBranch(b *parse.BranchNode, fn func(string)) {
	walkTemplate(b.Pipe, fn)
	walkTemplate(b.List, fn)
	walkTemplate(b.ElseList, fn)
}
