package command

import (
	"fmt"
	"strconv"

	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// operatorCommand is `orch operator`, the group of cluster operator commands.
func operatorCommand() *cli.Command {
	return &cli.Command{
		Name:      "operator",
		Usage:     "Operate the cluster",
		UsageText: "orch operator <subcommand> [options] [args]",
		Subcommands: []*cli.Command{{
			Name:        "scheduler",
			Usage:       "Read and set the scheduler configuration",
			UsageText:   "orch operator scheduler <subcommand> [options]",
			Subcommands: []*cli.Command{operatorSchedulerGetCommand(), operatorSchedulerSetCommand()},
		}, operatorAutopilotCommand(), operatorRaftCommand(), operatorSnapshotCommand(), operatorGossipCommand(), operatorDebugCommand()},
	}
}

func operatorSchedulerGetCommand() *cli.Command {
	return &cli.Command{
		Name:      "get-config",
		Usage:     "Show the scheduler configuration",
		UsageText: "orch operator scheduler get-config [options]",
		Description: `Shows the cluster-wide scheduler configuration stored in Raft: the
algorithm that scores the resource fit of nodes (binpack or spread), which
schedulers may preempt allocations, and the sample size.

Example:
  orch operator scheduler get-config`,
		Flags:  []cli.Flag{addressFlag()},
		Action: operatorSchedulerGet,
	}
}

func operatorSchedulerGet(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	resp, _, err := client.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		return errorf(err, "Error querying the scheduler configuration")
	}
	fmt.Fprint(stdout(c), formatSchedulerConfig(resp.SchedulerConfig))
	return nil
}

// formatSchedulerConfig prints the configuration as Nomad's get-config does,
// with orch's sample size.
func formatSchedulerConfig(cfg *structs.SchedulerConfiguration) string {
	if cfg == nil {
		cfg = structs.DefaultSchedulerConfiguration()
	}
	sample := "default"
	if cfg.SampleSize > 0 {
		sample = strconv.Itoa(cfg.SampleSize)
	}
	p := cfg.PreemptionConfig
	return formatKV([]kv{
		{"Scheduler Algorithm", string(cfg.EffectiveAlgorithm())},
		{"Sample Size", sample},
		{"Memory Oversubscription", strconv.FormatBool(cfg.MemoryOversubscriptionEnabled)},
		{"Preemption System Scheduler", strconv.FormatBool(p.SystemSchedulerEnabled)},
		{"Preemption Service Scheduler", strconv.FormatBool(p.ServiceSchedulerEnabled)},
		{"Preemption Batch Scheduler", strconv.FormatBool(p.BatchSchedulerEnabled)},
		{"Preemption SysBatch Scheduler", strconv.FormatBool(p.SysBatchSchedulerEnabled)},
		{"Modify Index", strconv.FormatUint(cfg.ModifyIndex, 10)},
	})
}

func operatorSchedulerSetCommand() *cli.Command {
	return &cli.Command{
		Name:      "set-config",
		Usage:     "Change the scheduler configuration",
		UsageText: "orch operator scheduler set-config [options]",
		Description: `Changes the cluster-wide scheduler configuration. Only the options given
change; the others keep their current value. Schedulers use the new
configuration from the next evaluation they process.

With -check-index, the change is made only if the configuration's Modify
Index (see get-config) is still that number.

Examples:
  orch operator scheduler set-config -scheduler-algorithm=spread
  orch operator scheduler set-config -preempt-service-scheduler=true -check-index 12`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringFlag{Name: "scheduler-algorithm", Usage: `"binpack" (fill nodes) or "spread" (prefer the emptiest nodes)`},
			&cli.IntFlag{Name: "sample-size", Usage: "least feasible nodes scored per placement (0: the default, about log2 of the nodes)"},
			&cli.BoolFlag{Name: "memory-oversubscription", Usage: "let tasks use memory_max above their memory"},
			&cli.BoolFlag{Name: "preempt-system-scheduler", Usage: "let system jobs preempt allocations"},
			&cli.BoolFlag{Name: "preempt-sysbatch-scheduler", Usage: "let sysbatch jobs preempt allocations"},
			&cli.BoolFlag{Name: "preempt-batch-scheduler", Usage: "let batch jobs preempt allocations"},
			&cli.BoolFlag{Name: "preempt-service-scheduler", Usage: "let service jobs preempt allocations"},
			&cli.Uint64Flag{Name: "check-index", Usage: "change only if the configuration's modify index is this"},
		},
		Action: operatorSchedulerSet,
	}
}

func operatorSchedulerSet(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments: options only"); err != nil {
		return err
	}
	if c.IsSet("scheduler-algorithm") {
		switch a := structs.SchedulerAlgorithm(c.String("scheduler-algorithm")); a {
		case structs.SchedulerAlgorithmBinpack, structs.SchedulerAlgorithmSpread:
		default:
			return usageErrorf(c, "invalid -scheduler-algorithm %q: must be %q or %q", a,
				structs.SchedulerAlgorithmBinpack, structs.SchedulerAlgorithmSpread)
		}
	}
	if c.IsSet("sample-size") && (c.Int("sample-size") < 0 || c.Int("sample-size") > structs.MaxSchedulerSampleSize) {
		return usageErrorf(c, "invalid -sample-size %d: must be between 0 and %d", c.Int("sample-size"), structs.MaxSchedulerSampleSize)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	resp, _, err := client.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		return errorf(err, "Error querying the scheduler configuration")
	}
	cfg := resp.SchedulerConfig.Copy()
	if cfg == nil {
		cfg = structs.DefaultSchedulerConfiguration()
	}
	if c.IsSet("scheduler-algorithm") {
		cfg.SchedulerAlgorithm = structs.SchedulerAlgorithm(c.String("scheduler-algorithm"))
	}
	if c.IsSet("sample-size") {
		cfg.SampleSize = c.Int("sample-size")
	}
	for _, f := range []struct {
		flag string
		dst  *bool
	}{
		{"memory-oversubscription", &cfg.MemoryOversubscriptionEnabled},
		{"preempt-system-scheduler", &cfg.PreemptionConfig.SystemSchedulerEnabled},
		{"preempt-sysbatch-scheduler", &cfg.PreemptionConfig.SysBatchSchedulerEnabled},
		{"preempt-batch-scheduler", &cfg.PreemptionConfig.BatchSchedulerEnabled},
		{"preempt-service-scheduler", &cfg.PreemptionConfig.ServiceSchedulerEnabled},
	} {
		if c.IsSet(f.flag) {
			*f.dst = c.Bool(f.flag)
		}
	}
	if c.IsSet("check-index") {
		cfg.ModifyIndex = c.Uint64("check-index")
		out, err := client.Operator().SchedulerCASConfiguration(cfg)
		if err != nil {
			return errorf(err, "Error setting the scheduler configuration")
		}
		if !out.Updated {
			fmt.Fprintf(stderr(c), "Scheduler configuration not updated: its modify index is no longer %d\n", cfg.ModifyIndex)
			return exitStatus(exitError)
		}
	} else if _, err := client.Operator().SchedulerSetConfiguration(cfg); err != nil {
		return errorf(err, "Error setting the scheduler configuration")
	}
	fmt.Fprintln(stdout(c), "Scheduler configuration updated!")
	return nil
}
