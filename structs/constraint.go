package structs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"
)

// Constraint operands beyond "=" and "!=" (job.go), as Nomad spells them.
// "==" and "is" are written "=", "not" is written "!=" once canonicalized.
const (
	ConstraintLess             = "<"
	ConstraintLessEqual        = "<="
	ConstraintGreater          = ">"
	ConstraintGreaterEqual     = ">="
	ConstraintRegex            = "regexp"
	ConstraintVersion          = "version"
	ConstraintSemver           = "semver"
	ConstraintSetContains      = "set_contains"
	ConstraintSetContainsAll   = "set_contains_all"
	ConstraintSetContainsAny   = "set_contains_any"
	ConstraintAttributeIsSet   = "is_set"
	ConstraintAttributeIsNot   = "is_not_set"
	ConstraintDistinctHosts    = "distinct_hosts"
	ConstraintDistinctProperty = "distinct_property"
)

// ConstraintOperands lists every operand a job may use, canonical spellings
// and aliases, for messages.
var ConstraintOperands = []string{
	ConstraintEqual, "==", "is", ConstraintNotEqual, "not",
	ConstraintLess, ConstraintLessEqual, ConstraintGreater, ConstraintGreaterEqual,
	ConstraintRegex, ConstraintVersion, ConstraintSemver,
	ConstraintSetContains, ConstraintSetContainsAll, ConstraintSetContainsAny,
	ConstraintAttributeIsSet, ConstraintAttributeIsNot,
	ConstraintDistinctHosts, ConstraintDistinctProperty,
}

// DistinctHostsEnabled reports whether a distinct_hosts constraint is on:
// its value is empty or a true boolean ("true", "1", ...), as in Nomad.
func (c *Constraint) DistinctHostsEnabled() bool {
	if c.Operand != ConstraintDistinctHosts {
		return false
	}
	if c.RTarget == "" {
		return true
	}
	on, err := strconv.ParseBool(c.RTarget)
	return err == nil && on
}

// DistinctPropertyLimit is how many allocations a distinct_property
// constraint allows per value of the property: its value, 1 when empty.
// ok is false when the value is not a positive integer.
func (c *Constraint) DistinctPropertyLimit() (limit int, ok bool) {
	if c.RTarget == "" {
		return 1, true
	}
	n, err := strconv.ParseUint(c.RTarget, 10, 31)
	if err != nil || n == 0 {
		return 0, false
	}
	return int(n), true
}

// VersionConstraint is a parsed "version" or "semver" constraint value.
type VersionConstraint struct {
	semver bool
	loose  version.Constraints // version
	strict []semverCondition   // semver
}

// ParseVersionConstraint parses the value of a "version" constraint: a
// comma-separated list of conditions as hashicorp/go-version reads them,
// ">= 1.2, < 2.0", "~> 1.4", "= 1.2.3".
func ParseVersionConstraint(s string) (*VersionConstraint, error) {
	cs, err := version.NewConstraint(s)
	if err != nil {
		return nil, err
	}
	return &VersionConstraint{loose: cs}, nil
}

type semverCondition struct {
	op string // "=", "!=", ">", ">=", "<", "<="
	v  *version.Version
}

var semverConditionRe = regexp.MustCompile(`^(=|!=|>=|<=|>|<)?\s*(\S+)$`)

// ParseSemverConstraint parses the value of a "semver" constraint: a
// comma-separated list of conditions "op version", op one of = != > >= < <=
// (none means =), each version a semantic version (1.2.3, 1.2.3-beta.1).
// Unlike "version", pre-releases compare by semver precedence (1.2.0-beta <
// 1.2.0, and ">= 1.0.0" admits 1.1.0-rc.1) and there is no "~>".
func ParseSemverConstraint(s string) (*VersionConstraint, error) {
	out := &VersionConstraint{semver: true}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		m := semverConditionRe.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("malformed semver condition %q", part)
		}
		v, err := version.NewSemver(m[2])
		if err != nil {
			return nil, fmt.Errorf("condition %q: %v", part, err)
		}
		op := m[1]
		if op == "" {
			op = ConstraintEqual
		}
		out.strict = append(out.strict, semverCondition{op: op, v: v})
	}
	return out, nil
}

