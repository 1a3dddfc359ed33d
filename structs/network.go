package structs

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Network modes. Only "host" is supported so far: ports are the node's own.
const (
	NetworkModeHost = "host"
)

// Port numbers and the dynamic port range a node offers by default, as in Nomad.
const (
	MinPort               = 1
	MaxPort               = 65535
	DefaultMinDynamicPort = 20000
	DefaultMaxDynamicPort = 32000
)

// NetworkResource is a group's network block: the host ports its allocations
// need. ReservedPorts are static (Value set by the user); DynamicPorts get
// their Value from the scheduler, from the node's dynamic range.
type NetworkResource struct {
	Mode          string // "host" (default)
	ReservedPorts []Port
	DynamicPorts  []Port
}

// Port is one port a group asks for. Label names it (the task sees
// ORCH_PORT_<label>); Value is the host port (0 for a dynamic port in a job);
// To is the port the task listens on when it differs from the host port (0:
// the same).
type Port struct {
	Label string
	Value int
	To    int
}

// AllocatedPortMapping is one port the scheduler allocated on the node: host
// port Value, mapped to To (0: the same) on the address HostIP.
type AllocatedPortMapping struct {
	Label  string
	Value  int
	To     int
	HostIP string
}

// AllocatedPorts are the ports of one allocation.
type AllocatedPorts []AllocatedPortMapping

// Get returns the mapping labelled label.
func (p AllocatedPorts) Get(label string) (AllocatedPortMapping, bool) {
	for _, m := range p {
		if m.Label == label {
			return m, true
		}
	}
	return AllocatedPortMapping{}, false
}

// Copy returns a deep copy of the network.
func (n *NetworkResource) Copy() *NetworkResource {
	if n == nil {
		return nil
	}
	c := *n
	c.ReservedPorts = slices.Clone(n.ReservedPorts)
	c.DynamicPorts = slices.Clone(n.DynamicPorts)
	return &c
}

func copyNetworks(ns []*NetworkResource) []*NetworkResource {
	if ns == nil {
		return nil
	}
	out := make([]*NetworkResource, len(ns))
	for i, n := range ns {
		out[i] = n.Copy()
	}
	return out
}

// HasPorts reports whether the group asks for any host port.
func (tg *TaskGroup) HasPorts() bool {
	for _, n := range tg.Networks {
		if n != nil && len(n.ReservedPorts)+len(n.DynamicPorts) > 0 {
			return true
		}
	}
	return false
}

// DynamicPortRange returns the range [lo, hi] of host ports the scheduler
// picks dynamic ports from on the node: NodeResources' Min/MaxDynamicPort, or
// Nomad's default 20000–32000 for each that is zero.
func (n *Node) DynamicPortRange() (lo, hi int) {
	lo, hi = DefaultMinDynamicPort, DefaultMaxDynamicPort
	if r := n.NodeResources; r != nil {
		if r.MinDynamicPort != 0 {
			lo = r.MinDynamicPort
		}
		if r.MaxDynamicPort != 0 {
			hi = r.MaxDynamicPort
		}
	}
	return lo, hi
}

// HostIP is the address allocations' ports are reachable at on the node: the
// host of its HTTP address, or 127.0.0.1 when that is unknown or a wildcard
// (0.0.0.0, ::).
// TODO(#4): use the node's fingerprinted or advertised network address once
// clients report one.
func (n *Node) HostIP() string {
	host, _, err := net.SplitHostPort(n.HTTPAddr)
	if err != nil || host == "" {
		return "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}

// ReservedPorts returns the host ports no allocation may use on the node, from
// ReservedResources.ReservedHostPorts, sorted and without duplicates. An
// unparsable specification is an error (the client validates it before
// registering, so this means a node registered by something else).
func (n *Node) ReservedPorts() ([]int, error) {
	if n.ReservedResources == nil || n.ReservedResources.ReservedHostPorts == "" {
		return nil, nil
	}
	return ParsePortRanges(n.ReservedResources.ReservedHostPorts)
}

// ErrPortSpec is returned (wrapped) by ParsePortRanges for a bad specification.
var ErrPortSpec = errors.New("structs: invalid port specification")

// ParsePortRanges parses a list of ports and ranges as Nomad writes reserved
// host ports: "22,80,8000-8100" (spaces around items allowed, an empty string
// is no port). It returns the ports sorted, without duplicates (at most 65535
// of them, whatever the specification). Every port must be within 1..65535
// and every range low-high with low <= high.
func ParsePortRanges(spec string) ([]int, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	seen := make(map[int]bool)
	var out []int
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%w %q: empty item", ErrPortSpec, spec)
		}
		loS, hiS, isRange := strings.Cut(item, "-")
		lo, err := parsePort(loS)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrPortSpec, spec, err)
		}
		hi := lo
		if isRange {
			if hi, err = parsePort(hiS); err != nil {
				return nil, fmt.Errorf("%w %q: %w", ErrPortSpec, spec, err)
			}
			if lo > hi {
				return nil, fmt.Errorf("%w %q: range %q: low end above high end", ErrPortSpec, spec, item)
			}
		}
		for p := lo; p <= hi; p++ {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func parsePort(s string) (int, error) {
	s = strings.TrimSpace(s)
	p, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number", s)
	}
	if p < MinPort || p > MaxPort {
		return 0, fmt.Errorf("port %d: must be between %d and %d", p, MinPort, MaxPort)
	}
	return p, nil
}

