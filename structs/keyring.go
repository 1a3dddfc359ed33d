package structs

// KeyringRequest is a gossip keyring operation (Keyring.Install, .Use,
// .Remove; Keyring.List ignores Key). Its JSON body, {"Key": "..."}, is
// Nomad's api.KeyringRequest.
type KeyringRequest struct {
	Key string
	// Local applies the operation on the receiving server only; the server
	// an operation is sent to sets it when it passes the operation on to the
	// other servers.
	Local bool
	WriteRequest
}

// KeyringResponse is Nomad's api.KeyringResponse: Keys counts, for every
// installed key (base64), the servers holding it; NumNodes is how many
// servers were asked; Messages holds the error of each server that failed,
// by name.
type KeyringResponse struct {
	Messages map[string]string
	Keys     map[string]int
	NumNodes int
}

// ClientAgentKeyring is the client-agent call (a streaming call the server
// holding the node's connection opens inside it, like the calls of
// client_rpc.go) that applies a keyring operation to a client-only agent's
// gossip keyring: ClientKeyringRequest → one KeyringResponse (NumNodes 1).
// Servers make it themselves, for an operator's keyring operation; it is
// no allocation's, so it does not pass through Server.DialNode.
const ClientAgentKeyring = "ClientAgent.Keyring"

// Keyring operations of ClientKeyringRequest.Op.
const (
	KeyringOpList    = "list"
	KeyringOpInstall = "install"
	KeyringOpUse     = "use"
	KeyringOpRemove  = "remove"
)

// ClientKeyringRequest is one keyring operation on a client agent.
type ClientKeyringRequest struct {
	Op  string
	Key string
}
