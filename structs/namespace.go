package structs

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// Namespaces (Nomad's): jobs and what derives from them (allocations,
// evaluations, deployments, job versions, service registrations) live in
// exactly one namespace, and a job is named by its namespace and ID: the
// same ID in two namespaces is two jobs. Nodes, ACL policies and tokens are
// shared by all namespaces. The namespace "default" always exists and cannot
// be deleted.
//
// RPC methods (argument → reply):
//
//	Namespace.UpsertNamespaces NamespaceUpsertRequest   → GenericResponse
//	Namespace.DeleteNamespaces NamespaceDeleteRequest   → GenericResponse (refused while a namespace has a non-terminal job)
//	Namespace.ListNamespaces   NamespaceListRequest     → NamespaceListResponse
//	Namespace.GetNamespace     NamespaceSpecificRequest → SingleNamespaceResponse

// AllNamespaces, as a request's namespace, makes a list endpoint list every
// namespace (the caller's token may read).
const AllNamespaces = "*"

// Bounds of a namespace: it lives in the replicated state.
const (
	maxNamespaceNameLen        = 128
	maxNamespaceDescriptionLen = 256
	maxNamespaceMeta           = 64
)

// Namespace is a named partition of the jobs.
type Namespace struct {
	Name        string
	Description string
	Meta        map[string]string
	CreateIndex uint64
	ModifyIndex uint64
}

// DefaultNamespaceObject is the namespace that always exists.
func DefaultNamespaceObject() *Namespace {
	return &Namespace{Name: DefaultNamespace, Description: "Default shared namespace"}
}

// Copy returns a deep copy (nil for nil).
func (n *Namespace) Copy() *Namespace {
	if n == nil {
		return nil
	}
	c := *n
	c.Meta = maps.Clone(n.Meta)
	return &c
}

// NamespaceOr returns ns, or "default" when it is empty: the namespace of a
// request or an object that names none (objects written before namespaces
// existed, requests of older clients).
func NamespaceOr(ns string) string {
	if ns == "" {
		return DefaultNamespace
	}
	return ns
}

// ValidateNamespaceName checks a namespace name as Nomad does: letters,
// digits and '-', 1 to 128 characters.
func ValidateNamespaceName(name string) error {
	if name == "" || len(name) > maxNamespaceNameLen {
		return fmt.Errorf("namespace name %q: must be 1 to %d characters", name, maxNamespaceNameLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("namespace name %q: character %q: must be letters, digits or '-'", name, r)
		}
	}
	return nil
}

// Validate checks what a caller sets on a namespace, all problems at once.
func (n *Namespace) Validate() error {
	var errs []error
	if err := ValidateNamespaceName(n.Name); err != nil {
		errs = append(errs, err)
	}
	if len(n.Description) > maxNamespaceDescriptionLen {
		errs = append(errs, fmt.Errorf("namespace %q: Description: %d bytes: must be at most %d", n.Name, len(n.Description), maxNamespaceDescriptionLen))
	}
	if len(n.Meta) > maxNamespaceMeta {
		errs = append(errs, fmt.Errorf("namespace %q: Meta: %d keys: must be at most %d", n.Name, len(n.Meta), maxNamespaceMeta))
	}
	for k, v := range n.Meta {
		if k == "" || len(k) > maxNamespaceNameLen || len(v) > maxNamespaceDescriptionLen {
			errs = append(errs, fmt.Errorf("namespace %q: Meta[%q]: keys must be 1 to %d bytes, values at most %d", n.Name, k, maxNamespaceNameLen, maxNamespaceDescriptionLen))
		}
	}
	return errors.Join(errs...)
}

// NamespaceUpsertRequest creates namespaces or replaces their description
// and meta.
type NamespaceUpsertRequest struct {
	Namespaces []*Namespace
	WriteRequest
}

// NamespaceDeleteRequest deletes namespaces by name.
type NamespaceDeleteRequest struct {
	Namespaces []string
	WriteRequest
}

// NamespaceListRequest lists the namespaces (QueryOptions.Prefix filters by
// name).
type NamespaceListRequest struct {
	QueryOptions
}

// NamespaceListResponse carries the namespaces, sorted by name.
type NamespaceListResponse struct {
	Namespaces []*Namespace
	QueryMeta
}

// NamespaceSpecificRequest reads one namespace.
type NamespaceSpecificRequest struct {
	Name string
	QueryOptions
}

// SingleNamespaceResponse carries one namespace, nil when it does not exist.
type SingleNamespaceResponse struct {
	Namespace *Namespace
	QueryMeta
}

// NamespacedID names a job (or anything keyed like one): its namespace and
// ID.
type NamespacedID struct {
	Namespace string
	ID        string
}

// String is "ID" in the default namespace, "ID@namespace" otherwise (for
// messages and logs).
func (n NamespacedID) String() string {
	if n.Namespace == "" || n.Namespace == DefaultNamespace {
		return n.ID
	}
	return n.ID + "@" + n.Namespace
}

// Compare orders by namespace, then ID.
func (n NamespacedID) Compare(o NamespacedID) int {
	if c := strings.Compare(n.Namespace, o.Namespace); c != 0 {
		return c
	}
	return strings.Compare(n.ID, o.ID)
}
