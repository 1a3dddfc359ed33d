package structs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Cores: a task may ask for whole CPU cores (resources { cores = N }) rather
// than MHz. The node lists its cores (NodeResources.Cores) and those held back
// (ReservedResources.Cores); the scheduler gives each such task specific cores
// (Resources.ReservedCores), never two allocations the same core, and counts
// them as cpu too (N × the node's MHz per core), as Nomad does.

// DimensionCores is the dimension AllocsFit and the scheduler report when a
// node lacks free cores, or two allocations would hold the same core.
const DimensionCores = "cores"

// MaxCoreID bounds core IDs (cpuset lists), far above any machine's.
const MaxCoreID = 4095

// SchedulableCores returns the IDs of the node's cores that allocations may
// reserve: its cores less the reserved ones, sorted. The caller owns the slice.
func (n *Node) SchedulableCores() []int {
	if n.NodeResources == nil || len(n.NodeResources.Cores) == 0 {
		return nil
	}
	out := slices.Clone(n.NodeResources.Cores)
	if r := n.ReservedResources; r != nil && len(r.Cores) > 0 {
		out = slices.DeleteFunc(out, func(c int) bool { return slices.Contains(r.Cores, c) })
	}
	slices.Sort(out)
	return out
}

// MHzPerCore is the compute of one of the node's cores: its total CPU over
// its cores; 0 when it lists none.
func (n *Node) MHzPerCore() int {
	if n.NodeResources == nil || len(n.NodeResources.Cores) == 0 {
		return 0
	}
	return n.NodeResources.CPU / len(n.NodeResources.Cores)
}

// Cores is how many cores the allocation's tasks reserve.
func (ar *AllocatedResources) Cores() int {
	if ar == nil {
		return 0
	}
	n := 0
	for _, r := range ar.Tasks {
		if r != nil {
			n += len(r.ReservedCores)
		}
	}
	return n
}

// coreCollision returns a description of the first core that two of allocs
// hold, or that one holds though the node does not offer it; "" when none.
func coreCollision(node *Node, allocs []*Allocation) string {
	var offered []int
	var holder map[int]string
	for _, a := range allocs {
		if a.TerminalStatus() || a.AllocatedResources.Cores() == 0 {
			continue
		}
		if holder == nil {
			holder = map[int]string{}
			offered = node.SchedulableCores()
		}
		for _, r := range a.AllocatedResources.Tasks {
			if r == nil {
				continue
			}
			for _, c := range r.ReservedCores {
				if !slices.Contains(offered, c) {
					return fmt.Sprintf("allocation %s holds core %d, which the node does not offer", a.ID, c)
				}
				if other, ok := holder[c]; ok && other != a.ID {
					return fmt.Sprintf("allocations %s and %s both hold core %d", other, a.ID, c)
				}
				holder[c] = a.ID
			}
		}
	}
	return ""
}

// ParseCoreList parses a cpuset list ("0-1,3", Linux's cpuset format, as in
// reserved { cores = "0-1" }) into sorted, distinct core IDs. "" is none.
func ParseCoreList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 0 || a > MaxCoreID {
			return nil, fmt.Errorf("%q: %q is not a core ID (0..%d) or a range of them (\"0-3\")", s, part, MaxCoreID)
		}
		b := a
		if isRange {
			b, err = strconv.Atoi(strings.TrimSpace(hi))
			if err != nil || b < a || b > MaxCoreID {
				return nil, fmt.Errorf("%q: %q is not a range of core IDs (\"0-3\": low <= high <= %d)", s, part, MaxCoreID)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// FormatCoreList writes sorted core IDs in cpuset's list format ("0-1,3").
func FormatCoreList(cores []int) string {
	var b strings.Builder
	for i := 0; i < len(cores); {
		j := i
		for j+1 < len(cores) && cores[j+1] == cores[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cores[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cores[j]))
		}
		i = j + 1
	}
	return b.String()
}
