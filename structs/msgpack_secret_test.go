package structs

import "testing"

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
