package client

import (
	"slices"
	"strings"
	"testing"
)

func TestParseCPUInfoMHz(t *testing.T) {
	in := "processor\t: 0\nmodel name\t: Some CPU\ncpu MHz\t\t: 2596.120\ncache size\t: 512 KB\n\nprocessor\t: 1\ncpu MHz\t\t: 1800.000\n"
	if got := parseCPUInfoMHz(strings.NewReader(in)); got != 2596.120 {
		t.Errorf("MHz = %v, want 2596.12", got)
	}
	if got := parseCPUInfoMHz(strings.NewReader("processor : 0\nBogoMIPS : 50.00\n")); got != 0 {
		t.Errorf("MHz without a cpu MHz line = %v, want 0", got)
	}
}

func TestParseMemTotal(t *testing.T) {
	got, err := ParseMemTotal(strings.NewReader("MemTotal:       24684092 kB\nMemFree:         1000 kB\n"))
	if err != nil || got != 24684092*1024 {
		t.Errorf("MemTotal = %d, %v", got, err)
	}
	if _, err := ParseMemTotal(strings.NewReader("MemFree: 1 kB\n")); err == nil {
		t.Error("no error without MemTotal")
	}
	if _, err := ParseMemTotal(strings.NewReader("MemTotal: lots kB\n")); err == nil {
		t.Error("no error for a bad number")
	}
}

func TestParseOSRelease(t *testing.T) {
	id, ver := parseOSRelease(strings.NewReader("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"))
	if id != "debian" || ver != "12" {
		t.Errorf("os-release = %q %q", id, ver)
	}
}

func TestFingerprintFromFacts(t *testing.T) {
	fp := fingerprintFromFacts(hostFacts{
		NumCores: 4, CPUMHz: 2596.12, MemTotalBytes: 8 << 30, DiskFreeBytes: 100 << 20,
		OSName: "debian", OSVersion: "12", KernelName: "linux", KernelRelease: "6.1.0", Hostname: "h1", Arch: "amd64",
	})
	want := map[string]string{
		"cpu.numcores": "4", "cpu.frequency": "2596", "cpu.totalcompute": "10384", "cpu.arch": "amd64",
		"memory.totalbytes": "8589934592", "unique.storage.bytesfree": "104857600",
		"os.name": "debian", "os.version": "12", "kernel.name": "linux", "kernel.version": "6.1.0",
		"unique.hostname": "h1", "arch": "amd64",
	}
	for k, v := range want {
		if fp.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, fp.Attributes[k], v)
		}
	}
	if r := fp.Resources; r.CPU != 10384 || r.MemoryMB != 8192 || r.DiskMB != 100 || !slices.Equal(r.Cores, []int{0, 1, 2, 3}) {
		t.Errorf("resources = %+v", r)
	}

	// No MHz known: 1000 per core; unknown facts leave no empty attributes.
	fp = fingerprintFromFacts(hostFacts{NumCores: 2, KernelName: "linux"})
	if fp.Resources.CPU != 2000 || fp.Attributes["cpu.frequency"] != "1000" {
		t.Errorf("fallback: cpu %d, frequency %q", fp.Resources.CPU, fp.Attributes["cpu.frequency"])
	}
	if _, ok := fp.Attributes["os.name"]; ok {
		t.Error("empty os.name attribute")
	}
}

func TestGatherHostFacts(t *testing.T) {
	f, err := gatherHostFacts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.CoreIDs) != f.NumCores {
		t.Errorf("cores %v, want %d of them (the affinity)", f.CoreIDs, f.NumCores)
	}
	if f.NumCores < 1 || f.MemTotalBytes == 0 || f.DiskFreeBytes == 0 || f.KernelRelease == "" || f.Hostname == "" {
		t.Errorf("facts = %+v", f)
	}
	if _, err := gatherHostFacts("/nonexistent/orch"); err == nil || !strings.Contains(err.Error(), "disk") {
		t.Errorf("missing data dir: %v", err)
	}
}
