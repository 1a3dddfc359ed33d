package structs

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParsePortRanges(t *testing.T) {
	for spec, want := range map[string][]int{
		"":                nil,
		"  ":              nil,
		"22":              {22},
		"22,80,8000-8003": {22, 80, 8000, 8001, 8002, 8003},
		" 80 , 22 ,80":    {22, 80},
		"5-7,6-8":         {5, 6, 7, 8},
		"65535":           {65535},
	} {
		got, err := ParsePortRanges(spec)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParsePortRanges(%q) = %v, %v; want %v", spec, got, err, want)
		}
	}
	for spec, why := range map[string]string{
		"0":       "port 0: must be between 1 and 65535",
		"65536":   "port 65536: must be between 1 and 65535",
		"a":       `port "a" is not a number`,
		"22,,80":  "empty item",
		"90-80":   `range "90-80": low end above high end`,
		"80-":     `port "" is not a number`,
		"1-2-3":   `port "2-3" is not a number`,
		"-5":      `port "" is not a number`,
		"22,8000": "",
	} {
		_, err := ParsePortRanges(spec)
		if why == "" {
			if err != nil {
				t.Errorf("ParsePortRanges(%q): %v", spec, err)
			}
			continue
		}
		if !errors.Is(err, ErrPortSpec) || !strings.Contains(err.Error(), why) {
			t.Errorf("ParsePortRanges(%q) = %v; want ErrPortSpec saying %q", spec, err, why)
		}
	}
}

func TestDynamicPortRangeDefaults(t *testing.T) {
	n := &Node{}
	if lo, hi := n.DynamicPortRange(); lo != 20000 || hi != 32000 {
		t.Fatalf("default range %d-%d", lo, hi)
	}
	n.NodeResources = &NodeResources{MinDynamicPort: 30000}
	if lo, hi := n.DynamicPortRange(); lo != 30000 || hi != 32000 {
		t.Fatalf("range %d-%d", lo, hi)
	}
}

func portAlloc(ports ...int) *Allocation {
	a := &Allocation{DesiredStatus: AllocDesiredStatusRun, ClientStatus: AllocClientStatusRunning,
		AllocatedResources: &AllocatedResources{Tasks: map[string]*Resources{"t": {CPU: 10, MemoryMB: 10}}}}
	for _, p := range ports {
		a.AllocatedResources.Shared.Ports = append(a.AllocatedResources.Shared.Ports, AllocatedPortMapping{Label: "p", Value: p})
	}
	return a
}

func TestAllocsFitDetectsPortCollisions(t *testing.T) {
	node := &Node{
		NodeResources:     &NodeResources{CPU: 4000, MemoryMB: 8192, DiskMB: 10000},
		ReservedResources: &NodeResources{ReservedHostPorts: "22,8000-8100"},
	}
	if fit, dim, _ := AllocsFit(node, []*Allocation{portAlloc(80, 20000), portAlloc(81), portAlloc()}); !fit {
		t.Fatalf("distinct ports: fit=false dim=%q", dim)
	}
	if fit, dim, _ := AllocsFit(node, []*Allocation{portAlloc(80), portAlloc(81, 80)}); fit || dim != DimensionPorts {
		t.Fatalf("port 80 twice: fit=%v dim=%q, want ports", fit, dim)
	}
	if fit, dim, _ := AllocsFit(node, []*Allocation{portAlloc(8050)}); fit || dim != DimensionPorts {
		t.Fatalf("reserved port 8050: fit=%v dim=%q, want ports", fit, dim)
	}
	stopped := portAlloc(80)
	stopped.DesiredStatus = AllocDesiredStatusStop
	if fit, dim, _ := AllocsFit(node, []*Allocation{stopped, portAlloc(80)}); !fit {
		t.Fatalf("a stopped allocation frees its port: dim=%q", dim)
	}
	node.ReservedResources.ReservedHostPorts = "nonsense"
	if fit, _, _ := AllocsFit(node, []*Allocation{portAlloc(80)}); fit {
		t.Fatal("with unreadable reserved ports nothing holding a port may fit")
	}
	if fit, _, _ := AllocsFit(node, []*Allocation{portAlloc()}); !fit {
		t.Fatal("allocations without ports do not care about reserved ports")
	}
}

func TestAllocCopyClonesPorts(t *testing.T) {
	a := portAlloc(80)
	c := a.Copy()
	c.AllocatedResources.Shared.Ports[0].Value = 81
	if a.AllocatedResources.Shared.Ports[0].Value != 80 {
		t.Fatal("Copy shares the ports slice")
	}
}

func TestTaskGroupCopyClonesNetworks(t *testing.T) {
	tg := &TaskGroup{Networks: []*NetworkResource{{Mode: "host", ReservedPorts: []Port{{Label: "a", Value: 80}}, DynamicPorts: []Port{{Label: "b"}}}}}
	c := tg.Copy()
	c.Networks[0].ReservedPorts[0].Value = 81
	c.Networks[0].DynamicPorts[0].To = 9
	c.Networks[0].Mode = "bridge"
	n := tg.Networks[0]
	if n.ReservedPorts[0].Value != 80 || n.DynamicPorts[0].To != 0 || n.Mode != "host" {
		t.Fatalf("Copy shares the network: %+v", n)
	}
	if !tg.HasPorts() || (&TaskGroup{Networks: []*NetworkResource{{Mode: "host"}}}).HasPorts() {
		t.Fatal("HasPorts")
	}
}

func TestCanonicalizeDefaultsNetworkModeToHost(t *testing.T) {
	j := &Job{ID: "j", TaskGroups: []*TaskGroup{{Name: "g", Networks: []*NetworkResource{{}, nil}}}}
	j.Canonicalize()
	if m := j.TaskGroups[0].Networks[0].Mode; m != NetworkModeHost {
		t.Fatalf("mode %q", m)
	}
}

func TestNodeHostIP(t *testing.T) {
	for addr, want := range map[string]string{"10.1.2.3:4646": "10.1.2.3", "0.0.0.0:4646": "127.0.0.1", "": "127.0.0.1", "[::]:4646": "127.0.0.1", "[fd00::1]:1": "fd00::1"} {
		if got := (&Node{HTTPAddr: addr}).HostIP(); got != want {
			t.Errorf("HostIP(%q) = %q, want %q", addr, got, want)
		}
	}
}
