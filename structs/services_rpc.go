package structs

import (
	"errors"
	"fmt"
	"strconv"
)

// The "ServiceRegistration" RPC methods (the built-in registry):
//
//	ServiceRegistration.Upsert        ServiceRegistrationUpsertRequest → GenericResponse (clients)
//	ServiceRegistration.DeleteByID    ServiceRegistrationDeleteRequest → GenericResponse
//	ServiceRegistration.List          ServiceRegistrationListRequest   → ServiceRegistrationListResponse (blocking)
//	ServiceRegistration.GetService    ServiceRegistrationByNameRequest → ServiceRegistrationByNameResponse (blocking)
//	ServiceRegistration.AllocServices AllocSpecificRequest             → ServiceRegistrationByNameResponse (blocking)

// ServiceRegistrationUpsertRequest carries a client's batch: instances to
// register (or update) and IDs of instances to remove.
type ServiceRegistrationUpsertRequest struct {
	Services  []*ServiceRegistration
	DeleteIDs []string
	WriteRequest
}

// ServiceRegistrationDeleteRequest removes one instance of a service.
type ServiceRegistrationDeleteRequest struct {
	ServiceName string
	ID          string
	WriteRequest
}

// ServiceRegistrationListRequest lists the services of QueryOptions.Namespace
// ("*": every namespace).
type ServiceRegistrationListRequest struct {
	QueryOptions
}

// ServiceRegistrationListResponse is the services, by namespace.
type ServiceRegistrationListResponse struct {
	Services []*ServiceRegistrationNamespaceList
	QueryMeta
}

// ServiceRegistrationByNameRequest asks for the instances of one service.
type ServiceRegistrationByNameRequest struct {
	ServiceName string
	QueryOptions
}

// ServiceRegistrationByNameResponse is the instances of a service (or an
// allocation), sorted by ID.
type ServiceRegistrationByNameResponse struct {
	Services []*ServiceRegistration
	QueryMeta
}

// Validate checks a registration a client sends: every identifying field
// set, the port within 0..65535.
func (r *ServiceRegistration) Validate() error {
	if r == nil {
		return errors.New("must not be null")
	}
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"ID", r.ID}, {"ServiceName", r.ServiceName}, {"Namespace", r.Namespace},
		{"NodeID", r.NodeID}, {"JobID", r.JobID}, {"AllocID", r.AllocID},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("%s must not be empty", f.name))
		}
	}
	if r.Port < 0 || r.Port > MaxPort {
		errs = append(errs, fmt.Errorf("Port = %s: must be between 0 and %d", strconv.Itoa(r.Port), MaxPort))
	}
	return errors.Join(errs...)
}
