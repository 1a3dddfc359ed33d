package structs

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
)

// Node pools, as in Nomad.
const (
	NodePoolDefault = "default" // where nodes and jobs go unless they say otherwise
	NodePoolAll     = "all"     // a job in pool "all" may run on any node
)

// Pool returns the node's pool: NodePool, or "default" when empty.
func (n *Node) Pool() string {
	if n.NodePool == "" {
		return NodePoolDefault
	}
	return n.NodePool
}

// uniquePrefix marks attributes and meta keys unique to a node
// ("unique.hostname", "unique.network.ip-address"): they are left out of the
// computed class, and constraints reading them are checked node by node.
const uniquePrefix = "unique."

// ComputeClass sets n.ComputedClass to a hash of everything the scheduler's
// class-level feasibility checks read: datacenter, pool, node class,
// attributes and meta (except keys starting with "unique."), and each
// driver's name, detection and health. Two nodes with the same computed class
// pass or fail those checks alike, so the scheduler checks one node per class
// (scheduler/feasible.go). Resources are not in it: they are checked per node.
// Call it whenever one of those fields changes (the server does on register).
func (n *Node) ComputeClass() {
	h := fnv.New64a()
	put := func(s string) {
		var l [8]byte
		binary.LittleEndian.PutUint64(l[:], uint64(len(s)))
		h.Write(l[:])
		h.Write([]byte(s))
	}
	putMap := func(tag string, m map[string]string) {
		put(tag)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if strings.HasPrefix(k, uniquePrefix) {
				continue
			}
			put(k)
			put(m[k])
		}
	}
	put(n.Datacenter)
	put(n.Pool())
	put(n.NodeClass)
	putMap("attributes", n.Attributes)
	putMap("meta", n.Meta)
	put("drivers")
	for _, name := range slices.Sorted(maps.Keys(n.Drivers)) {
		d := n.Drivers[name]
		put(name)
		put(fmt.Sprint(d != nil && d.Detected, d != nil && d.Healthy))
	}
	n.ComputedClass = fmt.Sprintf("v1:%016x", h.Sum64())
}

// NodePoolStub is one node pool as GET /v1/node/pools lists it: its name and
// how many registered nodes it holds.
type NodePoolStub struct {
	Name  string
	Nodes int
}

// NodePools lists the pools the nodes are in, by name, with their node counts.
func NodePools(nodes []*NodeListStub) []*NodePoolStub {
	counts := map[string]int{}
	for _, n := range nodes {
		pool := n.NodePool
		if pool == "" {
			pool = NodePoolDefault
		}
		counts[pool]++
	}
	out := make([]*NodePoolStub, 0, len(counts))
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		out = append(out, &NodePoolStub{Name: name, Nodes: counts[name]})
	}
	return out
}
