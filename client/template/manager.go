package template

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/orch-io/orch/structs"
)

// ServiceSource reads the registry: the client's calls to the servers.
type ServiceSource interface {
	// Service returns the instances of a service of namespace; with
	// minIndex > 0 it blocks until they change past it (or a server-side
	// bound passes: the same index comes back) or ctx ends.
	Service(ctx context.Context, namespace, name string, minIndex uint64) (ServiceQuery, error)
	// Services returns the services of namespace (ServiceQuery.Services),
	// blocking as Service does.
	Services(ctx context.Context, namespace string, minIndex uint64) (ServiceQuery, error)
}

// Config is what a Manager needs.
type Config struct {
	Templates []*structs.Template // read only
	// TaskDir is the task's directory: relative destinations and sources
	// are relative to it. Root (the allocation's directory; TaskDir when
	// empty) is where destinations must stay: an absolute destination (a
	// "${NOMAD_TASK_DIR}/app.conf" its owner interpolated) must be in it.
	TaskDir   string
	Root      string
	Env       map[string]string // the task's environment, for env
	Namespace string
	Source    ServiceSource
	Now       func() time.Time
	// Restart and Signal apply a change_mode after a re-render changed a
	// file: restart the task, or send it a signal.
	Restart func(reason string) error
	Signal  func(signal string) error
	// Script runs a change_script's command in the running task (its
	// driver's exec) within ctx, returning its exit code and output; Kill
	// kills the task, failed, for reason (a change_script with
	// fail_on_error failed).
	Script func(ctx context.Context, cmd []string) (exitCode int, output string, err error)
	Kill   func(reason string)
	Logger *slog.Logger
}

// Manager renders one task's templates (see the package doc). RenderAll
// and Run are called by the task runner's goroutines, RenderAll before each
// start, Run once.
type Manager struct {
	cfg Config

	mu struct {
		sync.Mutex
		cache   map[string]ServiceQuery // by service name; "" is the list
		outputs []string                // the last rendered content of each template
		deps    map[string]bool
	}
	// renderMu serializes renders (RenderAll before a restart may meet a
	// re-render of Run); renderCtx is the context of the one in progress,
	// through which a function that reads the registry fetches.
	renderMu  sync.Mutex
	renderCtx context.Context
	changed   chan struct{} // capacity 1: a dependency changed
}

// New returns a manager of cfg.Templates.
func New(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, changed: make(chan struct{}, 1)}
	m.mu.cache = map[string]ServiceQuery{}
	m.mu.outputs = make([]string, len(cfg.Templates))
	m.mu.deps = map[string]bool{}
	return m
}

// service returns what the registry holds of name, from the cache or read
// at once.
func (m *Manager) service(name string) (ServiceQuery, error) {
	m.mu.Lock()
	q, ok := m.mu.cache[name]
	m.mu.Unlock()
	if ok {
		return q, nil
	}
	var err error
	if name == "" {
		q, err = m.cfg.Source.Services(m.renderCtx, m.cfg.Namespace, 0)
	} else {
		q, err = m.cfg.Source.Service(m.renderCtx, m.cfg.Namespace, name, 0)
	}
	if err != nil {
		return q, fmt.Errorf("reading service %q: %w", name, err)
	}
	m.mu.Lock()
	m.mu.cache[name] = q
	m.mu.Unlock()
	return q, nil
}

// RenderAll renders every template and writes every file (creating its
// directory), and returns the environment of the env = true templates.
// Called before the task starts; an error fails the start.
func (m *Manager) RenderAll(ctx context.Context) (map[string]string, error) {
	_, env, err := m.render(ctx, true)
	return env, err
}

// render renders every template; it writes the files whose content changed
// (all with force) and returns the indexes of those.
func (m *Manager) render(ctx context.Context, force bool) ([]int, map[string]string, error) {
	m.renderMu.Lock()
	defer m.renderMu.Unlock()
	m.renderCtx = ctx
	env := map[string]string{}
	deps := map[string]bool{}
	var changed []int
	for i, t := range m.cfg.Templates {
		out, err := m.renderOne(t, deps)
		if err != nil {
			return nil, nil, fmt.Errorf("template %q: %w", t.DestPath, err)
		}
		m.mu.Lock()
		differs := m.mu.outputs[i] != out
		m.mu.outputs[i] = out
		m.mu.Unlock()
		if differs || force {
			if err := m.write(t, out); err != nil {
				return nil, nil, err
			}
			if differs {
				changed = append(changed, i)
			}
		}
		if t.Envvars {
			for k, v := range parseEnv(out) {
				env[k] = v
			}
		}
	}
	m.mu.Lock()
	m.mu.deps = deps
	m.mu.Unlock()
	return changed, env, nil
}

