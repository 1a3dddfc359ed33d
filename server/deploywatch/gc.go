package deploywatch

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// Collectable returns the IDs of the deployments the GC may remove at now:
// those that ended (successful, failed, cancelled) at least threshold ago,
// except the latest deployment of each job, which the reconciler and
// `job deployment` read. Pure: deployments is not modified.
func Collectable(deployments []*structs.Deployment, now time.Time, threshold time.Duration) []string {
	latest := map[string]*structs.Deployment{} // by job
	for _, d := range deployments {
		key := d.Namespace + "\x00" + d.JobID
		if l := latest[key]; l == nil || d.CreateIndex > l.CreateIndex {
			latest[key] = d
		}
	}
	var out []string
	for _, d := range deployments {
		if d.Active() || latest[d.Namespace+"\x00"+d.JobID] == d {
			continue
		}
		if now.Sub(time.Unix(0, d.ModifyTime)) >= threshold {
			out = append(out, d.ID)
		}
	}
	return out
}
