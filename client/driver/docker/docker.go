package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// Name is the driver's name in job files.
const Name = "docker"

// Labels orch puts on its containers.
const (
	labelPrefix  = "io.orch."
	labelAllocID = labelPrefix + "alloc_id"
	labelJobID   = labelPrefix + "job_id"
	labelTask    = labelPrefix + "task_name"
)

// Docker runs tasks as containers. Safe for concurrent use.
type Docker struct {
	cfg    PluginConfig
	api    *client.Client
	logger *slog.Logger
}

var (
	_ driver.Driver     = (*Docker)(nil)
	_ driver.Reconciler = (*Docker)(nil)
)

// New returns the docker driver talking to cfg.Endpoint. It does not contact
// the daemon: Fingerprint says whether one answers.
func New(cfg PluginConfig, logger *slog.Logger) (*Docker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := []client.Opt{client.FromEnv}
	if cfg.Endpoint != "" {
		opts = append(opts, client.WithHost(cfg.Endpoint))
	}
	api, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker: endpoint %q: %w", cfg.Endpoint, err)
	}
	return &Docker{cfg: cfg, api: api, logger: logger.With("driver", Name)}, nil
}

// Close releases the client's connections.
func (d *Docker) Close() error { return d.api.Close() }

// Name implements driver.Driver.
func (d *Docker) Name() string { return Name }

// Capabilities implements driver.Driver: containers outlive the agent, and
// commands run inside them.
func (d *Docker) Capabilities() driver.Capabilities {
	return driver.Capabilities{Reattach: true, Exec: true, Isolated: true}
}

// Fingerprint implements driver.Driver: the driver is detected and healthy
// when the daemon answers, with its version as driver.docker.version.
func (d *Docker) Fingerprint(ctx context.Context) *structs.DriverInfo {
	info := &structs.DriverInfo{UpdateTime: time.Now().UnixNano()}
	v, err := d.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		info.HealthDescription = "Docker engine unreachable: " + err.Error()
		return info
	}
	info.Detected, info.Healthy, info.HealthDescription = true, true, "Healthy"
	info.Attributes = map[string]string{
		"driver.docker.version":         v.Version,
		"driver.docker.volumes.enabled": strconv.FormatBool(d.cfg.VolumesEnabled),
	}
	return info
}

// Start implements driver.Driver: it makes sure the image is there, creates
// the container, starts it and begins streaming its output.
func (d *Docker) Start(ctx context.Context, cfg *driver.TaskConfig) (driver.Handle, error) {
	tc, err := parseConfig(cfg, d.cfg.VolumesEnabled)
	if err != nil {
		return nil, err
	}
	if err := d.ensureImage(ctx, cfg.TaskName, tc); err != nil {
		return nil, err
	}
	create := d.createOptions(cfg, tc)
	created, err := d.api.ContainerCreate(ctx, create)
	if errdefs.IsConflict(err) {
		// A container of an earlier run of the task that was not removed.
		d.logger.Info("removing a stale container of the task", "name", create.Name)
		if _, rmErr := d.api.ContainerRemove(ctx, create.Name, client.ContainerRemoveOptions{Force: true}); rmErr == nil {
			created, err = d.api.ContainerCreate(ctx, create)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("task %q: creating the container of image %q: %w", cfg.TaskName, tc.Image, err)
	}
	if _, err := d.api.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		_, _ = d.api.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true})
		return nil, fmt.Errorf("task %q: starting container %s: %w", cfg.TaskName, short(created.ID), err)
	}
	h := d.newHandle(cfg, created.ID, time.Now(), time.Time{})
	h.logger.Debug("container started", "image", tc.Image)
	return h, nil
}

// Recover implements driver.Driver: the container is found by the ID the
// handle names; a container that exited meanwhile is recovered too.
func (d *Docker) Recover(ctx context.Context, cfg *driver.TaskConfig, th *driver.TaskHandle) (driver.Handle, error) {
	res, err := d.api.ContainerInspect(ctx, th.ID, client.ContainerInspectOptions{})
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("task %q: container %s: %w", cfg.TaskName, short(th.ID), driver.ErrTaskNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("task %q: inspecting container %s: %w", cfg.TaskName, short(th.ID), err)
	}
	c := res.Container
	if c.Config == nil || c.Config.Labels[labelAllocID] != cfg.AllocID || c.Config.Labels[labelTask] != cfg.TaskName {
		return nil, fmt.Errorf("task %q: container %s belongs to another task: %w", cfg.TaskName, short(th.ID), driver.ErrTaskNotFound)
	}
	// Output written while no agent listened is not copied: logs resume now.
	return d.newHandle(cfg, th.ID, time.Unix(0, th.StartedAt), time.Now()), nil
}

