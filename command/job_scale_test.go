package command

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/structstest"
)

func TestJobScale(t *testing.T) {
	a := startAgent(t)
	a.register(t, structstest.Job("web"))
	two := structstest.Job("pair")
	second := two.TaskGroups[0].Copy()
	second.Name = "cache"
	two.TaskGroups = append(two.TaskGroups, second)
	a.register(t, two)

	// One group: it may be left out. The job is named by prefix.
	r := runCLI(t, "job", "scale", "-detach", "-address", a.addr, "we", "3")
	if r.code != 0 || len(strings.TrimSpace(r.stdout)) != 36 {
		t.Fatalf("scale web 3: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if j := a.job(t, "web"); j == nil || j.TaskGroups[0].Count != 3 {
		t.Errorf("web after scale: %+v", j)
	}
	r = runCLI(t, "job", "scale", "-detach", "-address", a.addr, "pair", "cache", "0")
	if r.code != 0 {
		t.Fatalf("scale pair cache 0: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if j := a.job(t, "pair"); j == nil || j.LookupTaskGroup("cache").Count != 0 || j.LookupTaskGroup("web").Count != 1 {
		t.Errorf("pair after scale: %+v", j)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"web"}, exitUsage, "missing a job ID or prefix, an optional group name and a count"},
		{[]string{"web", "-1"}, exitUsage, `invalid count "-1": must be a whole number >= 0`},
		{[]string{"web", "x"}, exitUsage, `invalid count "x"`},
		{[]string{"pair", "2"}, exitUsage, `job "pair" has 2 groups ([cache web]): name the one to scale`},
		{[]string{"pair", "db", "2"}, exitError, `Target.Group = "db": job "pair" has no such group`},
	} {
		r := runCLI(t, append([]string{"job", "scale", "-detach", "-address", a.addr}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("scale %v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	if j := a.job(t, "pair"); j.Version != 1 {
		t.Errorf("refused scalings changed the job: version %d", j.Version)
	}
}
