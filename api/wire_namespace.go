package api

import (
	"maps"

	"github.com/orch-io/orch/structs"
)

// Namespace is a namespace on the wire (Nomad's api.Namespace): the body of
// PUT/POST /v1/namespace[/:name], an answer of GET /v1/namespace/:name and
// an entry of GET /v1/namespaces. Quotas, capabilities, the node pool,
// Vault and Consul configurations and the workload identities' extra claims
// are Nomad Enterprise's or not orch's: a body that sets one is refused by
// name.
type Namespace struct {
	Name                  string
	Description           string
	Quota                 Unsupported
	Capabilities          Unsupported
	NodePoolConfiguration Unsupported
	VaultConfiguration    Unsupported
	ConsulConfiguration   Unsupported
	Meta                  map[string]string
	CreateIndex           uint64
	ModifyIndex           uint64
	RequiredExtraClaims   Unsupported
	OptionalExtraClaims   Unsupported
}

// NamespaceFromStructs converts a namespace for the wire.
func NamespaceFromStructs(n *structs.Namespace) *Namespace {
	return &Namespace{Name: n.Name, Description: n.Description, Meta: maps.Clone(n.Meta),
		CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex}
}

// NamespaceToStructs converts a namespace from the wire.
func NamespaceToStructs(n *Namespace) *structs.Namespace {
	return &structs.Namespace{Name: n.Name, Description: n.Description, Meta: maps.Clone(n.Meta),
		CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex}
}
