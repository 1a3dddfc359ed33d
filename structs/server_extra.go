package structs

import "github.com/hashicorp/go-msgpack/v2/codec"

// Msgpack field names come from `codec` struct tags only. By default
// go-msgpack falls back to `json` tags, which silently dropped Node.SecretID
// (`json:"-"`, hidden from the HTTP API) from every RPC, Raft entry and
// snapshot. JSON tags are for the HTTP API; inside, fields keep their Go names.
//
// Added by the server work; belongs in msgpack.go (set on the handle where it
// is built) when the lead merges it.
func init() {
	MsgpackHandle.TypeInfos = codec.NewTypeInfos([]string{"codec"})
}
