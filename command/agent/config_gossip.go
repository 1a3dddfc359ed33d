package agent

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/zclconf/go-cty/cty"
)

// Gossip encryption is Nomad's server { encrypt = "<base64 key>" }. orch's
// client-only agents gossip too (gossip.go), so they read the same setting,
// at the same place: a client's file says server { encrypt = "..." } with
// the server left disabled. Every agent keeps its keyring in its data dir
// (<data_dir>/server/keyring, or <data_dir>/client/keyring for a
// client-only agent) from its first start on; that file wins over the
// setting afterwards, so that a restart keeps the keys a rotation
// (`orch operator gossip keyring`) put in use.

// decodeEncrypt sets dst from server.encrypt, checking it is a key
// (gossipkey.Parse); a bad value is reported at its file:line:col, without
// the value (a secret). An absent attribute leaves dst alone.
func decodeEncrypt(expr hcl.Expression, dst *string) error {
	if expr == nil {
		return nil
	}
	v, diags := expr.Value(nil)
	if !diags.HasErrors() && v.IsNull() {
		return nil
	}
	at := rangeAt(expr.Range())
	if diags.HasErrors() || v.Type() != cty.String || !v.IsKnown() {
		return fmt.Errorf("%s: server.encrypt: must be a string (a base64 key)", at)
	}
	if _, err := gossipkey.Parse(v.AsString()); err != nil {
		return fmt.Errorf("%s: server.encrypt: %w", at, err)
	}
	*dst = v.AsString()
	return nil
}

// validateEncrypt checks a key that came from elsewhere than a file (the
// -encrypt flag).
func validateEncrypt(key string) error {
	if key == "" {
		return nil
	}
	if _, err := gossipkey.Parse(key); err != nil {
		return fmt.Errorf("server.encrypt: %w", err)
	}
	return nil
}
