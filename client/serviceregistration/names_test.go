package serviceregistration

import (
	"slices"
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

// Tags, canary tags and an address interpolate as names do, with the
// ports' variables too (traefik-style tags name the port).
func TestServiceTagsAndAddressAreInterpolated(t *testing.T) {
	a, node := testAlloc()
	node.Meta = map[string]string{"zone": "z1"}
	tg := a.Job.TaskGroups[0]
	tg.Services = []*structs.Service{{Name: "api", PortLabel: "http", Address: "${attr.unique.hostname}",
		Tags:       []string{"traefik.http.services.${NOMAD_JOB_NAME}.loadbalancer.server.port=${NOMAD_HOST_PORT_http}", "zone-${meta.zone}", "i${NOMAD_ALLOC_INDEX}", "${NOMAD_ADDR_http}"},
		CanaryTags: []string{"canary-${NOMAD_PORT_http}"}}}
	tg.Tasks[0].Services = nil
	node.Attributes = map[string]string{"unique.hostname": "host-1"}
	got := Instances(a, node)
	if len(got) != 1 {
		t.Fatalf("%d instances", len(got))
	}
	want := []string{"traefik.http.services.shop.loadbalancer.server.port=25000", "zone-z1", "i0", "127.0.0.1:25000"}
	if r := got[0]; !slices.Equal(r.Tags, want) || r.Address != "host-1" {
		t.Errorf("tags %q address %q; want %q host-1", r.Tags, r.Address, want)
	}
	a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	if got := Instances(a, node); !slices.Equal(got[0].Tags, []string{"canary-8080"}) {
		t.Errorf("canary tags %q, want [canary-8080] (to, the port the task listens on)", got[0].Tags)
	}
	if tg.Services[0].Tags[1] != "zone-${meta.zone}" {
		t.Error("the job's service was changed in place")
	}
}

func TestCheckTextsAreInterpolated(t *testing.T) {
	a, node := testAlloc()
	plain := &structs.ServiceCheck{Name: "c", Type: "http", Path: "/health"}
	if got := InterpolateCheck(plain, a, node, ""); got != plain {
		t.Error("a check without references was copied")
	}
	c := &structs.ServiceCheck{Name: "c", Type: "script", Path: "/a/${NOMAD_ALLOC_INDEX}", Command: "/bin/check-${NOMAD_JOB_NAME}",
		Args: []string{"--port", "${NOMAD_PORT_http}"}, Header: map[string][]string{"X-Node": {"${node.unique.name}"}}, Body: "${NOMAD_TASK_NAME}"}
	got := InterpolateCheck(c, a, node, "server")
	if got.Path != "/a/0" || got.Command != "/bin/check-shop" || !slices.Equal(got.Args, []string{"--port", "8080"}) ||
		got.Header["X-Node"][0] != "n1" || got.Body != "server" {
		t.Errorf("interpolated check %+v", got)
	}
	if c.Args[1] != "${NOMAD_PORT_http}" || c.Header["X-Node"][0] != "${node.unique.name}" {
		t.Error("the job's check was changed in place")
	}
}
