// Package spec reads the OCI spec a running container was started with and
// turns what makes a process one of its own (user, capabilities,
// no_new_privileges, seccomp, LSM) into enter's terms, for docker nsenter's
// defaults and cnsenter --confine alike.
package spec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/runtime/bundle"
	"github.com/cnsenter/cnsenter/runtime/containerd"
)

// Spec is what is taken from a container's OCI spec, the seccomp profile
// left as JSON until Confinement asks for it: decoding all of specs.Spec
// took 0.65 ms more, on every run (measured cold, as it runs).
type Spec struct {
	Process *specs.Process `json:"process,omitempty"`
	Linux   *struct {
		Seccomp    json.RawMessage        `json:"seccomp,omitempty"`
		Namespaces []specs.LinuxNamespace `json:"namespaces,omitempty"`
	} `json:"linux,omitempty"`
}

// Limits is what the container's processes can ever hold, for the guard
// of enter: the bounding set its processes start with (none can raise
// it), and whether they live in a user namespace of their own.
func (s *Spec) Limits() enter.ContainerLimits {
	var l enter.ContainerLimits
	if s.Process != nil && s.Process.Capabilities != nil {
		l.Bounding = append([]string{}, s.Process.Capabilities.Bounding...) // empty, not nil: known to be none
	}
	if s.Linux != nil {
		for _, ns := range s.Linux.Namespaces {
			l.OwnUserNamespace = l.OwnUserNamespace || ns.Type == specs.UserNamespace
		}
	}
	return l
}

// Source names a running container: its init PID and containerd's
// namespace and ID for it ("moby" and the container's ID for Docker's).
type Source struct {
	Name      string         // for messages: what the user called it
	Process   *enter.Process // its init, pinned
	Namespace string
	ID        string
	// ContainerdAddress and Timeout are for asking containerd, when the
	// bundle cannot be read.
	ContainerdAddress string
	Timeout           time.Duration
	// File, when set, is the spec's own file in the engine's state on
	// the host (Podman's bundle: runtime/podman SpecFile), read instead.
	File string
	// Data, when set, is the spec itself, as the runtime gave it with
	// the container (runtime.Container's Spec).
	Data []byte
}

// Read reads the spec the engine gave the runtime: from the task's bundle
// on disk (runtime/bundle: a file read, no round trip), else from
// containerd itself. CNSENTER_SPEC_FROM_CONTAINERD=1 skips the bundle, for
// tests.
func Read(ctx context.Context, src Source) (*Spec, error) {
	data, err := specJSON(ctx, src)
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("the OCI spec of %s: %w", src.Name, err)
	}
	return &s, nil
}

func specJSON(ctx context.Context, src Source) ([]byte, error) {
	if src.Data != nil {
		if !json.Valid(src.Data) {
			return nil, fmt.Errorf("the OCI spec of %s: what its runtime gave is not JSON", src.Name)
		}
		return src.Data, nil
	}
	if src.File != "" {
		data, err := os.ReadFile(src.File)
		if err != nil {
			return nil, fmt.Errorf("the OCI spec of %s: %w", src.Name, err)
		}
		if !json.Valid(data) {
			return nil, fmt.Errorf("the OCI spec of %s: %s is not JSON", src.Name, src.File)
		}
		return data, nil
	}
	bundleErr := errors.New("CNSENTER_SPEC_FROM_CONTAINERD=1")
	if src.Process == nil {
		// A container that runs no process has no task, nor its bundle.
		bundleErr = errors.New("it runs no process")
	} else if os.Getenv("CNSENTER_SPEC_FROM_CONTAINERD") != "1" {
		data, err := bundle.SpecJSON(src.Process, src.Namespace, src.ID)
		if err == nil {
			return data, nil
		}
		bundleErr = err
	}
	a, err := containerd.New(containerd.Address(src.ContainerdAddress), src.Timeout)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	data, err := a.SpecJSON(ctx, src.Namespace, src.ID)
	if err != nil {
		return nil, fmt.Errorf("the OCI spec of %s: not in its bundle (%v), and %w", src.Name, bundleErr, err)
	}
	return data, nil
}

// Confinement is the container's own process security: capabilities (all
// five sets), no_new_privileges, AppArmor profile, SELinux label and
// seccomp filter. A spec without a process, or without capabilities,
// gives none (runc would leave such a process root's): the safe reading.
func (s *Spec) Confinement(name string) (*enter.Confinement, error) {
	c := &enter.Confinement{Capabilities: &specs.LinuxCapabilities{}}
	if p := s.Process; p != nil {
		c.NoNewPrivileges, c.AppArmorProfile, c.SELinuxLabel = p.NoNewPrivileges, p.ApparmorProfile, p.SelinuxLabel
		if p.Capabilities != nil {
			c.Capabilities = p.Capabilities
		}
	}
	if s.Linux != nil && len(s.Linux.Seccomp) > 0 && string(s.Linux.Seccomp) != "null" {
		c.Seccomp = new(specs.LinuxSeccomp)
		if err := json.Unmarshal(s.Linux.Seccomp, c.Seccomp); err != nil {
			return nil, fmt.Errorf("the seccomp profile of %s: %w", name, err)
		}
	}
	return c, nil
}

// SetUser makes req run as the container's own processes do: the spec's
// uid, gid and supplementary groups (process.user: Docker puts there what
// its Config.User and --group-add give), set exactly as runc sets them.
// Where req already has a uid (or a gid, which then goes without
// supplementary groups) that choice stands. A spec without a process
// leaves req alone.
func (s *Spec) SetUser(req *enter.Request) {
	if s.Process == nil {
		return
	}
	u := s.Process.User
	if !req.UID.Set {
		req.UID = enter.ID{Set: true, Value: u.UID}
	}
	if !req.GID.Set {
		req.GID = enter.ID{Set: true, Value: u.GID}
		req.Groups = append([]uint32(nil), u.AdditionalGids...)
	}
}

// Privileged is docker exec --privileged's process security, as today's
// moby's execSetPlatformOpt asks for it: every capability we hold in the
// bounding, permitted and effective sets (none inheritable, none ambient:
// Docker 20.10 also filled the inheritable set, which a program with
// inheritable file capabilities could gain from; Docker 29 no longer
// does), the container's no_new_privileges, AppArmor unconfined where it
// is enabled; and, unlike docker exec, which keeps the container's filter,
// no seccomp filter at all.
func (s *Spec) Privileged() *enter.Confinement {
	all := enter.AllCapabilities()
	return &enter.Confinement{
		Capabilities:    &specs.LinuxCapabilities{Bounding: all, Permitted: all, Effective: all},
		NoNewPrivileges: s.Process != nil && s.Process.NoNewPrivileges,
		AppArmorProfile: "unconfined",
	}
}

// ReadJSON is the spec as the engine gave it, read as Read reads it: for
// evidence bundles.
func ReadJSON(ctx context.Context, src Source) ([]byte, error) { return specJSON(ctx, src) }
