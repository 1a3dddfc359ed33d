package rawexec

import (
	"errors"
	"fmt"
	"sort"

	"github.com/orch-io/orch/client/driver"
)

// taskConfig is raw_exec's part of a task: config { command = "..." args = [...] }.
type taskConfig struct {
	Command string
	Args    []string
}

// parseConfig reads and checks a task's config block. It reports every problem
// at once; the error wraps driver.ErrInvalidConfig.
func parseConfig(task string, cfg map[string]any) (taskConfig, error) {
	var tc taskConfig
	var errs []error

	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "command" && k != "args" {
			errs = append(errs, fmt.Errorf("task %q: config.%s: unknown key (raw_exec takes command and args)", task, k))
		}
	}

	switch v, ok := cfg["command"]; {
	case !ok || v == nil:
		errs = append(errs, fmt.Errorf("task %q: config.command: required", task))
	default:
		s, isString := v.(string)
		switch {
		case !isString:
			errs = append(errs, fmt.Errorf("task %q: config.command: must be a string, got %T", task, v))
		case s == "":
			errs = append(errs, fmt.Errorf("task %q: config.command: must not be empty", task))
		default:
			tc.Command = s
		}
	}

	if v, ok := cfg["args"]; ok && v != nil {
		args, problem := stringList(v)
		if problem != "" {
			errs = append(errs, fmt.Errorf("task %q: config.args: must be a list of strings (%s)", task, problem))
		}
		tc.Args = args
	}

	return tc, driver.InvalidConfig(errors.Join(errs...))
}

// stringList accepts []string, or []any whose elements are all strings (what
// msgpack and HCL decoding produce). When v is anything else, problem says
// what is wrong with it.
func stringList(v any) (list []string, problem string) {
	switch v := v.(type) {
	case []string:
		return append([]string(nil), v...), ""
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Sprintf("element %d is %T", i, e)
			}
			out[i] = s
		}
		return out, ""
	}
	return nil, fmt.Sprintf("got %T", v)
}
