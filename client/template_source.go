package client

import (
	"context"
	"time"

	"github.com/orch-io/orch/client/template"
	"github.com/orch-io/orch/structs"
)

// templateQueryWait bounds one blocking query of a template's watch.
const templateQueryWait = 5 * time.Minute

// registrySource reads the service registry for templates, with blocking
// queries to the servers (stale reads: any server answers).
type registrySource struct {
	rpc    rpcFunc
	region string
}

var _ template.ServiceSource = registrySource{}

func (s registrySource) query(minIndex uint64, namespace string) structs.QueryOptions {
	return structs.QueryOptions{Region: s.region, Namespace: namespace, MinQueryIndex: minIndex,
		MaxQueryTime: templateQueryWait, AllowStale: true}
}

// Service implements template.ServiceSource.
func (s registrySource) Service(ctx context.Context, namespace, name string, minIndex uint64) (template.ServiceQuery, error) {
	ctx, cancel := context.WithTimeout(ctx, templateQueryWait+30*time.Second)
	defer cancel()
	var reply structs.ServiceRegistrationByNameResponse
	req := &structs.ServiceRegistrationByNameRequest{ServiceName: name, QueryOptions: s.query(minIndex, namespace)}
	if err := s.rpc(ctx, "ServiceRegistration.GetService", req, &reply); err != nil {
		return template.ServiceQuery{}, err
	}
	return template.ServiceQuery{Instances: reply.Services, Index: reply.Index}, nil
}

// Services implements template.ServiceSource.
func (s registrySource) Services(ctx context.Context, namespace string, minIndex uint64) (template.ServiceQuery, error) {
	ctx, cancel := context.WithTimeout(ctx, templateQueryWait+30*time.Second)
	defer cancel()
	var reply structs.ServiceRegistrationListResponse
	req := &structs.ServiceRegistrationListRequest{QueryOptions: s.query(minIndex, namespace)}
	if err := s.rpc(ctx, "ServiceRegistration.List", req, &reply); err != nil {
		return template.ServiceQuery{}, err
	}
	q := template.ServiceQuery{Index: reply.Index}
	for _, ns := range reply.Services {
		q.Services = append(q.Services, ns.Services...)
	}
	return q, nil
}
