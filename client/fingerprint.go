package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/orch-io/orch/structs"
)

// defaultCPUMHz is assumed per core when /proc/cpuinfo does not say (some
// virtual machines and arm64 kernels).
const defaultCPUMHz = 1000

// hostFacts are what fingerprinting reads from the machine. gatherHostFacts
// does the reading; everything else about the fingerprint is pure.
type hostFacts struct {
	NumCores      int
	CoreIDs       []int   // the cores this process may run on (its affinity), sorted
	CPUMHz        float64 // per core; 0 if unknown
	MemTotalBytes uint64
	DiskFreeBytes uint64 // on the file system of the data directory
	OSName        string // /etc/os-release ID
	OSVersion     string // /etc/os-release VERSION_ID
	KernelName    string
	KernelRelease string
	Hostname      string
	Arch          string
}

// gatherHostFacts reads the facts of this machine. A fact that cannot be read is
// left zero and named in the error; the caller decides whether to go on.
func gatherHostFacts(dataDir string) (hostFacts, error) {
	f := hostFacts{
		NumCores:   runtime.NumCPU(),
		KernelName: runtime.GOOS,
		Arch:       runtime.GOARCH,
	}
	var errs []error
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		for c := range 8 * int(unsafe.Sizeof(set)) {
			if set.IsSet(c) {
				f.CoreIDs = append(f.CoreIDs, c)
			}
		}
	}

	if r, err := os.Open("/proc/cpuinfo"); err == nil {
		f.CPUMHz = parseCPUInfoMHz(r)
		r.Close()
	}
	if r, err := os.Open("/proc/meminfo"); err != nil {
		errs = append(errs, fmt.Errorf("memory: %w", err))
	} else {
		f.MemTotalBytes, err = ParseMemTotal(r)
		r.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("memory: %w", err))
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dataDir, &st); err != nil {
		errs = append(errs, fmt.Errorf("disk: statfs %s: %w", dataDir, err))
	} else {
		f.DiskFreeBytes = st.Bavail * uint64(st.Bsize)
	}
	if r, err := os.Open("/etc/os-release"); err == nil {
		f.OSName, f.OSVersion = parseOSRelease(r)
		r.Close()
	}
	var uts syscall.Utsname
	if err := syscall.Uname(&uts); err == nil {
		f.KernelRelease = utsString(uts.Release[:])
	}
	if h, err := os.Hostname(); err == nil {
		f.Hostname = h
	} else {
		errs = append(errs, fmt.Errorf("hostname: %w", err))
	}
	return f, errors.Join(errs...)
}

// fingerprint is what the facts make of a node.
type fingerprint struct {
	Attributes map[string]string
	Resources  *structs.NodeResources
}

// fingerprintFromFacts turns host facts into node attributes and resources, in
// Nomad's attribute names. Pure.
func fingerprintFromFacts(f hostFacts) fingerprint {
	mhz := int(f.CPUMHz)
	if mhz <= 0 {
		mhz = defaultCPUMHz
	}
	cores := max(f.NumCores, 1)
	ids := f.CoreIDs
	if len(ids) != cores { // unknown affinity: cores 0..n-1
		ids = make([]int, cores)
		for i := range ids {
			ids[i] = i
		}
	}
	total := cores * mhz
	memMB := int(f.MemTotalBytes / (1024 * 1024))
	diskMB := int(f.DiskFreeBytes / (1024 * 1024))

	attrs := map[string]string{
		"cpu.arch":                 f.Arch,
		"cpu.numcores":             strconv.Itoa(cores),
		"cpu.frequency":            strconv.Itoa(mhz),
		"cpu.totalcompute":         strconv.Itoa(total),
		"memory.totalbytes":        strconv.FormatUint(f.MemTotalBytes, 10),
		"unique.storage.bytesfree": strconv.FormatUint(f.DiskFreeBytes, 10),
		"kernel.name":              f.KernelName,
		"kernel.version":           f.KernelRelease,
		"os.name":                  f.OSName,
		"os.version":               f.OSVersion,
		"unique.hostname":          f.Hostname,
		"arch":                     f.Arch,
	}
	for k, v := range attrs {
		if v == "" {
			delete(attrs, k)
		}
	}
	return fingerprint{
		Attributes: attrs,
		Resources:  &structs.NodeResources{CPU: total, MemoryMB: memMB, DiskMB: diskMB, Cores: slices.Clone(ids)},
	}
}

// parseCPUInfoMHz returns the first "cpu MHz" of /proc/cpuinfo, 0 if none.
func parseCPUInfoMHz(r io.Reader) float64 {
	s := bufio.NewScanner(r)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok || strings.TrimSpace(k) != "cpu MHz" {
			continue
		}
		if mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && mhz > 0 {
			return mhz
		}
	}
	return 0
}

// ParseMemTotal returns MemTotal of /proc/meminfo (read from r) in bytes.
func ParseMemTotal(r io.Reader) (uint64, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok || k != "MemTotal" {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			break
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("MemTotal %q: %w", v, err)
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n *= 1024
		}
		return n, nil
	}
	return 0, errors.New("no MemTotal line")
}

// parseOSRelease returns ID and VERSION_ID of an os-release file, unquoted.
func parseOSRelease(r io.Reader) (id, version string) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			version = v
		}
	}
	return id, version
}

// utsString converts a NUL-terminated utsname field (int8 or uint8 by
// architecture) to a string.
func utsString[T int8 | uint8](field []T) string {
	b := make([]byte, 0, len(field))
	for _, c := range field {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