func (m *Manager) renderOne(t *structs.Template, deps map[string]bool) (string, error) {
	text := t.EmbeddedTmpl
	if t.SourcePath != "" {
		src := t.SourcePath
		if !filepath.IsAbs(src) {
			src = filepath.Join(m.cfg.TaskDir, src)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		text = string(b)
		if problems := structs.TemplateProblems(text, t.LeftDelim, t.RightDelim); len(problems) > 0 {
			return "", fmt.Errorf("%s", strings.Join(problems, "; "))
		}
	}
	r := &render{m: m, deps: deps}
	tmpl := template.New(t.DestPath).Delims(t.LeftDelim, t.RightDelim).Funcs(r.funcs())
	if t.ErrMissingKey {
		tmpl = tmpl.Option("missingkey=error")
	}
	tmpl, err := tmpl.Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, nil); err != nil {
		return "", err
	}
	return b.String(), nil
}

// write writes a rendered template to its destination, atomically.
func (m *Manager) write(t *structs.Template, out string) error {
	dest, err := m.destination(t.DestPath)
	if err != nil {
		return err
	}
	perms, perr := strconv.ParseUint(t.Perms, 8, 32)
	if perr != nil {
		perms = 0o644
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("template %q: %w", t.DestPath, err)
	}
	tmp := dest + ".orch-tmp"
	if err := os.WriteFile(tmp, []byte(out), os.FileMode(perms)); err != nil {
		return fmt.Errorf("template %q: %w", t.DestPath, err)
	}
	if err := os.Chmod(tmp, os.FileMode(perms)); err != nil {
		return fmt.Errorf("template %q: %w", t.DestPath, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("template %q: %w", t.DestPath, err)
	}
	return nil
}

// destination returns where a template's file goes: dest under TaskDir,
// or dest itself when absolute; either must stay within Root.
func (m *Manager) destination(dest string) (string, error) {
	path := filepath.Clean(dest)
	if !filepath.IsAbs(path) {
		path = filepath.Join(m.cfg.TaskDir, path)
	}
	root := m.cfg.Root
	if root == "" {
		root = m.cfg.TaskDir
	}
	if rel, err := filepath.Rel(root, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("template %q: destination %s is outside the allocation's directory %s", dest, path, root)
	}
	return path, nil
}

// parseEnv reads KEY=value lines as Nomad reads an env template (the
// dotenv format): blank lines and # comments skipped, an "export " prefix
// and the spaces around the key and the value dropped; a value in double
// quotes takes \n, \t, \" and \\ escapes, one in single quotes is
// literal, an unquoted one ends at a " #" comment.
func parseEnv(s string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			continue
		}
		out[k] = envValue(strings.TrimSpace(v))
	}
	return out
}

