package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cnsenter/cnsenter/internal/evidence"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/runtime/docker"
	"github.com/cnsenter/cnsenter/runtime/resolve"
	"github.com/cnsenter/cnsenter/runtime/spec"
)

// captureEvidence is --evidence DIR: the container's evidence bundle
// (internal/evidence), read from the host, nothing run inside it.
func captureEvidence(inv *invocation) error {
	if inv.req.Process == nil || inv.container.ID == "" {
		return errors.New("--evidence needs a container --target (docker://NAME, containerd://NAMESPACE/ID or a name)")
	}
	t, err := timeout(inv)
	if err != nil {
		return err
	}
	if t == 0 {
		t = resolve.DefaultTimeout
	}
	ctx := context.Background()
	c := inv.container
	o := evidence.Options{Dir: inv.evidence, Tool: fmt.Sprintf("%s %s (commit %s)", name, version, commit),
		Target: inv.targetRef, Container: c, Process: inv.req.Process, Audit: inv.req.Audit,
		Image: evidence.Image{Reference: c.Image}}
	if frozen != nil {
		o.Freeze = frozen.State()
	}
	o.Spec, o.SpecErr = spec.ReadJSON(ctx, spec.Source{Name: inv.targetRef, Process: inv.req.Process, Namespace: c.Task, ID: c.ID,
		ContainerdAddress: inv.runtimeOptions["containerd-address"], Timeout: t, File: c.SpecFile, Data: c.Spec})
	if c.Runtime == "docker" {
		e, err := engines(inv)
		if err != nil {
			return err
		}
		defer e.Close()
		a, err := e.Adapter("docker")
		if d, ok := a.(*docker.Adapter); ok && err == nil {
			o.FromDocker(ctx, d)
		} else {
			o.EngineErr = err
		}
	} else {
		o.Image.Note = "the image's digest is in " + c.Runtime + "'s image store, not read"
	}
	if _, err := evidence.Capture(o); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: evidence of %s written to %s (MANIFEST.sha256 lists its files)\n", name, printable.String(inv.targetRef), printable.String(inv.evidence))
	return nil
}
