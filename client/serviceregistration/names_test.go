package serviceregistration

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestServiceNamesAreInterpolatedBeforeRegistration(t *testing.T) {
	a, node := testAlloc()
	node.Meta = map[string]string{"rack": "r7"}
	a.Job.Meta = map[string]string{"tier": "gold"}
	tg := a.Job.TaskGroups[0]
	tg.Services = []*structs.Service{
		{Name: "${NOMAD_JOB_NAME}-web", PortLabel: "http"},
		{Name: "${meta.rack}-${NOMAD_ALLOC_INDEX}-${NOMAD_META_tier}", PortLabel: "http"},
		{Name: "${NOMAD_DC}-${node.unique.name}-${unknown}", PortLabel: "http"},
	}
	tg.Tasks[0].Services = []*structs.Service{{Name: "${NOMAD_TASK_NAME}-${NOMAD_GROUP_NAME}", PortLabel: "9000"}}
	got := Instances(a, node)
	want := []string{"shop-web", "r7-0-gold", "dc1-n1-${unknown}", "server-web"}
	if len(got) != len(want) {
		t.Fatalf("%d instances, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.ServiceName != want[i] {
			t.Errorf("instance %d: %q, want %q", i, r.ServiceName, want[i])
		}
	}
	// Without the node, node references stay as written.
	if as := ActiveServices(a, nil); as[1].Name != "${meta.rack}-0-gold" {
		t.Errorf("without the node: %q", as[1].Name)
	}
}
