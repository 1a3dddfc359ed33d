package structs

import (
	"testing"
)

func classNode() *Node {
	return &Node{
		ID: "n1", Name: "n1", Datacenter: "dc1", NodeClass: "large",
		Attributes:    map[string]string{"kernel.name": "linux", "unique.hostname": "h1"},
		Meta:          map[string]string{"rack": "r1", "unique.serial": "s1"},
		Drivers:       map[string]*DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		NodeResources: &NodeResources{CPU: 1000},
	}
}

func TestComputeClassIgnoresUniqueFieldsAndResources(t *testing.T) {
	base := classNode()
	base.ComputeClass()
	if base.ComputedClass == "" {
		t.Fatal("no class computed")
	}
	same := []func(n *Node){
		func(n *Node) { n.ID, n.Name = "n2", "n2" },
		func(n *Node) { n.Attributes["unique.hostname"] = "h2" },
		func(n *Node) { n.Meta["unique.serial"] = "s2" },
		func(n *Node) { n.NodeResources.CPU = 2000 },
		func(n *Node) { n.Drivers["raw_exec"].HealthDescription = "fine" },
		func(n *Node) { n.NodePool = "default" }, // "" is "default"
	}
	for i, mutate := range same {
		n := classNode()
		mutate(n)
		n.ComputeClass()
		if n.ComputedClass != base.ComputedClass {
			t.Errorf("change %d changed the class", i)
		}
	}
	different := map[string]func(n *Node){
		"datacenter": func(n *Node) { n.Datacenter = "dc2" },
		"pool":       func(n *Node) { n.NodePool = "gpu" },
		"class":      func(n *Node) { n.NodeClass = "small" },
		"attribute":  func(n *Node) { n.Attributes["kernel.name"] = "darwin" },
		"new attr":   func(n *Node) { n.Attributes["cpu.arch"] = "arm64" },
		"meta":       func(n *Node) { n.Meta["rack"] = "r2" },
		"health":     func(n *Node) { n.Drivers["raw_exec"].Healthy = false },
		"driver":     func(n *Node) { n.Drivers["docker"] = &DriverInfo{Detected: true} },
		// Keys and values must not run together: {"ab": "c"} is not {"a": "bc"}.
		"boundaries": func(n *Node) { n.Meta = map[string]string{"rac": "kr1", "unique.serial": "s1"} },
	}
	for name, mutate := range different {
		n := classNode()
		mutate(n)
		n.ComputeClass()
		if n.ComputedClass == base.ComputedClass {
			t.Errorf("%s: class did not change", name)
		}
	}
}

func TestNodePools(t *testing.T) {
	got := NodePools([]*NodeListStub{{NodePool: "gpu"}, {NodePool: ""}, {NodePool: "default"}, {NodePool: "gpu"}, {NodePool: "arm"}})
	var s []string
	for _, p := range got {
		s = append(s, p.Name+":"+string(rune('0'+p.Nodes)))
	}
	if want := []string{"arm:1", "default:2", "gpu:2"}; len(s) != 3 || s[0] != want[0] || s[1] != want[1] || s[2] != want[2] {
		t.Fatalf("pools %v, want %v", s, want)
	}
	if (&Node{}).Pool() != "default" || (&Node{NodePool: "x"}).Pool() != "x" {
		t.Fatal("Pool()")
	}
}
