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