// Match reports whether the version v satisfies the constraint; a v that
// does not parse (as a version, or a semantic version for semver) does not.
func (vc *VersionConstraint) Match(v string) bool {
	if !vc.semver {
		parsed, err := version.NewVersion(v)
		return err == nil && vc.loose.Check(parsed)
	}
	parsed, err := version.NewSemver(v)
	if err != nil {
		return false
	}
	for _, c := range vc.strict {
		cmp := parsed.Compare(c.v)
		var ok bool
		switch c.op {
		case ConstraintEqual:
			ok = cmp == 0
		case ConstraintNotEqual:
			ok = cmp != 0
		case ConstraintGreater:
			ok = cmp > 0
		case ConstraintGreaterEqual:
			ok = cmp >= 0
		case ConstraintLess:
			ok = cmp < 0
		case ConstraintLessEqual:
			ok = cmp <= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// constraintProblem is one rule a constraint breaks: field is "attribute",
// "operator" or "value".
type constraintProblem struct {
	field, value, rule string
}

// problems checks one canonicalized constraint the way Nomad does: the
// operator is known, the attribute is set (except for distinct_hosts), the
// value is set where the operator compares with it and absent for is_set and
// is_not_set, and a regexp compiles, a version or semver constraint parses, a
// distinct_hosts value is a boolean, a distinct_property limit a positive
// integer.
func (c *Constraint) problems() []constraintProblem {
	var out []constraintProblem
	add := func(field, value, rule string) {
		out = append(out, constraintProblem{field, value, rule})
	}
	quotedR := strconv.Quote(c.RTarget)
	needValue := func() {
		if c.RTarget == "" {
			add("value", `""`, fmt.Sprintf("must be set for operator %q", c.Operand))
		}
	}
	if c.LTarget == "" && c.Operand != ConstraintDistinctHosts {
		add("attribute", `""`, "must not be empty")
	}
	switch c.Operand {
	case ConstraintEqual, ConstraintNotEqual:
	case ConstraintLess, ConstraintLessEqual, ConstraintGreater, ConstraintGreaterEqual,
		ConstraintSetContains, ConstraintSetContainsAll, ConstraintSetContainsAny:
		needValue()
	case ConstraintRegex:
		needValue()
		if _, err := regexp.Compile(c.RTarget); c.RTarget != "" && err != nil {
			add("value", quotedR, fmt.Sprintf("must be a valid regular expression: %v", err))
		}
	case ConstraintVersion:
		needValue()
		if _, err := ParseVersionConstraint(c.RTarget); c.RTarget != "" && err != nil {
			add("value", quotedR, fmt.Sprintf("must be a version constraint such as \">= 1.2, < 2.0\": %v", err))
		}
	case ConstraintSemver:
		needValue()
		if _, err := ParseSemverConstraint(c.RTarget); c.RTarget != "" && err != nil {
			add("value", quotedR, fmt.Sprintf("must be a semver constraint such as \">= 1.2.0, < 2.0.0\": %v", err))
		}
	case ConstraintAttributeIsSet, ConstraintAttributeIsNot:
		if c.RTarget != "" {
			add("value", quotedR, fmt.Sprintf("must not be set for operator %q", c.Operand))
		}
	case ConstraintDistinctHosts:
		if _, err := strconv.ParseBool(c.RTarget); c.RTarget != "" && err != nil {
			add("value", quotedR, "must be true or false for distinct_hosts")
		}
	case ConstraintDistinctProperty:
		if _, ok := c.DistinctPropertyLimit(); !ok {
			add("value", quotedR, "must be a positive integer (allocations allowed per property value) for distinct_property")
		}
	default:
		add("operator", strconv.Quote(c.Operand), "must be one of "+quoteAll(ConstraintOperands))
	}
	return out
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