// validPortLabel reports whether label can name a port: it becomes part of
// environment variable names (ORCH_PORT_<label>), so it is letters, digits,
// underscores and (as Nomad's job files use them: port "product-api",
// ${NOMAD_PORT_product-api}) dashes, starting with a letter or underscore.
func validPortLabel(label string) bool {
	if label == "" {
		return false
	}
	for i, c := range label {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case (c >= '0' && c <= '9' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// networks validates a group's network blocks: at most one (as in Nomad), mode
// "host", each label a unique identifier, static ports within 1..65535 and
// not repeated, "to" within -1..65535 (-1 and 0: the host port, as Nomad's).
func (v *validator) networks(ns []*NetworkResource) {
	if len(ns) > 1 {
		v.add("network", "", fmt.Sprintf("a group may have only one network block (has %d)", len(ns)))
	}
	labels := map[string]bool{}
	statics := map[int]string{}
	for i, n := range ns {
		field := "network"
		if len(ns) > 1 {
			field = fmt.Sprintf("network[%d]", i)
		}
		if n == nil {
			v.add(field, "", "must not be null")
			continue
		}
		if n.Mode != NetworkModeHost {
			v.add(field+".mode", strconv.Quote(n.Mode), fmt.Sprintf("must be %q (other modes are not supported yet)", NetworkModeHost))
		}
		check := func(p Port, static bool) {
			pf := fmt.Sprintf("%s.port[%q]", field, p.Label)
			switch {
			case !validPortLabel(p.Label):
				v.add(pf, "", "label must be letters, digits, underscores and dashes, starting with a letter or underscore")
			case labels[p.Label]:
				v.add(pf, "", "another port of the group has the same label")
			}
			labels[p.Label] = true
			if static {
				if p.Value < MinPort || p.Value > MaxPort {
					v.add(pf+".static", strconv.Itoa(p.Value), fmt.Sprintf("must be between %d and %d", MinPort, MaxPort))
				} else if other, dup := statics[p.Value]; dup {
					v.add(pf+".static", strconv.Itoa(p.Value), fmt.Sprintf("port %q of the group has the same static port", other))
				} else {
					statics[p.Value] = p.Label
				}
			} else if p.Value != 0 {
				v.add(pf+".static", strconv.Itoa(p.Value), "must not be set on a dynamic port")
			}
			if p.To < -1 || p.To > MaxPort {
				v.add(pf+".to", strconv.Itoa(p.To), fmt.Sprintf("must be between -1 (the host port) and %d", MaxPort))
			}
		}
		for _, p := range n.ReservedPorts {
			check(p, true)
		}
		for _, p := range n.DynamicPorts {
			check(p, false)
		}
	}
}

// DimensionPorts is the dimension AllocsFit and the scheduler report when a
// host port is taken (or reserved on the node) or the dynamic range is used up.
const DimensionPorts = "ports"

// hostPorts returns the host ports a holds on its node, nil when none.
func (a *Allocation) hostPorts() AllocatedPorts {
	if a.AllocatedResources == nil {
		return nil
	}
	return a.AllocatedResources.Shared.Ports
}

// PortCollision returns "" when the non-terminal allocations hold no host
// port twice and none of the node's reserved ports; otherwise it says which
// port collides, as in `host port 80 is held by allocations a1 and a2` or
// `host port 22 is reserved on the node`. It costs nothing when no
// allocation holds a port. AllocsFit reports a collision as dimension "ports".
func PortCollision(node *Node, allocs []*Allocation) string {
	var holder map[int]string // host port → ID of the allocation holding it
	for _, a := range allocs {
		if a.TerminalStatus() {
			continue
		}
		for _, p := range a.hostPorts() {
			if holder == nil {
				holder = map[int]string{}
			}
			if other, taken := holder[p.Value]; taken {
				return fmt.Sprintf("host port %d is held by allocations %s and %s", p.Value, other, a.ID)
			}
			holder[p.Value] = a.ID
		}
	}
	if holder == nil {
		return ""
	}
	reserved, err := node.ReservedPorts()
	if err != nil {
		// Which ports are free cannot be told: place nothing with ports.
		return fmt.Sprintf("reserved host ports of the node cannot be read: %v", err)
	}
	for _, p := range reserved {
		if id, taken := holder[p]; taken {
			return fmt.Sprintf("host port %d of allocation %s is reserved on the node", p, id)
		}
	}
	return ""
}
