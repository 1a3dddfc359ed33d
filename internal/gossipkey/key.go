package gossipkey

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Parse decodes a key as the encrypt setting and the keyring commands take
// it: standard base64 of 16, 24 or 32 bytes. The error says which rule the
// value breaks, without repeating the value (it is a secret).
func Parse(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not valid base64 (generate a key with `orch operator gossip keyring -generate`)")
	}
	switch len(b) {
	case 16, 24, 32:
		return b, nil
	}
	return nil, fmt.Errorf("decodes to %d bytes: must be 16, 24 or 32 (AES-128, -192 or -256; `orch operator gossip keyring -generate` makes a 32-byte key)", len(b))
}

// Generate returns a new random 32-byte key, base64-encoded.
func Generate() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("gossipkey: reading random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// encode is a key as the keyring file and the API show it.
func encode(k []byte) string { return base64.StdEncoding.EncodeToString(k) }
