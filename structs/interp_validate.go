package structs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Malformed ${...} references: the client interpolates ${name} in a task's
// config, env and meta and in service names (and leaves unknown names as
// written, as Nomad does), so a reference that can never be one is a
// mistake best reported when the job is validated: a "${" with no closing
// "}", or an empty "${}".

// malformedInterpolation returns why s holds a malformed reference, or "".
func malformedInterpolation(s string) string {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			return ""
		}
		j += i
		end := strings.IndexByte(s[j+2:], '}')
		switch {
		case end < 0:
			return fmt.Sprintf(`has an unterminated "${" at offset %d: a reference is ${name}, closed by "}"`, j)
		case strings.TrimSpace(s[j+2:j+2+end]) == "":
			return fmt.Sprintf(`has an empty "${}" at offset %d: a reference names a variable, as ${NOMAD_ALLOC_ID} or ${meta.rack}`, j)
		}
		i = j + 2 + end + 1
	}
	return ""
}

// interpolated checks one string that the client interpolates.
func (v *validator) interpolated(field, s string) {
	if why := malformedInterpolation(s); why != "" {
		v.add(field, quoteShort(s), why)
	}
}

// interpolatedMap checks the values of an env or meta map.
func (v *validator) interpolatedMap(field string, m map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v.interpolated(fmt.Sprintf("%s[%s]", field, quoteShort(k)), m[k])
	}
}

// interpolatedConfig checks every string of a task's config, naming each
// by its path (config.args[0]).
func (v *validator) interpolatedConfig(path string, x any, depth int) {
	if depth > v.limits.TaskConfigMaxDepth+1 {
		return // reported by taskConfig
	}
	switch x := x.(type) {
	case string:
		v.interpolated(path, x)
	case []string:
		for i, s := range x {
			v.interpolated(fmt.Sprintf("%s[%d]", path, i), s)
		}
	case []any:
		for i, e := range x {
			v.interpolatedConfig(fmt.Sprintf("%s[%d]", path, i), e, depth+1)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			v.interpolatedConfig(path+"."+k, x[k], depth+1)
		}
	case []map[string]any:
		for i, m := range x {
			v.interpolatedConfig(fmt.Sprintf("%s[%d]", path, i), m, depth+1)
		}
	case map[string]string:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			v.interpolated(path+"."+k, x[k])
		}
	}
}
