package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cnsenter/cnsenter/internal/evidence"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/runtime/docker"
	"github.com/cnsenter/cnsenter/runtime/resolve"
	"github.com/cnsenter/cnsenter/runtime/spec"
	"golang.org/x/sys/unix"
)

// captureEvidence is --evidence DIR: the container's evidence bundle
// (internal/evidence), read from the host, nothing run inside it.
func captureEvidence(inv *invocation) error {
	if inv.req.Process == nil || inv.container.ID == "" {
		return errors.New("--evidence needs a container --target (docker://NAME, containerd://NAMESPACE/ID or a name)")
	}
	if a := inv.req.Audit; a != nil {
		// A log that cannot be written stops the capture before it starts.
		fd, err := unix.Open(a.Path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return fmt.Errorf("audit log %s: %w", a.Path, err)
		}
		unix.Close(fd)
	}
	t, err := timeout(inv)
	if err != nil {
		return err
	}
	if t == 0 {
		t = resolve.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*t)
	defer cancel()
	c := inv.container
	o := evidence.Options{Dir: inv.evidence, Tool: fmt.Sprintf("%s %s (commit %s)", name, version, commit),
		Target: inv.targetRef, Container: c, Process: inv.req.Process, Audit: inv.req.Audit, CanMount: true,
		Image: evidence.Image{Reference: c.Image}}
	if frozen != nil {
		o.Freeze = frozen.State()
	}
	if s, err := containerSpec(inv); err == nil {
		l := s.Limits()
		o.CanMount = l.OwnUserNamespace || l.Bounding == nil || containsCap(l.Bounding, "CAP_SYS_ADMIN")
	}
	ns, id := c.Namespace, c.ID
	if c.Runtime == "docker" {
		ns = "moby"
	}
	file := ""
	if c.Runtime == "podman" {
		if e, err := engines(inv); err == nil {
			file, _ = e.Podman().SpecFile(c.ID)
			e.Close()
		}
	}
	o.Spec, o.SpecErr = spec.ReadJSON(ctx, spec.Source{Name: inv.targetRef, Process: inv.req.Process, Namespace: ns, ID: id,
		ContainerdAddress: inv.containerdAddress, Timeout: t, File: file})
	if c.Runtime == "docker" {
		dockerRecords(ctx, inv, &o)
	} else {
		o.Image.Note = "the image's digest is in " + c.Runtime + "'s image store, not read"
	}
	if _, err := evidence.Capture(o); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: evidence of %s written to %s (MANIFEST.sha256 lists its files)\n", name, printable.String(inv.targetRef), printable.String(inv.evidence))
	return nil
}

func containsCap(list []string, cap string) bool {
	for _, c := range list {
		if strings.EqualFold(c, cap) {
			return true
		}
	}
	return false
}

// dockerRecords reads Docker's own records of the container and its image:
// its inspect, the image's ID and digests, and its overlay2 directories
// (GraphDriver.Data), which the writable layer is taken from when the
// container's own mount table cannot be trusted or names them relatively.
func dockerRecords(ctx context.Context, inv *invocation, o *evidence.Options) {
	host, err := docker.Endpoint(docker.EndpointOptions{Host: inv.dockerHost})
	if err != nil {
		o.EngineErr = err
		return
	}
	t, _ := timeout(inv)
	if t == 0 {
		t = resolve.DefaultTimeout
	}
	d, err := docker.New(host, t)
	if err != nil {
		o.EngineErr = err
		return
	}
	defer d.Close()
	raw, err := d.InspectJSON(ctx, inv.container.ID)
	if err != nil {
		o.EngineErr = err
		return
	}
	o.Engine = raw
	var rec struct {
		Image       string
		Config      struct{ Image string }
		GraphDriver struct {
			Name string
			Data map[string]string
		}
	}
	if json.Unmarshal(raw, &rec) != nil {
		return
	}
	o.Image.Reference, o.Image.ID = rec.Config.Image, rec.Image
	if img, err := d.ImageJSON(ctx, rec.Image); err == nil {
		var i struct{ RepoDigests []string }
		json.Unmarshal(img, &i)
		o.Image.RepoDigests = i.RepoDigests
	} else {
		o.Image.Note = "image record: " + err.Error()
	}
	if upper := rec.GraphDriver.Data["UpperDir"]; upper != "" && strings.HasPrefix(upper, "/") {
		l := &evidence.LayerPaths{Upper: upper, Source: "engine"}
		for _, lower := range strings.Split(rec.GraphDriver.Data["LowerDir"], ":") {
			if lower != "" {
				l.Lowers = append(l.Lowers, lower)
			}
		}
		o.EngineLayers = l
	}
}
