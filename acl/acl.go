package acl

import (
	"path"
	"slices"
	"strings"
)

// ACL is the compiled permissions of a token: the union of its policies,
// where a deny anywhere wins. Immutable and safe for concurrent use.
type ACL struct {
	management bool
	// exact holds the capabilities of namespaces named without wildcards;
	// globs those of names with *, matched when no exact name does.
	exact map[string]capSet
	globs []globRule
	// node, agent and operator are the levels of those blocks: levelNone,
	// levelDeny, levelRead or levelWrite.
	node, agent, operator level
}

type capSet map[string]struct{}

type globRule struct {
	pattern string
	caps    capSet
}

type level uint8

const (
	levelNone level = iota
	levelRead
	levelWrite
	levelDeny // highest: a deny in any policy wins
)

func levelOf(s string) level {
	switch s {
	case PolicyRead:
		return levelRead
	case PolicyWrite:
		return levelWrite
	case PolicyDeny:
		return levelDeny
	}
	return levelNone
}

// Management is the ACL of a management token: everything is allowed.
var Management = &ACL{management: true}

// New compiles policies into one ACL. Capabilities of blocks naming the
// same namespace add up; a deny capability, or a deny level, wins over any
// grant. New(nil) allows nothing (the ACL of an unknown token with no
// anonymous policy).
func New(policies []*Policy) *ACL {
	a := &ACL{exact: map[string]capSet{}}
	globs := map[string]capSet{}
	for _, p := range policies {
		if p == nil {
			continue
		}
		for _, ns := range p.Namespaces {
			dst := a.exact
			if strings.Contains(ns.Name, "*") {
				dst = globs
			}
			set := dst[ns.Name]
			if set == nil {
				set = capSet{}
				dst[ns.Name] = set
			}
			for _, c := range capsOfPolicy(ns.Policy) {
				set[c] = struct{}{}
			}
			for _, c := range ns.Capabilities {
				set[c] = struct{}{}
			}
		}
		a.node = max(a.node, levelOf(p.Node))
		a.agent = max(a.agent, levelOf(p.Agent))
		a.operator = max(a.operator, levelOf(p.Operator))
	}
	for pattern, caps := range globs {
		a.globs = append(a.globs, globRule{pattern: pattern, caps: caps})
	}
	literal := func(p string) int { return len(p) - strings.Count(p, "*") }
	slices.SortFunc(a.globs, func(x, y globRule) int {
		if d := literal(y.pattern) - literal(x.pattern); d != 0 {
			return d
		}
		return strings.Compare(x.pattern, y.pattern)
	})
	return a
}

// IsManagement reports whether the ACL is a management token's.
func (a *ACL) IsManagement() bool { return a.management }

// namespaceCaps returns the capabilities that apply to ns: those of the
// block naming it exactly, else those of the most specific wildcard block
// matching it (globs are sorted most literal characters first), else none.
func (a *ACL) namespaceCaps(ns string) capSet {
	if set, ok := a.exact[ns]; ok {
		return set
	}
	for _, g := range a.globs {
		if ok, _ := path.Match(g.pattern, ns); ok {
			return g.caps
		}
	}
	return nil
}

// AllowNamespaceOperation reports whether the ACL grants capability op in
// namespace ns.
func (a *ACL) AllowNamespaceOperation(ns, op string) bool {
	if a.management {
		return true
	}
	set := a.namespaceCaps(ns)
	if _, denied := set[CapDeny]; denied {
		return false
	}
	_, ok := set[op]
	return ok
}

// AllowNamespace reports whether the ACL grants anything in ns (what a
// list filtered by namespace shows).
func (a *ACL) AllowNamespace(ns string) bool {
	if a.management {
		return true
	}
	set := a.namespaceCaps(ns)
	if _, denied := set[CapDeny]; denied {
		return false
	}
	return len(set) > 0
}

// AllowNamespaceOperationAnywhere reports whether the ACL grants op in some
// namespace (a block, exact or wildcard, that grants it and does not deny):
// what a request for every namespace ("*"), or one whose namespace is known
// only to the servers, needs before they filter or decide.
func (a *ACL) AllowNamespaceOperationAnywhere(op string) bool {
	if a.management {
		return true
	}
	grants := func(set capSet) bool {
		_, denied := set[CapDeny]
		_, ok := set[op]
		return ok && !denied
	}
	for _, set := range a.exact {
		if grants(set) {
			return true
		}
	}
	for _, g := range a.globs {
		if grants(g.caps) {
			return true
		}
	}
	return false
}

// AllowAnyNamespace reports whether the ACL grants anything in some
// namespace (what listing the namespaces needs).
func (a *ACL) AllowAnyNamespace() bool {
	if a.management {
		return true
	}
	for _, set := range a.exact {
		if _, denied := set[CapDeny]; !denied && len(set) > 0 {
			return true
		}
	}
	for _, g := range a.globs {
		if _, denied := g.caps[CapDeny]; !denied && len(g.caps) > 0 {
			return true
		}
	}
	return false
}

func (a *ACL) allow(l level, write bool) bool {
	if a.management {
		return true
	}
	if write {
		return l == levelWrite
	}
	return l == levelRead || l == levelWrite
}

// AllowNodeRead, AllowNodeWrite, AllowAgentRead, AllowAgentWrite,
// AllowOperatorRead and AllowOperatorWrite report the node, agent and
// operator levels: write implies read; deny allows nothing.
func (a *ACL) AllowNodeRead() bool      { return a.allow(a.node, false) }
func (a *ACL) AllowNodeWrite() bool     { return a.allow(a.node, true) }
func (a *ACL) AllowAgentRead() bool     { return a.allow(a.agent, false) }
func (a *ACL) AllowAgentWrite() bool    { return a.allow(a.agent, true) }
func (a *ACL) AllowOperatorRead() bool  { return a.allow(a.operator, false) }
func (a *ACL) AllowOperatorWrite() bool { return a.allow(a.operator, true) }
