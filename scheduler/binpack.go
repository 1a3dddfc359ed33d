package scheduler

import "github.com/orch-io/orch/structs"

// binPackMaxScore is the highest structs.ScoreFitBinPack gives: a full node.
const binPackMaxScore = 18.0

// binPack is the resource stage: it rejects nodes on which the group does not
// fit beside what runs there once the plan is applied, and scores the others
// by how tightly the group fills them, normalised to [0, 1].
//
// With the spread algorithm (SchedulerConfiguration.SchedulerAlgorithm) the
// score is reversed: the emptier the node, the higher (spreadFitScore).
type binPack struct {
	ask    structs.ComparableResources // what one allocation of the group uses
	ports  *portAsk                    // the host ports it needs; nil when none
	cores  int                         // the cores it reserves (cores.go), also cpu
	spread bool
}

func newBinPack(tg *structs.TaskGroup, spread bool) *binPack {
	return &binPack{ask: groupAsk(tg), ports: newPortAsk(tg), cores: groupCores(tg), spread: spread}
}

// fit returns node's bin-packing score with one more allocation of the group,
// or the name of the first exhausted dimension ("cpu", "memory", "disk",
// "cores": too few free cores, "ports": a static port taken or reserved, or
// the dynamic range used up)
// when it does not fit.
func (b *binPack) fit(nu *nodeUsage) (score float64, exhausted string) {
	used := nu.used
	used.Add(b.ask)
	if b.cores > 0 {
		ok, mhz := coresFit(nu, b.cores)
		if !ok {
			return 0, structs.DimensionCores
		}
		used.Add(structs.ComparableResources{CPU: mhz})
	}
	if ok, dim := nu.node.Comparable().Superset(used); !ok {
		return 0, dim
	}
	if b.ports != nil && !b.ports.fit(nu) {
		return 0, structs.DimensionPorts
	}
	if b.spread {
		return spreadFitScore(nu.node, used), ""
	}
	return structs.ScoreFitBinPack(nu.node, used) / binPackMaxScore, ""
}

// groupAsk sums what one allocation of tg uses: its tasks' resources and its
// ephemeral disk. It matches allocatedResources(tg).
func groupAsk(tg *structs.TaskGroup) structs.ComparableResources {
	var c structs.ComparableResources
	for _, t := range tg.Tasks {
		if t.Resources != nil {
			c.Add(structs.ComparableResources{CPU: t.Resources.CPU, MemoryMB: t.Resources.MemoryMB}) // saturating
		}
	}
	if tg.EphemeralDisk != nil {
		c.DiskMB = tg.EphemeralDisk.SizeMB
	}
	return c
}