// envValue is the value of one env template line (see parseEnv).
func envValue(v string) string {
	switch {
	case len(v) >= 2 && v[0] == '\'' && strings.IndexByte(v[1:], '\'') >= 0:
		return v[1 : 1+strings.IndexByte(v[1:], '\'')]
	case len(v) >= 2 && v[0] == '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '"':
				return b.String()
			case c == '\\' && i+1 < len(v):
				i++
				switch v[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default: // \" \\ \$ and the rest: the character itself
					b.WriteByte(v[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return v // no closing quote: as written
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}

// Run watches what the templates read and re-renders on every change until
// ctx ends, applying the change modes of the templates whose files changed.
// Called once, after the first RenderAll.
func (m *Manager) Run(ctx context.Context) {
	watching := map[string]context.CancelFunc{}
	defer func() {
		for _, cancel := range watching {
			cancel()
		}
	}()
	for {
		m.mu.Lock()
		deps := m.mu.deps
		m.mu.Unlock()
		for name := range deps {
			if watching[name] == nil {
				wctx, cancel := context.WithCancel(ctx)
				watching[name] = cancel
				go m.watch(wctx, name)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-m.changed:
		}
		if !m.quiesce(ctx) {
			return
		}
		changed, _, err := m.render(ctx, false)
		if err != nil {
			m.cfg.Logger.Warn("re-rendering templates", "error", err)
			continue
		}
		if len(changed) > 0 {
			m.apply(ctx, changed)
		}
	}
}

// waitBounds are the quiescence bounds of the templates' wait blocks: the
// longest Min and Max (Max 4 × Min when unset, as consul-template's); zero
// when none waits. One manager renders all of a task's templates together,
// so the most patient one sets the pace.
func waitBounds(ts []*structs.Template) (lo, hi time.Duration) {
	for _, t := range ts {
		if t.Wait == nil || t.Wait.Min <= 0 {
			continue
		}
		lo = max(lo, t.Wait.Min)
		if t.Wait.Max > 0 {
			hi = max(hi, t.Wait.Max)
		} else {
			hi = max(hi, 4*t.Wait.Min)
		}
	}
	return lo, max(lo, hi)
}

// quiesce waits, after a change, until no other change came for the
// templates' wait.min, or wait.max passed since the first; at once without
// wait blocks. False when ctx ended.
func (m *Manager) quiesce(ctx context.Context) bool {
	lo, hi := waitBounds(m.cfg.Templates)
	if lo <= 0 {
		return ctx.Err() == nil
	}
	deadline := time.Now().Add(hi)
	timer := time.NewTimer(lo)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-m.changed:
			timer.Reset(min(lo, max(time.Until(deadline), 0)))
		}
	}
}

// watch follows one dependency with blocking queries, updating the cache
// and waking Run on every change.
func (m *Manager) watch(ctx context.Context, name string) {
	m.mu.Lock()
	index := m.mu.cache[name].Index
	m.mu.Unlock()
	failures := 0
	for ctx.Err() == nil {
		var q ServiceQuery
		var err error
		if name == "" {
			q, err = m.cfg.Source.Services(ctx, m.cfg.Namespace, max(index, 1))
		} else {
			q, err = m.cfg.Source.Service(ctx, m.cfg.Namespace, name, max(index, 1))
		}
		if err != nil {
			failures++
			wait := min(time.Duration(failures)*time.Second, 30*time.Second)
			m.cfg.Logger.Debug("watching service for templates", "service", name, "retry_in", wait, "error", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			continue
		}
		failures = 0
		if q.Index == index {
			continue
		}
		index = q.Index
		m.mu.Lock()
		m.mu.cache[name] = q
		m.mu.Unlock()
		select {
		case m.changed <- struct{}{}:
		default:
		}
	}
}

// apply carries out the change modes of the changed templates after a
// random splay (the longest of theirs): one restart if any asks for it,
// else each distinct signal once and each change_script, as Nomad does.
func (m *Manager) apply(ctx context.Context, changed []int) {
	var splay time.Duration
	restart := false
	signals := map[string]bool{}
	var scripts []*structs.ChangeScript
	for _, i := range changed {
		t := m.cfg.Templates[i]
		splay = max(splay, t.Splay)
		switch t.ChangeMode {
		case structs.TemplateChangeModeRestart:
			restart = true
		case structs.TemplateChangeModeSignal:
			signals[t.ChangeSignal] = true
		case structs.TemplateChangeModeScript:
			if t.ChangeScript != nil {
				scripts = append(scripts, t.ChangeScript)
			}
		}
	}
	if !restart && len(signals) == 0 && len(scripts) == 0 {
		return
	}
	if splay > 0 {
		select {
		case <-time.After(rand.N(splay)):
		case <-ctx.Done():
			return
		}
	}
	if restart {
		if err := m.cfg.Restart("template re-rendered"); err != nil {
			m.cfg.Logger.Warn("restarting the task after a template changed", "error", err)
		}
		return
	}
	for sig := range signals {
		if err := m.cfg.Signal(sig); err != nil {
			m.cfg.Logger.Warn("signalling the task after a template changed", "signal", sig, "error", err)
		}
	}
	for _, cs := range scripts {
		if err := m.runScript(ctx, cs); err != nil {
			m.cfg.Logger.Warn("change_script after a template changed", "command", cs.Command, "error", err)
			if cs.FailOnError && m.cfg.Kill != nil && ctx.Err() == nil {
				m.cfg.Kill(fmt.Sprintf("Template's change_script failed: %v", err))
				return
			}
		}
	}
}

// runScript runs one change_script within its timeout; a run that cannot
// start, times out or exits non-zero is an error.
func (m *Manager) runScript(ctx context.Context, cs *structs.ChangeScript) error {
	if m.cfg.Script == nil {
		return fmt.Errorf("the task's driver cannot run commands in it")
	}
	timeout := cs.Timeout
	if timeout <= 0 {
		timeout = structs.DefaultChangeScriptTimeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, out, err := m.cfg.Script(sctx, append([]string{cs.Command}, cs.Args...))
	switch {
	case sctx.Err() == context.DeadlineExceeded:
		return fmt.Errorf("%q timed out after %v", cs.Command, timeout)
	case err != nil:
		return fmt.Errorf("%q: %w", cs.Command, err)
	case code != 0:
		return fmt.Errorf("%q exited %d: %s", cs.Command, code, strings.TrimSpace(out))
	}
	m.cfg.Logger.Info("change_script ran after a template changed", "command", cs.Command)
	return nil
}
