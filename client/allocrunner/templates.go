package allocrunner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/template"
	"github.com/orch-io/orch/structs"
)

// newTemplates returns the template manager of a task with templates, nil
// for one without. tr is the task's runner, for signals; env its
// environment.
func (ar *AllocRunner) newTemplates(alloc *structs.Allocation, task *structs.Task, env []string, tr func() *taskRunner) *template.Manager {
	if len(task.Templates) == 0 {
		return nil
	}
	// What `env` reads: the task's environment and, as in Nomad, the
	// node's attr.*, meta.* and node.* (their dotted names clash with no
	// variable). Destinations and sources interpolate the same names
	// ("${NOMAD_TASK_DIR}/app.conf"); the job's templates are shared, so
	// the interpolated ones are copies.
	envMap := interpolationVars(env, nodeVars(ar.cfg.Node, jobRegion(alloc)))
	tmpls := make([]*structs.Template, len(task.Templates))
	for i, t := range task.Templates {
		c := t.Copy()
		c.DestPath = interpolate(c.DestPath, envMap)
		c.SourcePath = interpolate(c.SourcePath, envMap)
		tmpls[i] = c
	}
	ns := alloc.Namespace
	if ns == "" && alloc.Job != nil {
		ns = alloc.Job.Namespace
	}
	return template.New(template.Config{
		Templates: tmpls,
		TaskDir:   ar.dir.taskDir(task.Name),
		Root:      ar.dir.dir,
		Env:       envMap,
		Namespace: ns,
		Source:    ar.cfg.Services,
		// A re-render's restart is asked for, as a user's: at once, and not
		// counted against the restart policy (check_restart's is).
		Restart: func(reason string) error {
			return tr().restartFor("Template with change_mode restart re-rendered", reason)
		},
		Signal: func(sig string) error {
			r := tr()
			h := r.runningNow()
			if h == nil {
				return fmt.Errorf("task %q: %w", task.Name, ErrTaskNotRunning)
			}
			r.update(func(st *structs.TaskState) { // Nomad's event
				st.AppendEvent(r.event(structs.TaskSignaling, "Template re-rendered"))
			})
			return h.Signal(sig)
		},
		Script: func(ctx context.Context, cmd []string) (int, string, error) {
			res, err := ar.ExecTask(ctx, task.Name, cmd)
			if err != nil {
				return 0, "", err
			}
			out := string(res.Stdout) + string(res.Stderr)
			if len(out) > 1<<10 {
				out = out[:1<<10]
			}
			return res.ExitCode, out, nil
		},
		Kill: func(reason string) {
			ev := &structs.TaskEvent{Type: structs.TaskKilling, Time: ar.cfg.Now().UnixNano(), DisplayMessage: reason, FailsTask: true}
			tr().kill(ev)
		},
		Logger: ar.logger.With("task", task.Name),
	})
}

// renderTemplates renders the task's templates before a start and returns
// the config to start it with: the task's, with the environment of its env
// = true templates added (and interpolated in its config). The first successful render starts the watch of
// what the templates read, for the task runner's life.
func (tr *taskRunner) renderTemplates() (*driver.TaskConfig, error) {
	m := tr.cfg.Templates
	if m == nil {
		return tr.cfg.TaskConfig, nil
	}
	env, err := m.RenderAll(tr.killCtx)
	if err != nil {
		return nil, fmt.Errorf("rendering templates: %w", err)
	}
	tr.templatesOnce.Do(func() { go m.Run(tr.killCtx) })
	if len(env) == 0 {
		return tr.cfg.TaskConfig, nil
	}
	tc := *tr.cfg.TaskConfig
	tc.Env, tc.TaskEnv = withEnv(tc.Env, env), withEnv(tc.TaskEnv, env)
	// As in Nomad, the task's config may name them too ("${DB_ADDR}"): the
	// references the first interpolation left (no such variable then).
	tc.Config = interpolateConfig(tc.Config, env)
	return &tc, nil
}

// withEnv returns base ("KEY=value" entries) with the keys of extra set.
func withEnv(base []string, extra map[string]string) []string {
	out := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		_, over := extra[k]
		return over
	})
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
