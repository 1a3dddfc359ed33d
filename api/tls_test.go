package api

import (
	"strings"
	"testing"
)

func TestTLSConfigFromEnvAndErrors(t *testing.T) {
	t.Setenv("ORCH_CACERT", "")
	t.Setenv("NOMAD_CACERT", "/nonexistent/nomad-ca.pem")
	t.Setenv("NOMAD_SKIP_VERIFY", "true")
	_, err := NewClient(&Config{Address: "https://127.0.0.1:4646"})
	if err == nil || !strings.Contains(err.Error(), `-ca-cert "/nonexistent/nomad-ca.pem"`) {
		t.Errorf("NOMAD_CACERT not read: %v", err)
	}
	t.Setenv("NOMAD_CACERT", "")
	c, err := (TLSConfig{}).withEnv()
	if err != nil || !c.Insecure {
		t.Errorf("NOMAD_SKIP_VERIFY: %+v %v", c, err)
	}
	t.Setenv("NOMAD_SKIP_VERIFY", "maybe")
	if _, err := (TLSConfig{}).withEnv(); err == nil || !strings.Contains(err.Error(), `NOMAD_SKIP_VERIFY = "maybe"`) {
		t.Errorf("bad skip-verify: %v", err)
	}
	t.Setenv("NOMAD_SKIP_VERIFY", "")
	if _, err := NewClient(&Config{TLSConfig: TLSConfig{ClientCert: "c.pem"}}); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("client cert without key: %v", err)
	}
}
