package conformance

import (
	"testing"
	"time"
)

// testSystem forces a garbage collection through Nomad's client: the
// evaluations of a purged job go, the running job "web" and its allocation
// stay; the summary reconciliation answers.
func testSystem(t *testing.T, e *env) {
	job := webJob("gcme")
	job.TaskGroups[0].Count = ptr(0)
	if _, _, err := e.nomad.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.nomad.Jobs().Deregister("gcme", true, nil); err != nil {
		t.Fatal(err)
	}
	evalsOf := func() (all, open int) {
		evals, _, err := e.nomad.Evaluations().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evals {
			if ev.JobID == "gcme" {
				all++
				if ev.Status != "complete" && ev.Status != "failed" && ev.Status != "canceled" {
					open++
				}
			}
		}
		return all, open
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, open := evalsOf()
		if all > 0 && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("evaluations of gcme: %d, %d open", all, open)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.nomad.System().GarbageCollect(); err != nil {
		t.Fatalf("system gc: %v", err)
	}
	if all, _ := evalsOf(); all != 0 {
		t.Errorf("after system gc: %d evaluations of the purged job left", all)
	}
	if a, _, err := e.nomad.Allocations().Info(e.allocID, nil); err != nil || a.ClientStatus != "running" {
		t.Errorf("web's allocation after system gc: %+v %v", a, err)
	}
	if err := e.nomad.System().GarbageCollect(); err != nil {
		t.Errorf("second system gc: %v", err)
	}
	if err := e.nomad.System().ReconcileSummaries(); err != nil {
		t.Errorf("reconcile summaries: %v", err)
	}
}
