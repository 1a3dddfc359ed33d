package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/orch-io/orch/structs"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db, path
}

func testAlloc(id string) *structs.Allocation {
	job := &structs.Job{
		ID: "web", Name: "web", Type: structs.JobTypeService, Namespace: "default",
		TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: 1,
			RestartPolicy: &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second, Mode: "fail"},
			Tasks: []*structs.Task{{
				Name: "t", Driver: "raw_exec", KillTimeout: 5 * time.Second, KillSignal: "SIGINT",
				Config: map[string]any{"command": "/bin/sleep", "args": []any{"1000"}},
				Env:    map[string]string{"A": "b"},
			}},
		}},
	}
	return &structs.Allocation{
		ID: id, Name: "web.g[0]", NodeID: "n", JobID: "web", Job: job, TaskGroup: "g",
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.Resources{"t": {CPU: 100, MemoryMB: 64}}},
		DesiredStatus:      structs.AllocDesiredStatusRun,
		ClientStatus:       structs.AllocClientStatusRunning,
		TaskStates: map[string]*structs.TaskState{"t": {
			State: structs.TaskStateRunning, StartedAt: 42,
			Events: []*structs.TaskEvent{{Type: structs.TaskStarted, Time: 41, DisplayMessage: "Task started by client"}},
		}},
		AllocModifyIndex: 7,
	}
}

func TestNodeIdentityPersists(t *testing.T) {
	db, path := openTemp(t)
	if id, err := db.NodeIdentity(); err != nil || id != nil {
		t.Fatalf("fresh db: identity %v, %v", id, err)
	}
	want := &NodeIdentity{NodeID: structs.GenerateUUID(), SecretID: structs.GenerateUUID()}
	if err := db.PutNodeIdentity(want); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.NodeIdentity()
	if err != nil || *got != *want {
		t.Fatalf("identity after reopen = %+v, %v; want %+v", got, err, want)
	}
}

func TestAllocationsRoundTrip(t *testing.T) {
	db, path := openTemp(t)
	a, b := testAlloc("b-alloc"), testAlloc("a-alloc")
	for _, x := range []*structs.Allocation{a, b} {
		if err := db.PutAllocation(x); err != nil {
			t.Fatal(err)
		}
	}
	// Overwrite one with a newer state.
	a2 := a.Copy()
	a2.ClientStatus = structs.AllocClientStatusComplete
	if err := db.PutAllocation(a2); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a-alloc" || got[1].ID != "b-alloc" {
		t.Fatalf("allocations = %v", got)
	}
	if !reflect.DeepEqual(got[1], a2) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got[1], a2)
	}
	if got[1].Job.TaskGroups[0].Tasks[0].KillTimeout != 5*time.Second {
		t.Errorf("KillTimeout = %v", got[1].Job.TaskGroups[0].Tasks[0].KillTimeout)
	}

	if err := db.DeleteAllocation("a-alloc"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAllocation("never-there"); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Allocations()
	if len(got) != 1 || got[0].ID != "b-alloc" {
		t.Fatalf("after delete: %v", got)
	}
	if err := db.PutAllocation(&structs.Allocation{}); err == nil {
		t.Error("an allocation without ID was saved")
	}
}

func TestCorruptAllocationIsReportedNotFatal(t *testing.T) {
	db, _ := openTemp(t)
	defer db.Close()
	if err := db.PutAllocation(testAlloc("good")); err != nil {
		t.Fatal(err)
	}
	if err := db.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(allocsBucket).Put([]byte("bad"), []byte{0xc1})
	}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Allocations()
	if err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("error = %v, want one naming the bad entry", err)
	}
	if len(got) != 1 || got[0].ID != "good" {
		t.Errorf("allocations = %v", got)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	db, path := openTemp(t)
	if err := db.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(metaBucket).Put(versionKey, []byte("99"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), `schema version "99"`) {
		t.Fatalf("Open = %v, want a schema version error", err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the lock timeout")
	}
	db, path := openTemp(t)
	defer db.Close()
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func TestDamagedFileIsRefusedNamingIt(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:min(len(b), 2*os.Getpagesize()+100)] }}, // inside the third page: the meta pages point past the end
		{"garbage", func(b []byte) []byte { return bytes.Repeat([]byte("garbage!"), len(b)/8+1) }},
		{"empty", func([]byte) []byte { return nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, path := openTemp(t)
			if err := db.PutNodeIdentity(&NodeIdentity{NodeID: "n", SecretID: "s"}); err != nil {
				t.Fatal(err)
			}
			db.Close()
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			damaged := c.damage(orig)
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = Open(path)
			if err == nil || !strings.Contains(err.Error(), "state database "+path+" is unreadable") ||
				!strings.HasSuffix(err.Error(), "refusing to start (move it away to start over)") {
				t.Fatalf("Open of a %s file = %v, want an error naming %s and refusing to start", c.name, err, path)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(after, damaged) {
				t.Fatalf("%s changed by the failed open (err %v)", path, err)
			}
		})
	}
}
