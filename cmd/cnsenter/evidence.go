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
	if inv.req.Process == nil && !inv.stopped || inv.container.ID == "" {
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
	if c.Runtime == "docker" || inv.stopped {
		e, err := engines(inv)
		if err != nil {
			return err
		}
		defer e.Close()
		a, err := e.Adapter(c.Runtime)
		if err != nil {
			o.EngineErr, o.FilesErr = err, err
		} else if inv.stopped {
			o.FromStopped(ctx, a)
		}
		if d, ok := a.(*docker.Adapter); ok && err == nil {
			o.FromDocker(ctx, d)
		}
	}
	if c.Runtime != "docker" {
		o.Image.Note = "the image's digest is in " + c.Runtime + "'s image store, not read"
	}
	if _, err := evidence.Capture(o); err != nil {
		return err
	}
	what := ""
	if inv.stopped {
		what = fmt.Sprintf(" (%s: no process, its files and records as it was left)", c.Status)
	}
	fmt.Fprintf(os.Stderr, "%s: evidence of %s%s written to %s (MANIFEST.sha256 lists its files)\n", name, printable.String(inv.targetRef), printable.String(what), printable.String(inv.evidence))
	return nil
}
