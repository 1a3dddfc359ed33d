// Package gossipkey is gossip encryption's key material: parsing and
// generating keys (base64 of 16, 24 or 32 bytes: AES-128, -192 or -256, as
// memberlist takes them), and the Ring an agent encrypts its gossip with,
// persisted in its data dir so that a restart keeps the keys a rotation
// installed. Servers (server/gossip.go) and client-only agents
// (command/agent/gossip.go) both hold one; the keyring operations
// (server/keyring_endpoint.go) change it on every server.
package gossipkey
