package allocrunner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestDispatchPayloadWrittenToLocal(t *testing.T) {
	d, err := newAllocDir(t.TempDir(), structs.GenerateUUID())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.build([]string{"t"}); err != nil {
		t.Fatal(err)
	}
	tg := &structs.TaskGroup{Tasks: []*structs.Task{{Name: "t", DispatchPayload: &structs.DispatchPayloadConfig{File: "in/data.json"}}}}
	job := &structs.Job{Dispatched: true, Payload: []byte(`{"a":1}`)}
	if err := d.writeDispatchPayloads(job, tg); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(d.localDir("t"), "in", "data.json"))
	if err != nil || string(got) != `{"a":1}` {
		t.Errorf("payload file: %q %v", got, err)
	}
	tg.Tasks[0].DispatchPayload.File = "../escape"
	if err := d.writeDispatchPayloads(job, tg); err == nil {
		t.Error("a payload file outside local/ was written")
	}
}
