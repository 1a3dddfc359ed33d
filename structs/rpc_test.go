package structs

import "testing"

// Resolve gives each allocation its job back and refuses a reference out
// of range.
func TestAllocsGetResponseResolve(t *testing.T) {
	job := &Job{ID: "web"}
	r := &AllocsGetResponse{
		Allocs: []*Allocation{{ID: "a"}, {ID: "b"}}, Jobs: []*Job{job}, JobRefs: []int{0, -1},
	}
	if err := r.Resolve(); err != nil || r.Allocs[0].Job != job || r.Allocs[1].Job != nil {
		t.Fatalf("Resolve: %v; jobs %v, %v", err, r.Allocs[0].Job, r.Allocs[1].Job)
	}
	r.JobRefs[1] = 1
	if err := r.Resolve(); err == nil {
		t.Error("a job reference out of range was accepted")
	}
	r.JobRefs = r.JobRefs[:1]
	if err := r.Resolve(); err == nil {
		t.Error("fewer job references than allocations were accepted")
	}
}
