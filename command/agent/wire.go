package agent

import (
	"fmt"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// toWire turns an endpoint's result (structs) into the JSON the API sends,
// shaped as Nomad's (the api package's wire types): the one place answers
// meet the wire on their way out; request bodies meet it in decodeJobBody.
// wrap calls it on every result. A type not listed is sent as it is: the
// conformance tests (internal/conformance) decode every endpoint's answer
// with Nomad's client, strictly, and fail on a structs type that does not
// have Nomad's shape.
func toWire(v any) any {
	switch v := v.(type) {
	case *structs.AgentMembersResponse:
		return api.MembersFromStructs(v)
	case *structs.AgentSelf:
		out := *v
		if v.Member.Name != "" && v.Member.Tags != nil {
			out.Member = *api.MemberFromStructs(&v.Member)
		}
		return &out
	case *structs.Job:
		return api.JobFromStructs(v)
	case []*structs.JobListStub:
		return mapStubs(v, api.JobStubFromStructs)
	case *structs.JobSummary:
		return api.JobSummaryFromStructs(v)
	case *structs.JobRegisterResponse:
		return &api.JobRegisterResponse{EvalID: v.EvalID, EvalCreateIndex: v.EvalCreateIndex, JobModifyIndex: v.JobModifyIndex, Warnings: v.Warnings, Index: v.Index}
	case *structs.JobDeregisterResponse:
		return &api.JobDeregisterResponse{EvalID: v.EvalID, EvalCreateIndex: v.EvalCreateIndex, JobModifyIndex: v.JobModifyIndex, Index: v.Index}
	case *structs.JobPlanResponse:
		return api.PlanFromStructs(v)
	case *structs.Node:
		return api.NodeFromStructs(v)
	case []*structs.NodeListStub:
		return mapStubs(v, api.NodeStubFromStructs)
	case *structs.Allocation:
		return api.AllocFromStructs(v)
	case []*structs.Allocation:
		return mapStubs(v, api.AllocFromStructs)
	case []*structs.AllocListStub:
		return mapStubs(v, api.AllocStubFromStructs)
	case *structs.Evaluation:
		return api.EvalFromStructs(v)
	case []*structs.Evaluation:
		return mapStubs(v, api.EvalFromStructs)
	case []*structs.CheckQueryResult:
		return api.ChecksFromStructs(v)
	case *structs.NodeDrainUpdateResponse:
		return &api.NodeDrainUpdateResponse{NodeModifyIndex: v.Index, Index: v.Index}
	case *structs.AllocStopResponse:
		return &api.AllocStopResponse{EvalID: v.EvalID, Index: v.Index}
	case *structs.Deployment:
		if v == nil {
			return v // a job without deployments: null, as Nomad sends
		}
		return api.DeploymentFromStructs(v)
	case []*structs.Deployment:
		return mapStubs(v, api.DeploymentFromStructs)
	case *structs.DeploymentUpdateResponse:
		return api.DeploymentUpdateFromStructs(v)
	case *structs.JobVersionsResponse:
		return api.JobVersionsFromStructs(v)
	case *structs.JobStabilityResponse:
		return &api.JobStabilityResponse{JobModifyIndex: v.Index, Index: v.Index}
	case *structs.Namespace:
		return api.NamespaceFromStructs(v)
	case []*structs.Namespace:
		return mapStubs(v, api.NamespaceFromStructs)
	case []*structs.NodePoolStub:
		return mapStubs(v, func(p *structs.NodePoolStub) *api.NodePool {
			return &api.NodePool{Name: p.Name, Description: fmt.Sprintf("%d registered node(s)", p.Nodes)}
		})
	}
	return v
}

// mapStubs converts a list for the wire; nil becomes [], as Nomad sends.
func mapStubs[A, B any](in []*A, f func(*A) *B) []*B {
	out := make([]*B, 0, len(in))
	for _, a := range in {
		if a != nil {
			out = append(out, f(a))
		}
	}
	return out
}
