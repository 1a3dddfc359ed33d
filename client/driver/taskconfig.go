package driver

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ConfigReader reads a task's config block (plain Go values as the job
// parser and msgpack produce them: string, bool, numbers of any width,
// []any, map[string]any) into typed values, collecting every problem. Each
// problem names the task, the key, the value's type and the rule.
//
//	r := driver.NewConfigReader("docker", cfg.TaskName, cfg.Config)
//	image := r.String("image", true)
//	ports := r.StringList("ports")
//	if err := r.Err(); err != nil { ... } // wraps ErrInvalidConfig
type ConfigReader struct {
	driver, task string
	cfg          map[string]any
	known        []string
	errs         []error
}

// NewConfigReader reads cfg, the config block of task, for driver.
func NewConfigReader(driver, task string, cfg map[string]any) *ConfigReader {
	return &ConfigReader{driver: driver, task: task, cfg: cfg}
}

// Fail records a problem with the value at key that the caller found.
func (r *ConfigReader) Fail(key, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("task %q: config.%s: %s", r.task, key, fmt.Sprintf(format, args...)))
}

// get marks key known and returns its value; a nil value counts as absent.
func (r *ConfigReader) get(key string, required bool) (any, bool) {
	r.known = append(r.known, key)
	v, ok := r.cfg[key]
	if !ok || v == nil {
		if required {
			r.Fail(key, "required")
		}
		return nil, false
	}
	return v, true
}

// String returns the string at key ("" when absent).
func (r *ConfigReader) String(key string, required bool) string {
	v, ok := r.get(key, required)
	if !ok {
		return ""
	}
	s, isString := v.(string)
	switch {
	case !isString:
		r.Fail(key, "must be a string, got %T", v)
	case s == "" && required:
		r.Fail(key, "must not be empty")
	}
	return s
}

// Bool returns the bool at key (false when absent).
func (r *ConfigReader) Bool(key string) bool {
	v, ok := r.get(key, false)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		r.Fail(key, "must be a bool, got %T", v)
	}
	return b
}

// Int returns the whole number at key (0 when absent).
func (r *ConfigReader) Int(key string) int {
	v, ok := r.get(key, false)
	if !ok {
		return 0
	}
	n, ok := wholeNumber(v)
	if !ok {
		r.Fail(key, "must be a whole number, got %T %v", v, v)
	}
	return n
}

// Duration returns the duration at key, written "10s" or "1m30s" (0 when
// absent); negative durations are refused.
func (r *ConfigReader) Duration(key string) time.Duration {
	v, ok := r.get(key, false)
	if !ok {
		return 0
	}
	s, isString := v.(string)
	if !isString {
		r.Fail(key, `must be a duration such as "10s", got %T`, v)
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		r.Fail(key, `%q: must be a duration such as "10s"`, s)
	case d < 0:
		r.Fail(key, "%q: must not be negative", s)
	}
	return d
}

// Signal returns the signal named at key ("SIGTERM"), 0 when absent.
func (r *ConfigReader) Signal(key string) syscall.Signal {
	name := r.String(key, false)
	if name == "" {
		return 0
	}
	sig, err := ParseSignal(name)
	if err != nil {
		r.Fail(key, "%q: not a known signal", name)
	}
	return sig
}

// StringList returns the list of strings at key (nil when absent).
func (r *ConfigReader) StringList(key string) []string {
	v, ok := r.get(key, false)
	if !ok {
		return nil
	}
	switch v := v.(type) {
	case []string:
		return slices.Clone(v)
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				r.Fail(key, "must be a list of strings (element %d is %T)", i, e)
				return nil
			}
			out[i] = s
		}
		return out
	}
	r.Fail(key, "must be a list of strings, got %T", v)
	return nil
}

// StringMap returns the map of strings at key (nil when absent).
func (r *ConfigReader) StringMap(key string) map[string]string {
	v, ok := r.get(key, false)
	if !ok {
		return nil
	}
	switch v := v.(type) {
	case map[string]string:
		out := make(map[string]string, len(v))
		for k, e := range v {
			out[k] = e
		}
		return out
	case map[string]any:
		out := make(map[string]string, len(v))
		for _, k := range sortedKeys(v) {
			s, ok := v[k].(string)
			if !ok {
				r.Fail(key, "must be a map of strings (%q is %T)", k, v[k])
				return nil
			}
			out[k] = s
		}
		return out
	}
	r.Fail(key, "must be a map of strings, got %T", v)
	return nil
}

// Err reports, all at once and wrapping ErrInvalidConfig, the problems found
// so far and every key of the config block no reader method asked for.
func (r *ConfigReader) Err() error {
	var unknown []error
	for _, k := range sortedKeys(r.cfg) {
		if !slices.Contains(r.known, k) {
			unknown = append(unknown, fmt.Errorf("task %q: config.%s: unknown key (%s takes %s)", r.task, k, r.driver, strings.Join(r.known, ", ")))
		}
	}
	return InvalidConfig(errors.Join(append(unknown, r.errs...)...))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// wholeNumber converts any Go number holding a whole value that fits an int.
func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), n >= math.MinInt && n <= math.MaxInt
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), n <= math.MaxInt
	case float64:
		return int(n), n == math.Trunc(n) && n >= math.MinInt && n <= math.MaxInt
	case float32:
		return int(n), float64(n) == math.Trunc(float64(n))
	}
	return 0, false
}
