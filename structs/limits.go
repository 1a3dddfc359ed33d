package structs

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits bound what a job may ask for, so that no single registration can
// exhaust the servers (every allocation is built in memory by the scheduler,
// every job is held by every server and written to Raft) or make the clients
// unable to read their work (msgpack decoding refuses deep structures). They
// are checked by Job.ValidateWithLimits at the edge, before anything reaches
// Raft; the agent's `limits` block sets them (README, "Limits").
//
// A zero field means its default (DefaultLimits); Resolve fills them.
type Limits struct {
	// JobMaxGroupCount bounds the count of one group (job_max_group_count).
	JobMaxGroupCount int
	// JobMaxAllocations bounds the sum of the counts of a job's groups
	// (job_max_allocations): what one evaluation may place.
	JobMaxAllocations int
	// JobMaxSize bounds the size of the job's msgpack encoding in bytes
	// (job_max_size): it is one Raft entry, kept by every server.
	JobMaxSize int
	// JobMaxNameLength bounds IDs and names, in characters
	// (job_max_name_length): job ID, group and task names, meta and env keys.
	JobMaxNameLength int
	// JobMaxMapEntries bounds the entries of each meta, env and config map
	// (job_max_map_entries).
	JobMaxMapEntries int
	// JobMaxStringLength bounds each meta and env value, in bytes
	// (job_max_string_length).
	JobMaxStringLength int
	// TaskConfigMaxDepth bounds the nesting of a task's config
	// (task_config_max_depth): the client decodes it with msgpack, which
	// fails at about 1,000 levels; a real driver config needs a handful.
	TaskConfigMaxDepth int
}

// DefaultLimits are the limits of an agent whose configuration sets none.
func DefaultLimits() Limits {
	return Limits{
		JobMaxGroupCount:   10_000,
		JobMaxAllocations:  50_000,
		JobMaxSize:         4 << 20,
		JobMaxNameLength:   128,
		JobMaxMapEntries:   1_000,
		JobMaxStringLength: 64 << 10,
		TaskConfigMaxDepth: 32,
	}
}

// Resolve returns l with every zero field set to its default.
func (l Limits) Resolve() Limits {
	d := DefaultLimits()
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&l.JobMaxGroupCount, d.JobMaxGroupCount)
	fill(&l.JobMaxAllocations, d.JobMaxAllocations)
	fill(&l.JobMaxSize, d.JobMaxSize)
	fill(&l.JobMaxNameLength, d.JobMaxNameLength)
	fill(&l.JobMaxMapEntries, d.JobMaxMapEntries)
	fill(&l.JobMaxStringLength, d.JobMaxStringLength)
	fill(&l.TaskConfigMaxDepth, d.TaskConfigMaxDepth)
	return l
}

// maxTaskConfigDepth is the most TaskConfigMaxDepth may be set to: well below
// the depth at which the client's msgpack decoder gives up.
const maxTaskConfigDepth = 256

// Validate checks limits as an operator wrote them (zero: the default); each
// problem names the agent configuration attribute.
func (l Limits) Validate() []string {
	var out []string
	check := func(name string, v int) {
		if v < 0 {
			out = append(out, fmt.Sprintf("limits.%s = %d: must be >= 0 (0: the default)", name, v))
		}
	}
	check("job_max_group_count", l.JobMaxGroupCount)
	check("job_max_allocations", l.JobMaxAllocations)
	check("job_max_size", l.JobMaxSize)
	check("job_max_name_length", l.JobMaxNameLength)
	check("job_max_map_entries", l.JobMaxMapEntries)
	check("job_max_string_length", l.JobMaxStringLength)
	check("task_config_max_depth", l.TaskConfigMaxDepth)
	if l.TaskConfigMaxDepth > maxTaskConfigDepth {
		out = append(out, fmt.Sprintf("limits.task_config_max_depth = %d: must be at most %d (msgpack decoding on the clients fails on deeper structures)",
			l.TaskConfigMaxDepth, maxTaskConfigDepth))
	}
	return out
}

// MaxResource bounds every resource a task or group asks for (CPU in MHz,
// memory and disk in MB): 2^40, far beyond any machine, and small enough that
// the sums of the scheduler cannot come near overflowing. Not configurable.
const MaxResource = 1 << 40

// addSaturating returns a+b, clamped to the int range instead of wrapping:
// resource sums must never turn an absurd ask into a small or negative one.
func addSaturating(a, b int) int {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt
	}
	return s
}

// subSaturating returns a-b, clamped to the int range instead of wrapping.
func subSaturating(a, b int) int {
	s := a - b
	switch {
	case a >= 0 && b < 0 && s < 0:
		return math.MaxInt
	case a < 0 && b > 0 && s >= 0:
		return math.MinInt
	}
	return s
}

