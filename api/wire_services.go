package api

import "time"

// Services, checks and templates of a job as Nomad's JSON has them
// (github.com/hashicorp/nomad/api's Service, ServiceCheck, CheckRestart,
// Template), and the check results of GET /v1/client/allocation/:id/checks
// (AllocCheckStatus). wire.go says the rules.

// Service is a group's or a task's service block on the wire.
type Service struct {
	Name              string
	Tags              []string
	CanaryTags        []string
	EnableTagOverride Unsupported
	PortLabel         string
	AddressMode       string
	Address           string
	Checks            []ServiceCheck
	// CheckRestart and OnUpdate are Nomad's service-level defaults of its
	// checks' (JobToStructs gives them to the checks that set none; orch
	// keeps them on the checks only, so they are never sent).
	CheckRestart    *CheckRestart
	Connect         Unsupported
	Meta            map[string]string
	CanaryMeta      map[string]string
	TaggedAddresses Unsupported
	TaskName        string
	OnUpdate        string
	Identity        Unsupported
	Weights         Unsupported
	Provider        string
	Cluster         Unsupported
	Kind            Unsupported
}

// ServiceCheck is a service's check block on the wire.
type ServiceCheck struct {
	Name                   string
	Type                   string
	Command                string
	Args                   []string
	Path                   string
	Protocol               string
	PortLabel              string
	Expose                 Unsupported
	AddressMode            string
	Advertise              Unsupported
	Interval               time.Duration
	Timeout                time.Duration
	InitialStatus          string
	Notes                  Unsupported
	TLSServerName          Unsupported
	TLSSkipVerify          bool
	Header                 map[string][]string
	Method                 string
	CheckRestart           *CheckRestart
	GRPCService            string
	GRPCUseTLS             bool
	TaskName               string
	SuccessBeforePassing   int
	FailuresBeforeCritical int
	FailuresBeforeWarning  Unsupported
	Body                   string
	OnUpdate               string
}

// CheckRestart is a check's (or a service's) check_restart block on the
// wire.
type CheckRestart struct {
	Limit          int
	Grace          *time.Duration
	IgnoreWarnings bool
}

// Template is a task's template block on the wire. Absent fields take
// Nomad's defaults (a splay of 5s; the others are filled by
// structs.Job.Canonicalize).
type Template struct {
	SourcePath    *string
	DestPath      *string
	EmbeddedTmpl  *string
	ChangeMode    *string
	ChangeScript  *ChangeScript
	ChangeSignal  *string
	Once          Unsupported
	Splay         *time.Duration
	Perms         *string
	Uid           Unsupported
	Gid           Unsupported
	LeftDelim     *string
	RightDelim    *string
	Envvars       *bool
	VaultGrace    Unsupported
	Wait          *WaitConfig
	ErrMissingKey *bool
}

// WaitConfig is a template's wait block on the wire.
type WaitConfig struct {
	Min *time.Duration
	Max *time.Duration
}

// ChangeScript is a template's change_script block on the wire.
type ChangeScript struct {
	Command     *string
	Args        []string
	Timeout     *time.Duration
	FailOnError *bool
	// RunOnFirstRender (running the script after the first render too) is
	// not implemented.
	RunOnFirstRender Unsupported
}

// AllocCheckStatus is the latest result of one check, an entry of GET
// /v1/client/allocation/:id/checks (keyed by ID). Timestamp is unix
// seconds, as Nomad's.
type AllocCheckStatus struct {
	ID         string
	Check      string
	Group      string
	Mode       string
	Output     string
	Service    string
	Task       string
	Status     string
	StatusCode int
	Timestamp  int64
}
