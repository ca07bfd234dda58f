// Package resolve turns a --target reference into a running container,
// asking whichever runtime the reference names, or all of them for a bare
// name.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/cgroupscan"
	"github.com/cnsenter/cnsenter/runtime/containerd"
	"github.com/cnsenter/cnsenter/runtime/docker"
	"github.com/cnsenter/cnsenter/runtime/podman"
	"github.com/cnsenter/cnsenter/runtime/ref"
)

// DefaultTimeout is the deadline of each engine call.
const DefaultTimeout = 5 * time.Second

// Options choose the engines; empty fields take each ecosystem's defaults.
type Options struct {
	Docker            docker.EndpointOptions
	ContainerdAddress string
	// PodmanRoot and PodmanRunRoot are Podman's storage and run roots
	// (podman.Root, podman.RunRoot).
	PodmanRoot, PodmanRunRoot string
	// PodmanURL is the Podman service to ask instead (podman.Options).
	PodmanURL string
	Timeout   time.Duration
	// Proc is where the cgroup scan reads the processes: /proc when empty.
	Proc string
}

// Engines holds the adapters, made when first needed.
type Engines struct {
	opts       Options
	docker     *docker.Adapter
	dockerErr  error
	containerd *containerd.Adapter
	podman     *podman.Adapter
}

// New prepares to talk to the engines; nothing is dialled yet.
func New(opts Options) *Engines {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Proc == "" {
		opts.Proc = "/proc"
	}
	return &Engines{opts: opts}
}

// Docker is the Docker adapter, or why there is none.
func (e *Engines) Docker() (*docker.Adapter, error) {
	if e.docker == nil && e.dockerErr == nil {
		host, err := docker.Endpoint(e.opts.Docker)
		if err == nil {
			e.docker, err = docker.New(host, e.opts.Timeout)
		}
		e.dockerErr = err
	}
	return e.docker, e.dockerErr
}

// Containerd is the containerd adapter.
func (e *Engines) Containerd() (*containerd.Adapter, error) {
	if e.containerd == nil {
		a, err := containerd.New(containerd.Address(e.opts.ContainerdAddress), e.opts.Timeout)
		if err != nil {
			return nil, err
		}
		e.containerd = a
	}
	return e.containerd, nil
}

// Podman is the Podman adapter: files to read, else a service to ask.
func (e *Engines) Podman() *podman.Adapter {
	if e.podman == nil {
		e.podman = podman.Open(podman.Options{Root: e.opts.PodmanRoot, RunRoot: e.opts.PodmanRunRoot, URL: e.opts.PodmanURL, Timeout: e.opts.Timeout})
	}
	return e.podman
}

// Close releases every connection made.
func (e *Engines) Close() {
	if e.docker != nil {
		e.docker.Close()
	}
	if e.containerd != nil {
		e.containerd.Close()
	}
}

// Resolve finds the running container a reference names. A PID is not a
// container: the caller handles it before.
func (e *Engines) Resolve(ctx context.Context, raw string) (runtime.Container, error) {
	r, err := ref.Parse(raw, containerd.DefaultNamespace())
	if err != nil {
		return runtime.Container{}, err
	}
	switch r.Kind {
	case ref.PID:
		return runtime.Container{}, fmt.Errorf("%s is a PID, not a container", raw)
	case ref.Docker:
		d, err := e.Docker()
		if err != nil {
			return runtime.Container{}, fmt.Errorf("%s: %w", raw, err)
		}
		c, err := d.Resolve(ctx, r.Name)
		if err != nil || c.Note == "" {
			return c, err
		}
		return e.confirmBypass(ctx, c)
	case ref.Containerd:
		c, err := e.Containerd()
		if err != nil {
			return runtime.Container{}, err
		}
		return c.Get(ctx, r.Namespace, r.Name)
	case ref.Podman:
		return e.Podman().Resolve(ctx, r.Name)
	}
	return e.resolveBare(ctx, r.Name)
}

// confirmBypass asks containerd, whose "moby" namespace holds Docker's
// containers, for the PID of a container found in dockerd's state on disk
// while dockerd did not answer. Without containerd, the state on disk
// stands (the caller still checks the PID's cgroups).
func (e *Engines) confirmBypass(ctx context.Context, c runtime.Container) (runtime.Container, error) {
	cd, err := e.Containerd()
	if err != nil {
		return c, nil
	}
	live, err := cd.Get(ctx, "moby", c.ID)
	switch {
	case err == nil:
		c.PID, c.Status = live.PID, live.Status
		c.Note += "; its PID confirmed by containerd (namespace moby)"
		return c, nil
	case live.ID != "" || errors.Is(err, runtime.ErrNotFound):
		return c, fmt.Errorf("docker://%s: containerd says: %w", c.Name, err)
	}
	return c, nil // containerd does not answer either: the state on disk stands
}

