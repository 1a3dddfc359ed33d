package checks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// TestFigureCheckCost measures what 1,000 checks at a 10 s interval cost one
// client: 500 http and 500 tcp checks against an HTTP server in this
// process, run by one Runner for three rounds (30 s, real clock). It prints
// the process's CPU use over that time (the target server's included) and
// the goroutines the runner adds. Set ORCH_FIGURES=1 to run it.
func TestFigureCheckCost(t *testing.T) {
	if os.Getenv("ORCH_FIGURES") == "" {
		t.Skip("set ORCH_FIGURES=1 to measure the cost of 1,000 checks")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	_, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)

	const n = 1000
	job := structstest.Job("many")
	tg := job.TaskGroups[0]
	tg.Networks = []*structs.NetworkResource{{Mode: "host", DynamicPorts: []structs.Port{{Label: "http"}}}}
	svc := &structs.Service{Name: "many", PortLabel: "http"}
	for i := range n {
		c := &structs.ServiceCheck{Name: "c" + strconv.Itoa(i), Type: structs.CheckTypeTCP, Interval: 10 * time.Second,
			Timeout: 2 * time.Second, OnUpdate: structs.OnUpdateRequireHealthy}
		if i%2 == 0 {
			c.Type, c.Path, c.Method, c.Protocol = structs.CheckTypeHTTP, "/health", "GET", "http"
		}
		svc.Checks = append(svc.Checks, c)
	}
	tg.Services = []*structs.Service{svc}
	node := structstest.Node(structs.GenerateUUID(), "n1")
	alloc := structstest.Alloc(structs.GenerateUUID(), "e1", job, node, "web", 0)
	alloc.AllocatedResources.Shared.Ports = structs.AllocatedPorts{{Label: "http", Value: port}}

	before := runtime.NumGoroutine()
	r := NewRunner(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	cpu0, wall0 := cpuTime(), time.Now()
	r.AllocUpdated(alloc, node, nil)
	time.Sleep(5 * time.Second) // mid-interval: the first round is done, the next not due
	idle := runtime.NumGoroutine() - before
	time.Sleep(25 * time.Second) // the measuring window: three rounds in all
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	passing := 0
	for _, c := range r.AllocChecks(alloc.ID) {
		if c.Status == structs.CheckStatusPassing {
			passing++
		}
	}
	if passing != n {
		t.Fatalf("%d of %d checks passing", passing, n)
	}
	fmt.Printf("FIGURE name=checks_1000_at_10s_cpu value=%.2f unit=percent_of_one_core\n", 100*cpu.Seconds()/wall.Seconds())
	fmt.Printf("FIGURE name=checks_1000_at_10s_goroutines value=%d unit=goroutines\n", idle)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
