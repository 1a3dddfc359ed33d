package scheduler

import "github.com/orch-io/orch/structs"

// jobAntiAffinity penalises nodes that already run allocations of the same
// job and group, so that a group spreads over nodes: -(collisions+1)/count,
// at least -1, applying only where there are collisions.
type jobAntiAffinity struct {
	group string
	count int
}

func newJobAntiAffinity(tg *structs.TaskGroup) *jobAntiAffinity {
	return &jobAntiAffinity{group: tg.Name, count: max(tg.Count, 1)}
}

func (j *jobAntiAffinity) name() string { return scoreJobAntiAffinity }

func (j *jobAntiAffinity) score(nu *nodeUsage) (float64, bool) {
	c := nu.collisions(j.group)
	if c <= 0 {
		return 0, false
	}
	return max(-float64(c+1)/float64(j.count), -1), true
}
