package state

import (
	"reflect"
	"testing"

	"github.com/orch-io/orch/client/driver"
)

func TestTaskHandlesPersistAndGoWithTheirAllocation(t *testing.T) {
	db, path := openTemp(t)
	th := &driver.TaskHandle{Driver: "docker", ID: "c0ffee", StartedAt: 42, Data: map[string]string{"k": "v"}}
	if err := db.PutAllocation(testAlloc("a1")); err != nil {
		t.Fatal(err)
	}
	for _, task := range []string{"web", "sidecar"} {
		if err := db.PutTaskHandle("a1", task, th); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutTaskHandle("a10", "web", th); err != nil { // an ID with a1 as prefix
		t.Fatal(err)
	}
	if err := db.PutTaskHandle("", "web", th); err == nil {
		t.Error("a handle without an alloc ID was saved")
	}

	// Across a reopen.
	db.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.TaskHandle("a1", "web")
	if err != nil || !reflect.DeepEqual(got, th) {
		t.Fatalf("TaskHandle = %+v, %v; want %+v", got, err, th)
	}
	if err := db.DeleteTaskHandle("a1", "sidecar"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.TaskHandle("a1", "sidecar"); got != nil {
		t.Errorf("deleted handle = %+v", got)
	}
	if err := db.DeleteAllocation("a1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.TaskHandle("a1", "web"); got != nil {
		t.Errorf("handle of a deleted allocation = %+v", got)
	}
	if got, _ := db.TaskHandle("a10", "web"); got == nil {
		t.Error("deleting a1 deleted the handles of a10")
	}
}
