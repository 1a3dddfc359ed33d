package server

import (
	"context"
	"fmt"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// SchedulerGetConfiguration returns the scheduler configuration: the stored
// one, or the default (with zero indexes) when none was ever set.
func (o *operatorEndpoint) SchedulerGetConfiguration(ctx context.Context, args *structs.GenericRequest, reply *structs.SchedulerConfigurationResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.SchedulerGetConfiguration", args, reply); done {
		return err
	}
	return o.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.SchedulerConfig = snap.SchedulerConfig().Copy()
		return snap.IndexUnwatched(state.TableSchedulerConfig), nil
	})
}

// SchedulerSetConfiguration validates and stores a scheduler configuration
// through Raft. Schedulers use it from the next evaluation they process.
func (o *operatorEndpoint) SchedulerSetConfiguration(ctx context.Context, args *structs.SchedulerSetConfigRequest, reply *structs.SchedulerSetConfigurationResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.SchedulerSetConfiguration", args, reply); done {
		return err
	}
	config := args.Config.Copy()
	if err := config.Validate(); err != nil {
		return fmt.Errorf("invalid scheduler configuration: %w", err)
	}
	if config.SchedulerAlgorithm == "" {
		config.SchedulerAlgorithm = structs.SchedulerAlgorithmBinpack
	}
	out, err := o.srv.raftApplyWrite(ctx, MsgSchedulerConfig, &SchedulerConfigEntry{Config: config, CAS: args.CAS}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	// The FSM stored the configuration at the entry's index unless a CAS
	// check failed (or, for a retry, unless it changed again since).
	reply.Updated = o.srv.state.SchedulerConfig().ModifyIndex == out.Index
	return nil
}

func (f *FSM) applySchedulerConfig(a *entryApply, body []byte) error {
	var e SchedulerConfigEntry
	if err := decodeEntry(MsgSchedulerConfig, body, &e); err != nil {
		return err
	}
	if e.Config == nil {
		return fmt.Errorf("server: SchedulerConfig entry at index %d lacks its configuration", a.index)
	}
	_, err := a.txn.UpsertSchedulerConfig(e.Config, e.CAS)
	return err
}
