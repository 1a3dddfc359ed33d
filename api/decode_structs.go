package api

import (
	"encoding/json"
	"io"

	"github.com/orch-io/orch/structs"
)

// DecodeStructs decodes a JSON answer of the HTTP API (Nomad's wire shape)
// into out, a pointer to the structs type the answer stands for: a list of
// node, allocation or job stubs, of evaluations, or one node, allocation,
// job or evaluation. Any other out is decoded as it is. It is for callers
// that read the API with plain HTTP (tests, tools) and want orch's own types.
func DecodeStructs(r io.Reader, out any) error {
	dec := json.NewDecoder(r)
	switch o := out.(type) {
	case *[]*structs.NodeListStub:
		return decodeList(dec, o, NodeStubToStructs)
	case *[]*structs.AllocListStub:
		return decodeList(dec, o, AllocStubToStructs)
	case *[]*structs.JobListStub:
		return decodeList(dec, o, JobStubToStructs)
	case *[]*structs.Evaluation:
		return decodeList(dec, o, EvalToStructs)
	case *structs.Node:
		return decodeOne(dec, o, NodeToStructs)
	case *structs.Allocation:
		return decodeOne(dec, o, AllocToStructs)
	case *structs.Job:
		return decodeOne(dec, o, JobToStructs)
	case *structs.Evaluation:
		return decodeOne(dec, o, EvalToStructs)
	}
	return dec.Decode(out)
}

func decodeList[W, S any](dec *json.Decoder, out *[]*S, conv func(*W) *S) error {
	var ws []*W
	if err := dec.Decode(&ws); err != nil {
		return err
	}
	*out = make([]*S, 0, len(ws))
	for _, w := range ws {
		*out = append(*out, conv(w))
	}
	return nil
}

func decodeOne[W, S any](dec *json.Decoder, out *S, conv func(*W) *S) error {
	var w W
	if err := dec.Decode(&w); err != nil {
		return err
	}
	if s := conv(&w); s != nil {
		*out = *s
	}
	return nil
}
