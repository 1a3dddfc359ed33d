package scheduler

import (
	"math/rand/v2"
	"slices"

	"github.com/orch-io/orch/structs"
)

// portAsk is the host ports one allocation of a group needs: its network
// block's static ports, and how many dynamic ports (picked per node). The
// bin-pack stage asks it whether a node can give them (fit), and the
// scheduler asks it to pick them on the chosen node (assign).
type portAsk struct {
	static  []structs.Port // Value is the host port
	dynamic []structs.Port // Value is picked by assign
}

// newPortAsk returns the group's port ask, or nil when it needs no port.
func newPortAsk(tg *structs.TaskGroup) *portAsk {
	if !tg.HasPorts() {
		return nil
	}
	p := &portAsk{}
	for _, n := range tg.Networks {
		if n == nil {
			continue
		}
		p.static = append(p.static, n.ReservedPorts...)
		p.dynamic = append(p.dynamic, n.DynamicPorts...)
	}
	return p
}

// nodePorts is what the plan knows of the host ports of one node: how many
// live allocations hold each (the snapshot's once scanned, plus what the plan
// places, less what it stops; a count may dip below zero while a stop is
// recorded before the scan that adds the stopped allocation), and the ports
// reserved on the node, read once.
type nodePorts struct {
	held map[int]int
	// reserved are the node's reserved host ports, sorted; reservedBad is set
	// when they cannot be read, and then no port is given on the node.
	reserved     []int
	reservedRead bool
	reservedBad  bool
}

// addPorts counts the host ports of a as held (n = 1) or released (n = -1).
// It allocates nothing for an allocation without ports.
func (nu *nodeUsage) addPorts(a *structs.Allocation, n int) {
	if a.AllocatedResources == nil || len(a.AllocatedResources.Shared.Ports) == 0 {
		return
	}
	if nu.ports.held == nil {
		nu.ports.held = map[int]int{}
	}
	for _, p := range a.AllocatedResources.Shared.Ports {
		nu.ports.held[p.Value] += n
	}
}

// taken reports whether port is held by a live allocation or reserved on the node.
func (np *nodePorts) taken(port int) bool {
	if np.held[port] > 0 {
		return true
	}
	_, reserved := slices.BinarySearch(np.reserved, port)
	return reserved
}

func (np *nodePorts) readReserved(node *structs.Node) {
	if np.reservedRead {
		return
	}
	np.reservedRead = true
	r, err := node.ReservedPorts()
	np.reserved, np.reservedBad = r, err != nil
}

// fit reports whether the node can give one more allocation of the group its
// ports: every static port free and not reserved, and at least as many free
// ports in the node's dynamic range as the group has dynamic ports.
// Invariant: nu has been scanned.
func (p *portAsk) fit(nu *nodeUsage) bool {
	np := &nu.ports
	np.readReserved(nu.node)
	if np.reservedBad {
		return false
	}
	for _, s := range p.static {
		if np.taken(s.Value) {
			return false
		}
	}
	if len(p.dynamic) == 0 {
		return true
	}
	return p.freeDynamic(nu) >= len(p.dynamic)
}

// freeDynamic counts the ports of the node's dynamic range that are neither
// held, reserved, nor one of the group's own static ports. It costs a binary
// search per reserved bound and a look at each held port, never a walk of the
// range.
func (p *portAsk) freeDynamic(nu *nodeUsage) int {
	lo, hi := nu.node.DynamicPortRange()
	if lo > hi {
		return 0
	}
	np := &nu.ports
	from, _ := slices.BinarySearch(np.reserved, lo)
	to, _ := slices.BinarySearch(np.reserved, hi+1)
	taken := to - from
	// Held and static ports in range, unless already counted as reserved.
	var counted map[int]bool
	count := func(port int) {
		if port < lo || port > hi {
			return
		}
		if _, reserved := slices.BinarySearch(np.reserved, port); reserved {
			return
		}
		if counted == nil {
			counted = map[int]bool{}
		}
		if !counted[port] {
			counted[port] = true
			taken++
		}
	}
	for port, n := range np.held {
		if n > 0 {
			count(port)
		}
	}
	for _, s := range p.static {
		count(s.Value)
	}
	return hi - lo + 1 - taken
}

// randomPortTries is how many random picks assign makes for a dynamic port
// before it walks the range: on a sparsely used range the first pick almost
// always lands, and a walk from a random start still finds a port on a
// nearly full one.
const randomPortTries = 20

// assign picks the allocation's ports on the node: the static ports as asked
// and each dynamic port at random (from r, so a seeded evaluation always picks
// the same ports) among the free ports of the node's dynamic range. hostIP is
// recorded on every mapping. ok is false when the node cannot give them; fit
// said it could, so that is a bug in the caller (a node whose ports changed
// between fit and assign).
func (p *portAsk) assign(nu *nodeUsage, r *rand.Rand, hostIP string) (ports structs.AllocatedPorts, ok bool) {
	np := &nu.ports
	np.readReserved(nu.node)
	if np.reservedBad {
		return nil, false
	}
	out := make(structs.AllocatedPorts, 0, len(p.static)+len(p.dynamic))
	mine := make(map[int]bool, len(p.static)+len(p.dynamic))
	for _, s := range p.static {
		if np.taken(s.Value) || mine[s.Value] {
			return nil, false
		}
		mine[s.Value] = true
		out = append(out, structs.AllocatedPortMapping{Label: s.Label, Value: s.Value, To: s.To, HostIP: hostIP})
	}
	lo, hi := nu.node.DynamicPortRange()
	free := func(port int) bool { return !mine[port] && !np.taken(port) }
	for _, d := range p.dynamic {
		if lo > hi {
			return nil, false
		}
		size := hi - lo + 1
		port, found := 0, false
		for range randomPortTries {
			if c := lo + r.IntN(size); free(c) {
				port, found = c, true
				break
			}
		}
		if !found {
			start := r.IntN(size)
			for i := range size {
				if c := lo + (start+i)%size; free(c) {
					port, found = c, true
					break
				}
			}
		}
		if !found {
			return nil, false
		}
		mine[port] = true
		out = append(out, structs.AllocatedPortMapping{Label: d.Label, Value: port, To: d.To, HostIP: hostIP})
	}
	return out, true
}