// resolveBare looks for a name in Docker, then in every containerd
// namespace, then in Podman's store. Docker's containers are also containerd's (namespace "moby"):
// that namespace is left to Docker when Docker answers.
func (e *Engines) resolveBare(ctx context.Context, name string) (runtime.Container, error) {
	var found []runtime.Container
	var failures []string
	var lastErr error // a container found but not running, say
	dockerAnswered := false
	if d, err := e.Docker(); err != nil {
		failures = append(failures, err.Error())
	} else if c, err := d.Resolve(ctx, name); err == nil {
		found = append(found, c)
		dockerAnswered = true
	} else if errors.Is(err, runtime.ErrNotFound) {
		dockerAnswered = true
	} else if c.ID != "" {
		dockerAnswered, lastErr = true, err
	} else {
		failures = append(failures, err.Error())
	}
	if c, err := e.Containerd(); err != nil {
		failures = append(failures, err.Error())
	} else if namespaces, err := c.Namespaces(ctx); err != nil {
		failures = append(failures, err.Error())
	} else {
		for _, ns := range namespaces {
			if ns == "moby" && dockerAnswered {
				continue
			}
			got, err := c.Get(ctx, ns, name)
			switch {
			case err == nil:
				found = append(found, got)
			case got.ID != "":
				lastErr = err
			case !errors.Is(err, runtime.ErrNotFound):
				failures = append(failures, err.Error())
			}
		}
	}
	if c, err := e.Podman().Resolve(ctx, name); err == nil {
		found = append(found, c)
	} else if c.ID != "" {
		lastErr = err
	} else if !errors.Is(err, runtime.ErrNotFound) {
		failures = append(failures, err.Error())
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		refs := make([]string, len(found))
		for i, c := range found {
			refs[i] = c.Ref()
		}
		return runtime.Container{}, fmt.Errorf("%s names several containers: %s; give one of these references", name, strings.Join(refs, ", "))
	case lastErr != nil:
		return runtime.Container{}, lastErr
	}
	// No runtime knows it, or not every one answered: the container may
	// still run, found by its cgroup.
	c, scanErr := e.scan(name)
	switch {
	case scanErr == nil:
		return c, nil
	case !errors.Is(scanErr, runtime.ErrNotFound):
		return runtime.Container{}, scanErr
	case len(failures) > 0:
		return runtime.Container{}, fmt.Errorf("%s: no running container found, nor by its cgroup (see 'cnsenter --list'), and not every runtime answered: %s", name, strings.Join(failures, "; "))
	}
	return runtime.Container{}, fmt.Errorf("%s: %w in Docker, containerd or Podman, nor in the processes' cgroups (see 'cnsenter --list')", name, runtime.ErrNotFound)
}

// scan finds a container by its cgroup (runtime/cgroupscan): an ID or a
// prefix of at least cgroupscan.MinPrefix hex digits, or an LXC or
// systemd-nspawn name.
func (e *Engines) scan(name string) (runtime.Container, error) {
	inits, err := cgroupscan.Scan(e.opts.Proc)
	if err != nil {
		return runtime.Container{}, err
	}
	i, err := cgroupscan.Match(inits, name)
	if err != nil {
		return runtime.Container{}, err
	}
	return i.Container(e.opts.Proc), nil
}

// Runtimes is how many runtimes List asks.
func (e *Engines) Runtimes() int { return 3 }

// List returns the running containers of every runtime that answers, and
// one error for each that does not. Docker's containers are listed once,
// as Docker's. Containers found by their cgroup that no runtime listed
// follow, as runtime "cgroup".
func (e *Engines) List(ctx context.Context) ([]runtime.Container, []error) {
	all, errs := e.listEngines(ctx)
	if list, err := e.Podman().List(ctx); err != nil {
		errs = append(errs, err)
	} else {
		all = append(all, list...)
	}
	inits, err := cgroupscan.Scan(e.opts.Proc)
	if err != nil {
		return all, append(errs, err)
	}
	listed := map[string]bool{}
	for _, c := range all {
		listed[c.ID] = true
	}
	for _, i := range inits {
		if !listed[i.ID] {
			c := i.Container(e.opts.Proc)
			c.Note = ""
			if i.Places != nil {
				// Several cgroups name it: its PID may be another's.
				c.Status, c.PID = "ambiguous", 0
			}
			all = append(all, c)
		}
	}
	return all, errs
}

// listEngines lists Docker's and containerd's containers.
func (e *Engines) listEngines(ctx context.Context) ([]runtime.Container, []error) {
	var all []runtime.Container
	var errs []error
	dockerAnswered := false
	if d, err := e.Docker(); err != nil {
		errs = append(errs, err)
	} else if list, err := d.List(ctx); err != nil {
		errs = append(errs, err)
	} else {
		all, dockerAnswered = list, true
	}
	c, err := e.Containerd()
	if err != nil {
		return all, append(errs, err)
	}
	namespaces, err := c.Namespaces(ctx)
	if err != nil {
		return all, append(errs, err)
	}
	for _, ns := range namespaces {
		if ns == "moby" && dockerAnswered {
			continue
		}
		list, err := c.ListNamespace(ctx, ns)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, list...)
	}
	return all, errs
}
