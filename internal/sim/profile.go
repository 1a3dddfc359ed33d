package sim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"
)

// profileServers fetches a profile of every running server (kind "profile":
// CPU over length; "trace": an execution trace over length; "heap") from
// the pprof listener Config.Profile asks them to open, into
// WorkDir/<server>.<suffix> (suffix names the file's kind too: "cpu.pprof",
// "node-loss.trace"), all at once. A server
// that does not answer (built without `-tags pprof`, or killed) is logged,
// not an error: the profiles are an aid, not a figure.
func (r *run) profileServers(ctx context.Context, kind, suffix string, length time.Duration) {
	var wg sync.WaitGroup
	for _, s := range r.c.servers {
		if s.pprofPort == 0 || !s.alive() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(r.cfg.WorkDir, s.name+"."+suffix)
			url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", s.pprofPort, kind)
			if kind == "profile" || kind == "trace" {
				url += fmt.Sprintf("?seconds=%d", int(length.Seconds()))
			}
			if err := fetchProfile(ctx, url, path, length); err != nil {
				r.logf("profile of %s: %v (is %s built with -tags pprof?)", s.name, err, r.cfg.OrchBin)
				return
			}
			r.logf("profile of %s: %s", s.name, path)
		}()
	}
	wg.Wait()
}

// fetchProfile GETs url into path, within length plus a minute.
func fetchProfile(ctx context.Context, url, path string, length time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, length+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// profileSelf captures the simulator's own CPU profile over cfg.Profile into
// WorkDir/sim.cpu.pprof: what the simulated nodes cost, beside the servers.
func (r *run) profileSelf(ctx context.Context) {
	path := filepath.Join(r.cfg.WorkDir, "sim.cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		r.logf("profile of the simulator: %v", err)
		return
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		r.logf("profile of the simulator: %v", err)
		return
	}
	t := time.NewTimer(r.cfg.Profile)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	pprof.StopCPUProfile()
	r.logf("profile of the simulator: %s", path)
}
