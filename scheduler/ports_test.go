package scheduler

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/orch-io/orch/structs"
)

func portGroup(static map[string]int, dynamic ...string) *structs.TaskGroup {
	n := &structs.NetworkResource{Mode: structs.NetworkModeHost}
	for _, label := range slices.Sorted(maps.Keys(static)) {
		n.ReservedPorts = append(n.ReservedPorts, structs.Port{Label: label, Value: static[label]})
	}
	for _, d := range dynamic {
		n.DynamicPorts = append(n.DynamicPorts, structs.Port{Label: d})
	}
	return &structs.TaskGroup{Name: "g", Networks: []*structs.NetworkResource{n}}
}

func portNode(lo, hi int, reserved string) *nodeUsage {
	n := mockNode("n").Build()
	n.NodeResources.MinDynamicPort, n.NodeResources.MaxDynamicPort = lo, hi
	if reserved != "" {
		n.ReservedResources = &structs.NodeResources{ReservedHostPorts: reserved}
	}
	return &nodeUsage{id: n.ID, node: n, scanned: true}
}

func holding(ports ...int) *structs.Allocation {
	a := &structs.Allocation{AllocatedResources: &structs.AllocatedResources{}}
	for _, p := range ports {
		a.AllocatedResources.Shared.Ports = append(a.AllocatedResources.Shared.Ports, structs.AllocatedPortMapping{Value: p})
	}
	return a
}

func TestPortAskNilWithoutPorts(t *testing.T) {
	if newPortAsk(&structs.TaskGroup{}) != nil || newPortAsk(portGroup(nil)) != nil {
		t.Fatal("a group without ports needs no port stage")
	}
}

func TestPortFitCountsFreeDynamicPorts(t *testing.T) {
	// Range 100-109: 10 ports. Reserved 100, 101 and 5 (out of range); held
	// 101 (also reserved), 102, 500 (out of range); the group's static 103.
	nu := portNode(100, 109, "5,100-101")
	nu.addPorts(holding(101, 102, 500), 1)
	ask := newPortAsk(portGroup(map[string]int{"s": 103}, "a"))
	nu.ports.readReserved(nu.node)
	if got := ask.freeDynamic(nu); got != 6 {
		t.Fatalf("free dynamic ports = %d, want 6 (104-109)", got)
	}
	six := newPortAsk(portGroup(map[string]int{"s": 103}, "a", "b", "c", "d", "e", "f"))
	seven := newPortAsk(portGroup(map[string]int{"s": 103}, "a", "b", "c", "d", "e", "f", "g"))
	if !six.fit(nu) || seven.fit(nu) {
		t.Fatal("six dynamic ports fit in six free ones, seven do not")
	}
	for _, static := range []int{5, 100, 102, 500} {
		if newPortAsk(portGroup(map[string]int{"s": static})).fit(nu) {
			t.Errorf("static port %d is reserved or held, yet fits", static)
		}
	}
	if !newPortAsk(portGroup(map[string]int{"s": 501})).fit(nu) {
		t.Error("a free static port outside the range fits")
	}
	// A stop releases the ports.
	nu.addPorts(holding(101, 102, 500), -1)
	if !newPortAsk(portGroup(map[string]int{"s": 102})).fit(nu) {
		t.Error("a released port fits again")
	}
}

func TestPortFitRejectsUnreadableReservation(t *testing.T) {
	nu := portNode(100, 109, "oops")
	if newPortAsk(portGroup(nil, "a")).fit(nu) {
		t.Fatal("no port may be given when the node's reserved ports cannot be read")
	}
}

func TestPortAssignIsDeterministicAndNeverCollides(t *testing.T) {
	ask := newPortAsk(portGroup(map[string]int{"s": 105}, "a", "b", "c"))
	assign := func(seed uint64) structs.AllocatedPorts {
		nu := portNode(100, 109, "100,109")
		nu.addPorts(holding(101, 108), 1)
		ports, ok := ask.assign(nu, rand.New(rand.NewPCG(seed, 1)), "10.0.0.1")
		if !ok {
			t.Fatalf("seed %d: no ports", seed)
		}
		return ports
	}
	for seed := range uint64(200) {
		ports := assign(seed)
		if !slices.Equal(ports, assign(seed)) {
			t.Fatalf("seed %d: two assignments differ", seed)
		}
		if ports[0] != (structs.AllocatedPortMapping{Label: "s", Value: 105, HostIP: "10.0.0.1"}) {
			t.Fatalf("static port %+v", ports[0])
		}
		seen := map[int]bool{}
		for _, p := range ports {
			if seen[p.Value] || slices.Contains([]int{100, 101, 108, 109}, p.Value) || p.Value < 100 || p.Value > 109 {
				t.Fatalf("seed %d: bad port %d in %+v", seed, p.Value, ports)
			}
			seen[p.Value] = true
		}
	}
	// Exactly as many free ports as asked: the walk finds the last ones.
	nu := portNode(100, 103, "")
	nu.addPorts(holding(101), 1)
	ports, ok := newPortAsk(portGroup(nil, "a", "b", "c")).assign(nu, rand.New(rand.NewPCG(1, 1)), "h")
	got := []int{}
	for _, p := range ports {
		got = append(got, p.Value)
	}
	slices.Sort(got)
	if !ok || !slices.Equal(got, []int{100, 102, 103}) {
		t.Fatalf("ports %v ok=%v, want 100 102 103", got, ok)
	}
	if _, ok := newPortAsk(portGroup(nil, "a", "b", "c", "d")).assign(nu, rand.New(rand.NewPCG(1, 1)), "h"); ok {
		t.Fatal("four dynamic ports from three free ones")
	}
}
