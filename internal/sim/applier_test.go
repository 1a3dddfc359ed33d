package sim

import "testing"

func TestParseSeries(t *testing.T) {
	for _, c := range []struct {
		line, name, typ string
		v               float64
		ok              bool
	}{
		{`orch_fsm_apply_duration_seconds_sum{host="s1",type="ApplyPlanResults"} 23.5`, "orch_fsm_apply_duration_seconds_sum", "ApplyPlanResults", 23.5, true},
		{`orch_plan_verify_duration_seconds_count{host="s1"} 62`, "orch_plan_verify_duration_seconds_count", "", 62, true},
		{`go_goroutines 17`, "go_goroutines", "", 17, true},
		{`# TYPE orch_plan_verify_duration_seconds histogram`, "", "", 0, false},
		{`orch_x{type="a"} NaNish`, "", "", 0, false},
		{``, "", "", 0, false},
	} {
		name, typ, v, ok := parseSeries(c.line)
		if name != c.name || typ != c.typ || v != c.v || ok != c.ok {
			t.Errorf("parseSeries(%q) = %q, %q, %v, %v; want %q, %q, %v, %v", c.line, name, typ, v, ok, c.name, c.typ, c.v, c.ok)
		}
	}
}
