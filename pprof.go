//go:build pprof

package main

import (
	"fmt"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on the default mux
	"os"
)

// A binary built with `-tags pprof` (the simulator's profiling runs) serves
// Go's profiles on ORCH_PPROF_ADDR ("127.0.0.1:6060") when it is set. The
// shipped binary has no such listener.
func init() {
	addr := os.Getenv("ORCH_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			fmt.Fprintln(os.Stderr, "pprof:", err)
		}
	}()
}
