package structstest

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// Job returns a small service job: group "web" (count 1) with one raw_exec
// task "server" asking 100 MHz and 128 MB.
func Job(id string) *structs.Job {
	return &structs.Job{
		Region: structs.DefaultRegion, Namespace: structs.DefaultNamespace,
		ID: id, Name: id, Type: structs.JobTypeService, Priority: structs.DefaultJobPriority,
		Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name:  "web",
			Count: 1,
			Tasks: []*structs.Task{{
				Name:      "server",
				Driver:    "raw_exec",
				Config:    map[string]any{"command": "/bin/sleep", "args": []any{"3600"}},
				Resources: &structs.Resources{CPU: 100, MemoryMB: 128},
			}},
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: 300},
		}},
	}
}

// Node returns a ready, eligible client node in dc1 with the raw_exec driver,
// 4000 MHz, 8192 MB and 100 GB of disk.
func Node(id, name string) *structs.Node {
	return &structs.Node{
		ID: id, Name: name, Datacenter: "dc1", HTTPAddr: "127.0.0.1:4646",
		Attributes:    map[string]string{"kernel.name": "linux", "cpu.arch": "amd64", "driver.raw_exec": "1"},
		NodeResources: &structs.NodeResources{CPU: 4000, MemoryMB: 8192, DiskMB: 100 * 1024},
		Drivers: map[string]*structs.DriverInfo{
			"raw_exec": {Detected: true, Healthy: true, HealthDescription: "Healthy"},
		},
		Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeEligible,
		StatusUpdatedAt: time.Now().Unix(),
	}
}

// Alloc returns a running allocation with ID id of job's group at index on
// node, created by eval evalID, with a task state per task (one "Started" event).
func Alloc(id, evalID string, job *structs.Job, node *structs.Node, group string, index int) *structs.Allocation {
	now := time.Now().UnixNano()
	a := &structs.Allocation{
		ID: id, Namespace: job.Namespace, EvalID: evalID,
		Name:   structs.AllocName(job.ID, group, index),
		NodeID: node.ID, NodeName: node.Name, JobID: job.ID, Job: job.Copy(), TaskGroup: group,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.Resources{}},
		DesiredStatus:      structs.AllocDesiredStatusRun,
		ClientStatus:       structs.AllocClientStatusRunning,
		ClientDescription:  "Tasks are running",
		TaskStates:         map[string]*structs.TaskState{},
		CreateTime:         now, ModifyTime: now,
	}
	if tg := job.LookupTaskGroup(group); tg != nil {
		if tg.EphemeralDisk != nil {
			a.AllocatedResources.Shared.DiskMB = tg.EphemeralDisk.SizeMB
		}
		for _, t := range tg.Tasks {
			if t.Resources != nil {
				r := *t.Resources
				a.AllocatedResources.Tasks[t.Name] = &r
			}
			a.TaskStates[t.Name] = &structs.TaskState{
				State: structs.TaskStateRunning, StartedAt: now,
				Events: []*structs.TaskEvent{
					{Type: structs.TaskReceived, Time: now - int64(time.Second), DisplayMessage: "Task received by client"},
					{Type: structs.TaskStarted, Time: now, DisplayMessage: "Task started by client"},
				},
			}
		}
	}
	return a
}

// Eval returns a complete job-register evaluation with ID id for job.
func Eval(id string, job *structs.Job) *structs.Evaluation {
	now := time.Now().UnixNano()
	return &structs.Evaluation{
		ID: id, Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
		TriggeredBy: structs.EvalTriggerJobRegister, JobID: job.ID,
		Status: structs.EvalStatusComplete, CreateTime: now, ModifyTime: now,
	}
}
