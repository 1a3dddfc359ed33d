package command

import "testing"

func TestSystemGCAndReconcileCLI(t *testing.T) {
	addr := startServerAgent(t)
	for _, args := range [][]string{{"system", "gc"}, {"system", "gc"}, {"system", "reconcile", "summaries"}} {
		r := runCLI(t, append(args, "-address", addr)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	if r := runCLI(t, "system", "gc", "-address", addr, "extra"); r.code == 0 {
		t.Errorf("system gc with an argument: exit 0")
	}
	if r := runCLI(t, "system", "reconcile", "summaries", "-address", addr); r.stdout != "Reconciled job summaries\n" {
		t.Errorf("reconcile summaries: %q", r.stdout)
	}
}
