package structs

import (
	"strings"
	"testing"
	"time"
)

func TestAutopilotConfigValidate(t *testing.T) {
	if err := (&AutopilotConfig{}).Validate(); err != nil {
		t.Fatalf("zero configuration (the defaults): %v", err)
	}
	err := (&AutopilotConfig{LastContactThreshold: -time.Second, ServerStabilizationTime: -1, MinQuorum: -1,
		EnableRedundancyZones: true, DisableUpgradeMigration: true, EnableCustomUpgrades: true}).Validate()
	for _, want := range []string{
		"LastContactThreshold = -1s: must be >= 0",
		"ServerStabilizationTime = -1ns: must be >= 0",
		"MinQuorum = -1: must be >= 0",
		"EnableRedundancyZones = true: not supported",
		"DisableUpgradeMigration = true: not supported",
		"EnableCustomUpgrades = true: not supported",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to contain %q", err, want)
		}
	}
	if err := (*AutopilotConfig)(nil).Validate(); err == nil {
		t.Error("nil configuration: no error")
	}
	d := AutopilotConfig{MinQuorum: 2}.WithDefaults()
	if d.LastContactThreshold != DefaultLastContactThreshold || d.MaxTrailingLogs != DefaultMaxTrailingLogs ||
		d.ServerStabilizationTime != DefaultServerStabilizationTime || d.MinQuorum != 2 {
		t.Errorf("WithDefaults() = %+v", d)
	}
}
