package structs

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestMsgpackRoundTripKeepsTaskConfig(t *testing.T) {
	job := &Job{
		ID: "web", Type: JobTypeService,
		TaskGroups: []*TaskGroup{{
			Name: "web", Count: 3,
			RestartPolicy: &RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: RestartPolicyModeFail},
			Tasks: []*Task{{
				Name: "srv", Driver: "raw_exec", KillTimeout: 5 * time.Second,
				Config:    map[string]any{"command": "/bin/sh", "args": []any{"-c", "sleep 1"}},
				Resources: &Resources{CPU: 100, MemoryMB: 64},
			}},
		}},
	}
	buf, err := Encode(job)
	if err != nil {
		t.Fatal(err)
	}
	var out Job
	if err := Decode(buf, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(job, &out) {
		t.Fatalf("round trip changed the job:\n in: %#v\nout: %#v", job.TaskGroups[0].Tasks[0], out.TaskGroups[0].Tasks[0])
	}
}

func TestMsgpackKeepsFieldsHiddenFromJSON(t *testing.T) {
	buf, err := Encode(&Node{ID: "n1", SecretID: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	var out Node
	if err := Decode(buf, &out); err != nil {
		t.Fatal(err)
	}
	if out.SecretID != "s3cret" {
		t.Fatalf("msgpack round trip dropped Node.SecretID (json:\"-\"): got %q", out.SecretID)
	}
}

// mustEncode is encode(v) (Encode or EncodeCanonical); an error fails t.
func mustEncode(t *testing.T, encode func(any) ([]byte, error), v any) []byte {
	t.Helper()
	buf, err := encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

// mustDecode decodes buf into out; an error fails t.
func mustDecode(t *testing.T, buf []byte, out any) {
	t.Helper()
	if err := Decode(buf, out); err != nil {
		t.Fatal(err)
	}
}

// An allocation's msgpack carries only the fields that are set: a client's
// report of a running allocation names five of them, not all thirty, and
// decodes to the same allocation.
func TestMsgpackAllocationOmitsEmptyFields(t *testing.T) {
	in := wireRunning(1)
	buf := mustEncode(t, Encode, in)
	var fields map[string]any
	mustDecode(t, buf, &fields)
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"ClientStatus", "ID", "ModifyTime", "TaskStates"}; !slices.Equal(names, want) {
		t.Errorf("encoded fields %v, want %v", names, want)
	}
	var out Allocation
	mustDecode(t, buf, &out)
	if !reflect.DeepEqual(&out, in) {
		t.Errorf("round trip changed the allocation:\n in: %+v\nout: %+v", in, &out)
	}
	place := wirePlacement(1)
	out = Allocation{}
	mustDecode(t, mustEncode(t, Encode, place), &out)
	if !reflect.DeepEqual(&out, place) {
		t.Errorf("round trip changed the placement:\n in: %+v\nout: %+v", place, &out)
	}
}
