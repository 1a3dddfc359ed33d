package allocrunner

import (
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

func TestRestartTracker(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := &driver.ExitResult{}
	bad := &driver.ExitResult{ExitCode: 1}
	killed := &driver.ExitResult{ExitCode: 137, Signal: 9}
	failPolicy := &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: 5 * time.Second, Mode: structs.RestartPolicyModeFail}
	delayPolicy := &structs.RestartPolicy{Attempts: 2, Interval: time.Minute, Delay: 5 * time.Second, Mode: structs.RestartPolicyModeDelay}

	type exit struct {
		at     time.Duration // after t0
		res    *driver.ExitResult
		action restartAction
		delay  time.Duration
	}
	cases := []struct {
		name    string
		policy  *structs.RestartPolicy
		jobType structs.JobType
		exits   []exit
	}{
		{"service restarts within policy then fails", failPolicy, structs.JobTypeService, []exit{
			{1 * time.Second, bad, actionRestart, 5 * time.Second},
			{10 * time.Second, bad, actionRestart, 5 * time.Second},
			{20 * time.Second, bad, actionFail, 0},
		}},
		{"service restarts even after exit 0", failPolicy, structs.JobTypeService, []exit{
			{1 * time.Second, ok, actionRestart, 5 * time.Second},
			{2 * time.Second, ok, actionRestart, 5 * time.Second},
			{3 * time.Second, ok, actionFail, 0},
		}},
		{"batch exit 0 completes", failPolicy, structs.JobTypeBatch, []exit{
			{1 * time.Second, bad, actionRestart, 5 * time.Second},
			{2 * time.Second, ok, actionComplete, 0},
		}},
		{"sysbatch exit 0 completes", failPolicy, structs.JobTypeSysBatch, []exit{
			{1 * time.Second, ok, actionComplete, 0},
		}},
		{"system restarts even after exit 0", failPolicy, structs.JobTypeSystem, []exit{
			{1 * time.Second, ok, actionRestart, 5 * time.Second},
		}},
		{"batch killed by a signal is a failure", failPolicy, structs.JobTypeBatch, []exit{
			{1 * time.Second, killed, actionRestart, 5 * time.Second},
		}},
		{"start errors count as failed runs", failPolicy, structs.JobTypeBatch, []exit{
			{1 * time.Second, nil, actionRestart, 5 * time.Second},
			{2 * time.Second, nil, actionRestart, 5 * time.Second},
			{3 * time.Second, nil, actionFail, 0},
		}},
		{"a new interval resets the attempts", failPolicy, structs.JobTypeService, []exit{
			{10 * time.Second, bad, actionRestart, 5 * time.Second},
			{20 * time.Second, bad, actionRestart, 5 * time.Second},
			{61 * time.Second, bad, actionRestart, 5 * time.Second}, // interval [0,60s] ended
			{70 * time.Second, bad, actionRestart, 5 * time.Second},
			{80 * time.Second, bad, actionFail, 0},
		}},
		{"mode delay waits for the interval to end", delayPolicy, structs.JobTypeService, []exit{
			{10 * time.Second, bad, actionRestart, 5 * time.Second},
			{20 * time.Second, bad, actionRestart, 5 * time.Second},
			{45 * time.Second, bad, actionRestart, 15 * time.Second}, // until t0+60s
			{61 * time.Second, bad, actionRestart, 5 * time.Second},  // new interval
			{62 * time.Second, bad, actionRestart, 5 * time.Second},
			{63 * time.Second, bad, actionRestart, 58 * time.Second}, // until t0+61s+60s
		}},
		{"zero attempts fails at once", &structs.RestartPolicy{Attempts: 0, Interval: time.Minute, Mode: structs.RestartPolicyModeFail}, structs.JobTypeService, []exit{
			{time.Second, bad, actionFail, 0},
		}},
		{"zero interval is a lifetime limit", &structs.RestartPolicy{Attempts: 1, Delay: time.Second, Mode: structs.RestartPolicyModeDelay}, structs.JobTypeService, []exit{
			{time.Hour, bad, actionRestart, time.Second},
			{100 * time.Hour, bad, actionFail, 0},
		}},
		{"nil policy is the service default", nil, structs.JobTypeService, []exit{
			{time.Second, bad, actionRestart, 15 * time.Second},
			{2 * time.Second, bad, actionRestart, 15 * time.Second},
			{3 * time.Second, bad, actionFail, 0},
		}},
		{"nil policy is the batch default", nil, structs.JobTypeBatch, []exit{
			{time.Second, bad, actionRestart, 15 * time.Second},
			{2 * time.Second, bad, actionRestart, 15 * time.Second},
			{3 * time.Second, bad, actionRestart, 15 * time.Second},
			{4 * time.Second, bad, actionFail, 0},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRestartTracker(tc.policy, tc.jobType, t0)
			for i, e := range tc.exits {
				d := rt.exited(t0.Add(e.at), e.res)
				if d.Action != e.action || d.Delay != e.delay {
					t.Fatalf("exit %d at +%v: got %v after %v (%s), want %v after %v",
						i, e.at, d.Action, d.Delay, d.Reason, e.action, e.delay)
				}
				if d.Reason == "" {
					t.Errorf("exit %d: empty reason", i)
				}
			}
		})
	}
}

func TestRestartTrackerFailReasonNamesThePolicy(t *testing.T) {
	rt := newRestartTracker(&structs.RestartPolicy{Attempts: 0, Interval: time.Minute, Mode: "fail"}, structs.JobTypeService, time.Unix(0, 0))
	d := rt.exited(time.Unix(1, 0), &driver.ExitResult{ExitCode: 1})
	if want := `Exceeded allowed attempts 0 in interval 1m0s and mode is "fail"`; d.Reason != want {
		t.Errorf("reason = %q, want %q", d.Reason, want)
	}
}
