package gossipkey

import (
	"io"
	"log"
	"testing"

	"github.com/hashicorp/memberlist"
)

func startMemberlist(t *testing.T, name, key string) *memberlist.Memberlist {
	t.Helper()
	c := memberlist.DefaultLANConfig()
	c.Name, c.BindAddr, c.BindPort = name, "127.0.0.1", 0
	c.LogOutput, c.Logger = nil, log.New(io.Discard, "", 0)
	if key != "" {
		k, err := Parse(key)
		if err != nil {
			t.Fatal(err)
		}
		c.SecretKey = k
	}
	m, err := memberlist.Create(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func addrOf(m *memberlist.Memberlist) string { return m.LocalNode().FullAddress().Addr }
