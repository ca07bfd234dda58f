package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/dockerexec"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/plugin"
	"github.com/cnsenter/cnsenter/runtime"
)

// stoppedFiles is --host-tools on a container that runs no process
// (created, exited, dead): no namespace to enter, so the session is the
// host's, with the container's files as it left them read-only at
// --container-root.
func stoppedFiles(ctx context.Context, a runtime.Adapter, o options, c runtime.Container, name string, program []string) error {
	fs, ok := a.(runtime.Filesystem)
	if !ok {
		return fmt.Errorf("%s is not running: start it first", name)
	}
	if c.Note != "" {
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", printable.String(strip(c.Note)))
	}
	files, err := fs.ContainerFiles(ctx, c)
	if err != nil {
		return remedy(err)
	}
	status := c.Status
	if status == "" {
		status = "not running"
	}
	return filesSession(o, files, fmt.Sprintf("container %s (%s)", c.Name, status), c, program)
}

// runImage is --host-tools --image IMAGE: the image's layers read-only at
// --container-root, no container at all.
func runImage(global plugin.Global, o options, program []string) error {
	if !o.HostTools {
		fmt.Fprintln(os.Stderr, "docker nsenter: --image shows an image's files with --host-tools: give both\nSee 'docker nsenter --help'.")
		return errUsage
	}
	if o.Timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	e, err := engines(global, o.ContainerdAddress, o.Timeout)
	if err != nil {
		return err
	}
	defer e.Close()
	a, err := e.Adapter("docker")
	if err != nil {
		return err
	}
	fs, ok := a.(runtime.Filesystem)
	if !ok {
		return errors.New("the Docker adapter cannot show an image's files")
	}
	files, err := fs.ImageFiles(context.Background(), o.image)
	if err != nil {
		return remedy(err)
	}
	return filesSession(o, files, "image "+o.image, runtime.Container{}, program)
}

// filesSession runs the host's program with the files at --container-root:
// the host's namespaces, root with our capabilities, as --host-tools runs
// it for a live container. What makes sense only in a container is refused.
func filesSession(o options, files runtime.Files, what string, c runtime.Container, program []string) error {
	for _, bad := range []struct {
		set    bool
		option string
	}{{o.User != "", "-u"}, {o.WorkDir != "", "-w"}, {o.NS != "", "--ns"}, {o.Confine, "--confine"}, {o.Privileged, "--privileged"},
		{o.freeze, "--freeze"}, {o.evidence != "", "--evidence"}} {
		if bad.set {
			return fmt.Errorf("%s runs no process: %s has no meaning without one; leave it out", what, bad.option)
		}
	}
	if files.Note != "" {
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", printable.String(strip(files.Note)))
	}
	req := enter.Request{
		Name:          "docker nsenter",
		HostTools:     true,
		ContainerRoot: o.ContainerRoot,
		ReadOnly:      o.ReadOnly,
		NoSymFollow:   o.NoSymFollow,
		Program:       program,
		OnlyStdio:     true,
		Files:         &enter.Files{What: what, Layers: files.Layers},
	}
	for _, m := range files.Mounts {
		req.Files.Mounts = append(req.Files.Mounts, enter.FileMount{Source: m.Source, Destination: m.Destination})
	}
	if len(req.Program) == 0 {
		req.Program = []string{"/bin/sh"} // as docker exec's default, the host's
	}
	if len(o.Env) > 0 || len(o.EnvFiles) > 0 {
		env, err := dockerexec.HostEnviron(o.Options)
		if err != nil {
			return err
		}
		req.Environ = env
	}
	if o.AuditLog != "" {
		req.Audit = &enter.Audit{Path: o.AuditLog, Target: what, Runtime: "docker", ContainerID: c.ID}
	}
	return session(req, c.Name, o.stdio, false)
}
