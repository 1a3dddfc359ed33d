package jobspec

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestParseAffinityAndSpread(t *testing.T) {
	src := `job "j" {
  affinity {
    attribute = "${node.datacenter}"
    value     = "dc1"
  }
  spread {
    attribute = "${meta.rack}"
    weight    = 70
    target "r1" { percent = 20 }
    target "r2" { percent = 30 }
  }
  group "g" {
    affinity {
      attribute = "${meta.kind}"
      operator  = "!="
      value     = "spot"
      weight    = -30
    }
    spread { attribute = "${node.datacenter}" }
    task "t" {
      driver = "raw_exec"
      affinity {
        attribute = "${attr.cpu.arch}"
        operator  = "=="
        value     = "amd64"
        weight    = 100
      }
    }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := &structs.Job{
		Affinities: []*structs.Affinity{{LTarget: "${node.datacenter}", Operand: "=", RTarget: "dc1", Weight: 50}},
		Spreads: []*structs.Spread{{Attribute: "${meta.rack}", Weight: 70, SpreadTarget: []*structs.SpreadTarget{
			{Value: "r1", Percent: 20}, {Value: "r2", Percent: 30}}}},
	}
	if got := dump(job.Affinities) + dump(job.Spreads); got != dump(want.Affinities)+dump(want.Spreads) {
		t.Errorf("job: %s", got)
	}
	tg := job.TaskGroups[0]
	if got, want := dump(tg.Affinities), dump([]*structs.Affinity{{LTarget: "${meta.kind}", Operand: "!=", RTarget: "spot", Weight: -30}}); got != want {
		t.Errorf("group affinities %s, want %s", got, want)
	}
	if got, want := dump(tg.Spreads), dump([]*structs.Spread{{Attribute: "${node.datacenter}", Weight: 50}}); got != want {
		t.Errorf("group spreads %s, want %s", got, want)
	}
	if got, want := dump(tg.Tasks[0].Affinities), dump([]*structs.Affinity{{LTarget: "${attr.cpu.arch}", Operand: "=", RTarget: "amd64", Weight: 100}}); got != want {
		t.Errorf("task affinities %s, want %s", got, want)
	}
}

func TestParseBadAffinityAndSpread(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"affinity weight 0", `job "j" {
  affinity {
    attribute = "${node.datacenter}"
    value     = "dc1"
    weight    = 0
  }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:5:5: affinity[0].weight = 0: must be between -100 and 100, and not 0`},
		{"affinity weight out of range", `job "j" {
  group "g" {
    affinity {
      attribute = "${node.datacenter}"
      value     = "dc1"
      weight    = 101
    }
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:6:7: group "g": affinity[0].weight = 101: must be between -100 and 100, and not 0`},
		{"spread percentages over 100", `job "j" {
  spread {
    attribute = "${meta.rack}"
    target "r1" { percent = 60 }
    target "r2" { percent = 50 }
  }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:2:3: spread[0].target: the targets' percentages must sum to at most 100 (they sum to 110)`},
		{"spread duplicate target", `job "j" {
  spread {
    attribute = "${meta.rack}"
    target "r1" { percent = 10 }
    target "r1" { percent = 10 }
  }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:5:12: spread[0].target[1] = "r1": another target of the spread has the same value`},
		{"spread weight 0", `job "j" {
  spread {
    attribute = "${meta.rack}"
    weight    = 0
  }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:4:5: spread[0].weight = 0: must be between 1 and 100`},
		{"spread without attribute", `job "j" {
  group "g" {
    spread { weight = 10 }
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:3:5: group "g": spread[0].attribute = "": must not be empty`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantParseError(t, tc.src, tc.want) })
	}
}
