package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orch-io/orch/structs"
)

// Services is the built-in service registry: /v1/services and
// /v1/service/:name.
type Services struct{ c *Client }

// Services returns the service registry endpoints.
func (c *Client) Services() *Services { return &Services{c: c} }

// List returns the services of every namespace, each with its instances'
// tags.
func (s *Services) List(q *QueryOptions) ([]*structs.ServiceRegistrationNamespaceList, *QueryMeta, error) {
	var out []*structs.ServiceRegistrationNamespaceList
	meta, err := s.c.query("/v1/services", q, &out)
	return out, meta, err
}

// ServiceGetOptions narrow Get: Tag keeps the instances with that tag; Choose > 0
// picks that many instances for ChooseKey by consistent hashing.
type ServiceGetOptions struct {
	Tag       string
	Choose    int
	ChooseKey string
}

// Get returns the instances of a service, sorted by ID (or best first with
// Choose). With q.WaitIndex it blocks until they change.
func (s *Services) Get(name string, opts *ServiceGetOptions, q *QueryOptions) ([]*structs.ServiceRegistration, *QueryMeta, error) {
	path, err := idPath("/v1/service/", "service", name)
	if err != nil {
		return nil, nil, err
	}
	extra := url.Values{}
	if opts != nil {
		if opts.Tag != "" {
			extra.Set("tag", opts.Tag)
		}
		if opts.Choose > 0 {
			extra.Set("choose", strconv.Itoa(opts.Choose)+"|"+opts.ChooseKey)
		}
	}
	var out []*structs.ServiceRegistration
	meta, err := s.c.queryWith(path, q, extra, &out)
	return out, meta, err
}

// Delete removes one instance of a service.
func (s *Services) Delete(name, id string) error {
	path, err := idPath("/v1/service/", "service", name)
	if err != nil {
		return err
	}
	if id == "" {
		return errEmptyRegistrationID
	}
	return s.c.write(http.MethodDelete, path+"/"+url.PathEscape(id), nil, nil, nil)
}

var errEmptyRegistrationID = errors.New("api: empty service registration ID")
