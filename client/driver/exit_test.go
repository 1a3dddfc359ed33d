package driver

import (
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"
)

func TestExitSetOnceWaitCopies(t *testing.T) {
	e := NewExit()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Wait(ctx); err == nil {
		t.Fatal("Wait before Set with a canceled ctx: want its error")
	}
	e.Set(&ExitResult{ExitCode: 3})
	e.Set(&ExitResult{ExitCode: 4})
	r, err := e.Wait(context.Background())
	if err != nil || r.ExitCode != 3 {
		t.Fatalf("Wait = %v, %v; want the first exit", r, err)
	}
	r.ExitCode = 9
	if again, _ := e.Wait(context.Background()); again.ExitCode != 3 {
		t.Errorf("a waiter changed the recorded exit")
	}
}

func TestStopWithTimeoutEscalates(t *testing.T) {
	e := NewExit()
	var sent []syscall.Signal
	send := func(s syscall.Signal) {
		sent = append(sent, s)
		if s == syscall.SIGKILL {
			e.Set(&ExitResult{Signal: int(s), ExitCode: 137})
		}
	}
	if err := StopWithTimeout(e, "SIGINT", time.Millisecond, send, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0] != syscall.SIGINT || sent[1] != syscall.SIGKILL {
		t.Errorf("sent %v, want SIGINT then SIGKILL", sent)
	}
	e2 := NewExit()
	err := StopWithTimeout(e2, "SIGNOPE", time.Hour, func(s syscall.Signal) { e2.Set(&ExitResult{Signal: int(s)}) }, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Error("an unknown signal: want it reported")
	}
	if r, _ := e2.Wait(context.Background()); r.Signal != int(syscall.SIGKILL) {
		t.Errorf("unknown signal: task got %d, want SIGKILL", r.Signal)
	}
}

func TestLostExitIsUnknownAndNoSuccess(t *testing.T) {
	r := Lost("the node rebooted")
	if r.Successful() || r.ExitCode != -1 {
		t.Errorf("Lost = %+v: want exit code -1, not successful", r)
	}
	if got := r.String(); got != "unknown exit: the node rebooted" {
		t.Errorf("String = %q", got)
	}
	if !(&ExitResult{}).Successful() {
		t.Error("exit 0: want successful")
	}
}