// ensureImage pulls the task's image unless the daemon has it (and
// force_pull is not set).
func (d *Docker) ensureImage(ctx context.Context, task string, tc taskConfig) error {
	if !tc.ForcePull {
		_, err := d.api.ImageInspect(ctx, tc.Image)
		if err == nil {
			return nil
		}
		if !errdefs.IsNotFound(err) {
			return fmt.Errorf("task %q: inspecting image %q: %w", task, tc.Image, err)
		}
	}
	opts := client.ImagePullOptions{}
	if len(tc.Auth) > 0 {
		buf, err := json.Marshal(map[string]string{
			"username": tc.Auth["username"], "password": tc.Auth["password"],
			"email": tc.Auth["email"], "serveraddress": tc.Auth["server_address"],
		})
		if err != nil {
			return err
		}
		opts.RegistryAuth = base64.URLEncoding.EncodeToString(buf)
	}
	d.logger.Info("pulling image", "image", tc.Image, "force_pull", tc.ForcePull)
	resp, err := d.api.ImagePull(ctx, tc.Image, opts)
	if err == nil {
		err = resp.Wait(ctx)
		resp.Close()
	}
	if err != nil {
		return fmt.Errorf("task %q: pulling image %q: the Docker daemon answered: %w", task, tc.Image, err)
	}
	return nil
}

// createOptions is the container the task runs in.
func (d *Docker) createOptions(cfg *driver.TaskConfig, tc taskConfig) client.ContainerCreateOptions {
	labels := map[string]string{}
	for k, v := range tc.Labels {
		labels[k] = v
	}
	labels[labelAllocID], labels[labelJobID], labels[labelTask] = cfg.AllocID, cfg.JobID, cfg.TaskName

	cc := &container.Config{
		Image:        tc.Image,
		Env:          cfg.TaskEnv,
		Labels:       labels,
		Hostname:     tc.Hostname,
		Entrypoint:   tc.Entrypoint,
		ExposedPorts: network.PortSet{},
	}
	if tc.Command != "" {
		cc.Cmd = append([]string{tc.Command}, tc.Args...)
	} else if len(tc.Args) > 0 {
		cc.Cmd = tc.Args
	}
	hc := &container.HostConfig{
		NetworkMode:  container.NetworkMode(tc.NetworkMode),
		PortBindings: network.PortMap{},
		Mounts:       taskMounts(cfg),
	}
	if r := cfg.Resources; r != nil {
		// With memory_max (allocated only under memory oversubscription) it
		// is the hard limit and memory the reservation, as in Nomad.
		hc.Memory = int64(r.MemoryMB) * 1024 * 1024
		if r.MemoryMaxMB > r.MemoryMB {
			hc.Memory, hc.MemoryReservation = int64(r.MemoryMaxMB)*1024*1024, hc.Memory
		}
		hc.CPUShares = int64(r.CPU)
		hc.CpusetCpus = structs.FormatCoreList(r.ReservedCores)
	}
	for _, v := range tc.Volumes {
		parts := strings.Split(v, ":")
		if !filepath.IsAbs(parts[0]) { // relative to the task directory, as in Nomad
			parts[0] = filepath.Join(cfg.Dir, parts[0])
		}
		hc.Binds = append(hc.Binds, strings.Join(parts, ":"))
	}
	for _, label := range tc.Ports {
		m, _ := cfg.Ports.Get(label) // parseConfig checked it exists
		to := m.To
		if to <= 0 {
			to = m.Value
		}
		var hostIP netip.Addr
		if ip, err := netip.ParseAddr(m.HostIP); err == nil {
			hostIP = ip
		}
		for _, proto := range []network.IPProtocol{network.TCP, network.UDP} {
			p, ok := network.PortFrom(uint16(to), proto)
			if !ok {
				continue
			}
			cc.ExposedPorts[p] = struct{}{}
			hc.PortBindings[p] = append(hc.PortBindings[p], network.PortBinding{HostIP: hostIP, HostPort: strconv.Itoa(m.Value)})
		}
	}
	return client.ContainerCreateOptions{Config: cc, HostConfig: hc, Name: containerName(cfg)}
}

// taskMounts binds the task's /alloc, /local and /secrets into the container.
func taskMounts(cfg *driver.TaskConfig) []mount.Mount {
	var ms []mount.Mount
	for _, m := range []struct{ src, dst string }{{cfg.AllocDir, "/alloc"}, {cfg.LocalDir, "/local"}, {cfg.SecretsDir, "/secrets"}} {
		if m.src != "" {
			ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: m.src, Target: m.dst})
		}
	}
	return ms
}

// containerName is "<task>-<alloc ID>", as in Nomad.
func containerName(cfg *driver.TaskConfig) string {
	return cfg.TaskName + "-" + cfg.AllocID
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
