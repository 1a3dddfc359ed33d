package broker

import (
	"fmt"
	"sync"
	"testing"

	"github.com/orch-io/orch/structs"
)

// classEval is a blocked eval of job planned at snapshot with the given class
// verdicts.
func classEval(job string, snapshot uint64, eligibility map[string]bool) *structs.Evaluation {
	e := newEval(job).Blocked(snapshot).Build()
	e.ClassEligibility = eligibility
	return e
}

func TestBlockedUnblockIsClassAware(t *testing.T) {
	bl, b := testBlocked(t)
	// "infeasible" found class c infeasible; "exhausted" found it eligible
	// but full; "unseen" never saw it.
	infeasible := classEval("infeasible", 5, map[string]bool{"c": false, "d": true})
	exhausted := classEval("exhausted", 5, map[string]bool{"c": true})
	unseen := classEval("unseen", 5, map[string]bool{"d": false})
	for _, e := range []*structs.Evaluation{infeasible, exhausted, unseen} {
		bl.Block(e)
	}
	bl.Unblock("c", 10)
	wantBlocked(t, bl, 1, 0)
	got := map[string]bool{}
	for range 2 {
		e, tok := mustDequeue(t, b, serviceOnly)
		got[e.ID] = true
		if err := b.Ack(e.ID, tok); err != nil {
			t.Fatal(err)
		}
	}
	if !got[exhausted.ID] || !got[unseen.ID] {
		t.Fatalf("unblocked %v, want the exhausted and the unseen evals", got)
	}
	// Capacity on a class it found eligible releases the other.
	bl.Unblock("d", 11)
	wantBlocked(t, bl, 0, 0)
	mustDequeueID(t, b, serviceOnly, infeasible.ID)
}

func TestBlockedClasslessUnblockReleasesAll(t *testing.T) {
	bl, b := testBlocked(t)
	e := classEval("job", 5, map[string]bool{"c": false})
	bl.Block(e)
	bl.Unblock("", 6)
	wantBlocked(t, bl, 0, 0)
	mustDequeueID(t, b, serviceOnly, e.ID)
}

// The race of TestBlockedNoLostUnblock, per class: an Unblock of a class that
// happened after the snapshot releases a later Block only if that class may
// help the evaluation.
func TestBlockedNoLostUnblockPerClass(t *testing.T) {
	bl, b := testBlocked(t)
	bl.Unblock("c", 10)
	bl.Unblock("x", 3) // below every snapshot: no effect
	skip := classEval("skip", 7, map[string]bool{"c": false})
	bl.Block(skip)
	wantBlocked(t, bl, 1, 0)
	missed := classEval("missed", 7, map[string]bool{"c": true})
	bl.Block(missed)
	wantBlocked(t, bl, 1, 0)
	mustDequeueID(t, b, serviceOnly, missed.ID)
	unknown := classEval("unknown", 7, nil)
	bl.Block(unknown)
	wantBlocked(t, bl, 1, 0)
	mustDequeueID(t, b, serviceOnly, unknown.ID)
	saw := classEval("saw", 10, map[string]bool{"c": true})
	bl.Block(saw)
	wantBlocked(t, bl, 2, 0)
	// Disabling forgets the recorded indexes with the evals.
	bl.SetEnabled(false)
	bl.SetEnabled(true)
	bl.Block(classEval("after", 7, map[string]bool{"c": true}))
	wantBlocked(t, bl, 1, 0)
}

// Block and class Unblock race; afterwards no evaluation is blocked although
// an Unblock of a class that may help it happened above its snapshot, and
// none that found every unblocked class infeasible was released.
func TestBlockedConcurrentBlockAndClassUnblock(t *testing.T) {
	b := New(Config{}, nil)
	b.SetEnabled(true)
	bl := NewBlocked(b)
	bl.SetEnabled(true)
	const jobs, maxIndex = 300, 100
	classes := []string{"a", "b", "c"}
	evals := make([]*structs.Evaluation, jobs)
	for i := range evals {
		elig := map[string]bool{}
		switch i % 3 {
		case 0: // infeasible on a only
			elig["a"] = false
		case 1: // infeasible on a, b and c: never released
			elig["a"], elig["b"], elig["c"] = false, false, false
		case 2: // eligible on b
			elig["b"] = true
		}
		evals[i] = classEval(fmt.Sprintf("job-%d", i), uint64(i%(maxIndex+20)), elig)
	}
	var wg sync.WaitGroup
	for half := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range evals[half*jobs/2 : (half+1)*jobs/2] {
				bl.Block(e)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(1); i <= maxIndex; i++ {
			bl.Unblock(classes[i%3], i)
		}
	}()
	wg.Wait()

	// Every class was unblocked at an index >= maxIndex-2.
	bl.mu.Lock()
	blocked := map[string]bool{}
	for _, e := range bl.mu.byJob {
		blocked[e.ID] = true
	}
	bl.mu.Unlock()
	wantReady := 0
	for _, e := range evals {
		helped := e.SnapshotIndex < maxIndex-2 && (classMayHelp(e, "a") || classMayHelp(e, "b") || classMayHelp(e, "c"))
		if helped {
			wantReady++
		}
		switch {
		case helped && blocked[e.ID]:
			t.Errorf("eval %s (snapshot %d, classes %v) still blocked: a lost unblock", e.ID, e.SnapshotIndex, e.ClassEligibility)
		case !classMayHelp(e, "a") && !classMayHelp(e, "b") && !classMayHelp(e, "c") && !blocked[e.ID]:
			t.Errorf("eval %s released although every class was infeasible for it", e.ID)
		}
	}
	if s := b.Stats(); s.Ready < wantReady {
		t.Fatalf("%d ready in the broker, want at least %d", s.Ready, wantReady)
	}
}
