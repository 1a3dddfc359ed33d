package api

import "github.com/orch-io/orch/structs"

// Evaluations is the /v1/evaluations and /v1/evaluation/:id endpoints.
type Evaluations struct{ c *Client }

// Evaluations returns the evaluation endpoints.
func (c *Client) Evaluations() *Evaluations { return &Evaluations{c: c} }

// List returns evaluations, sorted by ID; q.Prefix filters by ID prefix.
func (e *Evaluations) List(q *QueryOptions) ([]*structs.Evaluation, *QueryMeta, error) {
	var out []*Evaluation
	meta, err := e.c.query("/v1/evaluations", q, &out)
	return mapList(out, EvalToStructs), meta, err
}

// Info returns the evaluation with exactly this ID (404 *Error when there is
// none). With q.WaitIndex it blocks until the evaluation changes: the way to
// follow an evaluation to its end.
func (e *Evaluations) Info(id string, q *QueryOptions) (*structs.Evaluation, *QueryMeta, error) {
	path, err := idPath("/v1/evaluation/", "evaluation", id)
	if err != nil {
		return nil, nil, err
	}
	var out Evaluation
	meta, err := e.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return EvalToStructs(&out), meta, nil
}

// Allocations returns the allocations the evaluation placed or changed
// (GET /v1/evaluation/:id/allocations).
func (e *Evaluations) Allocations(id string, q *QueryOptions) ([]*structs.AllocListStub, *QueryMeta, error) {
	path, err := idPath("/v1/evaluation/", "evaluation", id)
	if err != nil {
		return nil, nil, err
	}
	var out []*AllocationListStub
	meta, err := e.c.query(path+"/allocations", q, &out)
	return mapList(out, AllocStubToStructs), meta, err
}
