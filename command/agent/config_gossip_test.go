package agent

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/gossipkey"
)

func TestApplyFileEncrypt(t *testing.T) {
	key, err := gossipkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	if err := c.ApplyFile(writeConfig(t, "ok.hcl", "server {\n  encrypt = \""+key+"\"\n}")); err != nil {
		t.Fatal(err)
	}
	if c.Server.Encrypt != key {
		t.Fatalf("encrypt = %q", c.Server.Encrypt)
	}
	for body, want := range map[string]string{
		"server {\n  encrypt = \"not base64!\"\n}": "bad.hcl:2:13: server.encrypt: not valid base64",
		"server {\n  encrypt = \"c2hvcnQ=\"\n}":    "bad.hcl:2:13: server.encrypt: decodes to 5 bytes: must be 16, 24 or 32",
		"server {\n  encrypt = 3\n}":               "bad.hcl:2:13: server.encrypt: must be a string",
	} {
		err := DefaultConfig().ApplyFile(writeConfig(t, "bad.hcl", body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
	c.Server.Encrypt = "c2hvcnQ=" // as -encrypt sets it
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "server.encrypt: decodes to 5 bytes") {
		t.Fatalf("Validate: %v", err)
	}
}