// nameRule returns the rule s breaks as a name used as a path segment (a
// directory or file name on the client, a segment of an HTTP path), or "":
// valid UTF-8, not "." or "..", no NUL or other control character and, unless
// slashOK (the caller split on it), no "/". Emptiness is the caller's check.
func (v *validator) nameRule(s string, slashOK bool) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case s == "", s == ".", s == "..":
		if slashOK {
			return `must not have "", "." or ".." as a segment between slashes (it is used in paths)`
		}
		return `must not be "." or ".." (it is used in paths)`
	case strings.ContainsRune(s, 0):
		return "must not contain a NUL character"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "must not contain control characters"
	case !slashOK && strings.Contains(s, "/"):
		return `must not contain "/" (it is used as a directory name)`
	}
	return ""
}

// segmentName checks the current group's or task's name (the caller checked
// that it is not empty): a path segment, of bounded length.
func (v *validator) segmentName(name string) {
	if rule := v.nameRule(name, false); rule != "" {
		v.add("name", strconv.Quote(name), rule)
	}
	v.nameLength("name", name)
}

// nameLength checks the length of an ID or name, in characters.
func (v *validator) nameLength(field, s string) {
	if n := utf8.RuneCountInString(s); n > v.limits.JobMaxNameLength {
		v.add(field, quoteShort(s), fmt.Sprintf("must be at most %d characters long (has %d; limits.job_max_name_length)",
			v.limits.JobMaxNameLength, n))
	}
}

// text checks free text (a job's name, a meta value): no NUL, at most max bytes.
func (v *validator) text(field, s string, max int) {
	switch {
	case len(s) > max:
		v.add(field, quoteShort(s), fmt.Sprintf("must be at most %d bytes long (has %d)", max, len(s)))
	case strings.ContainsRune(s, 0):
		v.add(field, quoteShort(s), "must not contain a NUL character")
	}
}

// stringMap checks a meta or env map: bounded number of entries, keys that
// can name an environment variable's suffix (not empty, no "=", no NUL or
// control character, bounded length), values of bounded length without NUL.
// Keys are visited in sorted order so that problems come out in a stable order.
func (v *validator) stringMap(field string, m map[string]string) {
	if len(m) > v.limits.JobMaxMapEntries {
		v.add(field, "", fmt.Sprintf("has %d entries: must have at most %d (limits.job_max_map_entries)", len(m), v.limits.JobMaxMapEntries))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kf := fmt.Sprintf("%s[%s]", field, quoteShort(k))
		switch {
		case k == "":
			v.add(kf, "", "the key must not be empty")
		case !utf8.ValidString(k):
			v.add(kf, "", "the key must be valid UTF-8")
		case strings.ContainsRune(k, '='):
			v.add(kf, "", `the key must not contain "=" (it names an environment variable)`)
		case strings.ContainsFunc(k, unicode.IsControl):
			v.add(kf, "", "the key must not contain NUL or other control characters")
		default:
			v.nameLength(kf, k)
		}
		v.text(kf, m[k], v.limits.JobMaxStringLength)
	}
}

// taskConfig checks a task's driver config: bounded entries per map and
// bounded nesting (the config itself is depth 1).
func (v *validator) taskConfig(cfg map[string]any) {
	if depth, path := configDepth(cfg, v.limits.TaskConfigMaxDepth+1); depth > v.limits.TaskConfigMaxDepth {
		v.add("config"+path, "", fmt.Sprintf("is nested more than %d levels deep (limits.task_config_max_depth)", v.limits.TaskConfigMaxDepth))
	}
	if len(cfg) > v.limits.JobMaxMapEntries {
		v.add("config", "", fmt.Sprintf("has %d entries: must have at most %d (limits.job_max_map_entries)", len(cfg), v.limits.JobMaxMapEntries))
	}
}

// configDepth returns the nesting depth of a config value (a map or list is
// one level more than its deepest element, anything else 0), stopping as soon
// as it reaches stop, with the path of the first value found that deep, such
// as `.a[0].b`. It recurses at most stop levels, whatever the input.
func configDepth(x any, stop int) (int, string) {
	if stop <= 0 {
		return 0, ""
	}
	deepest, at := 0, ""
	consider := func(elem any, step string) bool {
		d, p := configDepth(elem, stop-1)
		if d > deepest {
			deepest, at = d, step+p
		}
		return deepest+1 >= stop
	}
	switch x := x.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if consider(x[k], "."+k) {
				break
			}
		}
	case []any:
		for i, e := range x {
			if consider(e, fmt.Sprintf("[%d]", i)) {
				break
			}
		}
	case []map[string]any: // as HCL decodes repeated blocks
		for i, e := range x {
			if consider(e, fmt.Sprintf("[%d]", i)) {
				break
			}
		}
	default:
		return 0, ""
	}
	return deepest + 1, at
}

// encodedSize checks the size of the job's msgpack encoding: the Raft entry.
func (v *validator) encodedSize(j *Job) {
	buf, err := Encode(j)
	switch {
	case err != nil:
		v.add("", "", fmt.Sprintf("the job cannot be encoded: %v", err))
	case len(buf) > v.limits.JobMaxSize:
		v.add("", "", fmt.Sprintf("the job encodes to %d bytes: must be at most %d (limits.job_max_size)", len(buf), v.limits.JobMaxSize))
	}
}

// quoteShort quotes s for a message, shortened to its first 64 bytes.
func quoteShort(s string) string {
	if len(s) <= 64 {
		return strconv.Quote(s)
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}
