package api

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// Namespaces is the /v1/namespaces and /v1/namespace/:name endpoints.
type Namespaces struct{ c *Client }

// Namespaces returns the namespace endpoints.
func (c *Client) Namespaces() *Namespaces { return &Namespaces{c: c} }

// List returns the namespaces, sorted by name (q.Prefix filters them).
func (n *Namespaces) List(q *QueryOptions) ([]*structs.Namespace, *QueryMeta, error) {
	var out []*Namespace
	meta, err := n.c.query("/v1/namespaces", q, &out)
	if err != nil {
		return nil, nil, err
	}
	nss := make([]*structs.Namespace, 0, len(out))
	for _, ns := range out {
		nss = append(nss, NamespaceToStructs(ns))
	}
	return nss, meta, nil
}

// Info reads one namespace; an unknown one is an *Error with status 404.
func (n *Namespaces) Info(name string, q *QueryOptions) (*structs.Namespace, *QueryMeta, error) {
	path, err := idPath("/v1/namespace/", "namespace", name)
	if err != nil {
		return nil, nil, err
	}
	var out Namespace
	meta, err := n.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return NamespaceToStructs(&out), meta, nil
}

// Register creates a namespace or replaces its description and meta.
func (n *Namespaces) Register(ns *structs.Namespace) error {
	path, err := idPath("/v1/namespace/", "namespace", ns.Name)
	if err != nil {
		return err
	}
	return n.c.write(http.MethodPut, path, nil, NamespaceFromStructs(ns), nil)
}

// Delete deletes a namespace: refused for "default" and for a namespace
// that still has a job that is not dead.
func (n *Namespaces) Delete(name string) error {
	path, err := idPath("/v1/namespace/", "namespace", name)
	if err != nil {
		return err
	}
	return n.c.write(http.MethodDelete, path, nil, nil, nil)
}
