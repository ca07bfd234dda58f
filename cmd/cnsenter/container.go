package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/freeze"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/resolve"
	"github.com/cnsenter/cnsenter/runtime/spec"
)

// errReported is an error already printed.
var errReported = errors.New("")

// engines makes the runtime adapters from our options: each runtime's
// (--docker-host, ...), and --timeout, else CNSENTER_TIMEOUT, else 5s.
// Nothing is dialled until a call.
func engines(inv *invocation) (*resolve.Engines, error) {
	t, err := timeout(inv)
	if err != nil {
		return nil, err
	}
	return resolve.New(resolve.Options{Option: func(name string) string { return inv.runtimeOptions[name] }, Timeout: t}), nil
}

// remedy adds to a runtime's error what to do about it, in cnsenter's
// terms.
func remedy(err error) error {
	var e *runtime.Error
	if !errors.As(err, &e) {
		return err
	}
	var hint string
	switch e.Kind {
	case runtime.NotFound:
		hint = " (see 'cnsenter --list')"
	case runtime.Ambiguous:
		hint = ": give more of the ID"
		if e.Runtime == "" || len(e.Matches) > 0 && strings.Contains(e.Matches[0], "://") { // several runtimes' containers, or a CRI pod's: their references
			hint = "; give one of these references"
		}
	case runtime.NotRunning:
		hint = ": start it first, or see its files with --host-tools"
		if e.Container.Status == "paused" {
			hint = ": unpause it first"
		}
	case runtime.Unreachable:
		hint = " (is it running?" + endpointOption(e.Runtime) + ")"
	case runtime.Timeout:
		hint = " (is it hung? --timeout or CNSENTER_TIMEOUT change the deadline)"
	case runtime.Denied:
		hint = ": run as root"
	}
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w%s", err, hint)
}

// endpointOption names the option that gives a runtime another endpoint.
func endpointOption(name string) string {
	if rt, ok := runtime.Lookup(name); ok && len(rt.Options) > 0 {
		return " --" + rt.Options[0].Name + " names another"
	}
	return ""
}

// timeout is --timeout, else CNSENTER_TIMEOUT, else 0 (the default).
func timeout(inv *invocation) (time.Duration, error) {
	if env := os.Getenv("CNSENTER_TIMEOUT"); inv.timeout == 0 && env != "" {
		return parseTimeout(env, "CNSENTER_TIMEOUT")
	}
	return inv.timeout, nil
}

// confine is --confine: the program runs as the container's own processes
// do, with the user, capabilities, no_new_privileges, seccomp filter and
// LSM of its OCI spec (read as docker nsenter reads it). Explicit -S and -G
// override its uid and gid (-G then without supplementary groups), as -u
// does for docker nsenter. A PID has no spec: that is an error.
func confine(inv *invocation) error {
	if inv.container.ID == "" {
		return errors.New("--confine needs a container --target (docker://NAME, containerd://NAMESPACE/ID or a name): a PID has no OCI spec to confine the program as")
	}
	s, err := containerSpec(inv)
	if err != nil {
		return err
	}
	if inv.req.Confine, err = s.Confinement(inv.targetRef); err != nil {
		return err
	}
	s.SetUser(&inv.req)
	// As the container's processes have it, as docker exec gives it: a
	// confined program is within the container's reach (enter/guard), where
	// our own environment must not be.
	if !inv.req.Env && inv.req.Environ == nil && s.Process != nil {
		inv.req.Environ = append([]string{}, s.Process.Env...)
	}
	return nil
}

// containerSpec reads the OCI spec of the container --target names, once:
// for --confine, and for the guard of enter (Request.Limits).
func containerSpec(inv *invocation) (*spec.Spec, error) {
	if inv.spec != nil {
		return inv.spec, nil
	}
	t, err := timeout(inv)
	if err != nil {
		return nil, err
	}
	if t == 0 {
		t = resolve.DefaultTimeout
	}
	c := inv.container
	s, err := spec.Read(context.Background(), spec.Source{Name: inv.targetRef, Process: inv.req.Process, Namespace: c.Task, ID: c.ID,
		ContainerdAddress: inv.runtimeOptions["containerd-address"], Timeout: t, File: c.SpecFile, Data: c.Spec})
	if err != nil {
		return nil, err
	}
	inv.spec = s
	return s, nil
}

// resolveContainer finds the init PID of the container --target names.
func resolveContainer(inv *invocation) (int, error) {
	e, err := engines(inv)
	if err != nil {
		return 0, err
	}
	defer e.Close()
	c, err := e.Resolve(context.Background(), inv.targetRef)
	var stopped *runtime.Error
	if errors.As(err, &stopped) && stopped.Kind == runtime.NotRunning && stopped.Container.Status != "paused" {
		switch {
		case inv.evidence != "":
			// Its evidence is read from its engine's state: nothing is
			// run, so --host-tools is not needed (captureEvidence).
			if c := stopped.Container; c.Note != "" {
				fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(c.Note))
			}
			inv.container, inv.stopped = stopped.Container, true
			if a := inv.req.Audit; a != nil {
				a.Runtime, a.ContainerID = inv.container.Runtime, inv.container.ID
			}
			return 0, nil
		case inv.req.HostTools:
			return 0, containerFiles(inv, e, stopped.Container)
		}
	}
	if err != nil {
		// A paused container (docker pause) is frozen already: --freeze
		// and --evidence take it as it is, and leave it paused.
		var re *runtime.Error
		if !errors.As(err, &re) || re.Kind != runtime.NotRunning || re.Container.Status != "paused" || re.Container.PID <= 0 || !inv.freeze && inv.evidence == "" {
			return 0, remedy(err)
		}
		c = re.Container
	}
	return found(inv, c)
}

// containerFiles is --host-tools on a container that runs no process
// (created, exited, dead): no namespace to enter, so the session is the
// host's, with the container's files as it left them read-only at
// --container-root, read by its runtime from the engine's state.
func containerFiles(inv *invocation, e *resolve.Engines, c runtime.Container) error {
	a, err := e.Adapter(c.Runtime)
	if err != nil {
		return err
	}
	fs, ok := a.(runtime.Filesystem)
	if !ok {
		return fmt.Errorf("%s is not running, and %s:// cannot show the files of a container that is not: start it first", c.Ref(), c.Runtime)
	}
	if c.Note != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(c.Note))
	}
	files, err := fs.ContainerFiles(context.Background(), c)
	if err != nil {
		return remedy(err)
	}
	status := c.Status
	if status == "" {
		status = "not running"
	}
	inv.container = c
	return filesRequest(inv, files, fmt.Sprintf("%s (%s)", inv.targetRef, status))
}

// imageFiles is --host-tools --image RUNTIME://IMAGE: an image's layers,
// read-only at --container-root, no container at all.
func imageFiles(inv *invocation) error {
	scheme, image, ok := strings.Cut(inv.image, "://")
	if !ok || image == "" {
		return fmt.Errorf("--image: '%s' is not RUNTIME://IMAGE (docker://busybox:latest, containerd://NAMESPACE/IMAGE)", printable.String(inv.image))
	}
	e, err := engines(inv)
	if err != nil {
		return err
	}
	defer e.Close()
	a, err := e.Adapter(scheme)
	if err != nil {
		return fmt.Errorf("--image %s: %w", printable.String(inv.image), err)
	}
	fs, ok := a.(runtime.Filesystem)
	if !ok {
		return fmt.Errorf("--image: %s:// cannot show an image's files", scheme)
	}
	files, err := fs.ImageFiles(context.Background(), image)
	if err != nil {
		return err
	}
	inv.container.Runtime = scheme
	return filesRequest(inv, files, "image "+inv.image)
}

// filesRequest makes the request show files: no target, no namespace.
func filesRequest(inv *invocation, files runtime.Files, what string) error {
	r := &inv.req
	if len(r.Namespaces) > 0 || r.All && !inv.allImplied {
		return fmt.Errorf("%s runs no process: it has no namespace to enter; leave out the namespace options", what)
	}
	for _, bad := range []struct {
		set    bool
		option string
	}{{inv.confine, "--confine"}, {inv.freeze, "--freeze"}, {inv.evidence != "", "--evidence"}} {
		if bad.set {
			return fmt.Errorf("%s runs no process: %s has no meaning without one; leave it out", what, bad.option)
		}
	}
	if files.Note != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(files.Note))
	}
	r.All = false
	r.Files = &enter.Files{What: what, Layers: files.Layers}
	for _, m := range files.Mounts {
		r.Files.Mounts = append(r.Files.Mounts, enter.FileMount{Source: m.Source, Destination: m.Destination})
	}
	if a := r.Audit; a != nil {
		a.Runtime, a.ContainerID = inv.container.Runtime, inv.container.ID
	}
	return nil
}

// found takes what resolution found: the request names the container (for
// messages, and to check the PID is still its own), the audit records it,
// and a note on how it was found is shown.
func found(inv *invocation, c runtime.Container) (int, error) {
	if c.Note != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(c.Note))
	}
	// Everything read of the container's /proc from here (its spec's
	// bundle, its root) is its init's, never a process that took its PID
	// over; the pin lasts until the entry.
	proc, err := enter.Pin(c.PID, inv.targetRef, c.ID, enter.Monitor{UID: c.RootlessUID, PIDFile: c.MonitorPIDFile})
	if err != nil {
		return 0, err
	}
	inv.req.Process = proc
	inv.req.Limits = func() (enter.ContainerLimits, error) {
		s, err := containerSpec(inv)
		if err != nil {
			return enter.ContainerLimits{}, err
		}
		return s.Limits(), nil
	}
	inv.req.Container, inv.req.ContainerID = inv.targetRef, c.ID
	inv.container = c
	if a := inv.req.Audit; a != nil {
		a.Runtime, a.ContainerID = c.Runtime, c.ID
	}
	return c.PID, nil
}

// listContainers is --list: the running containers of every runtime that
// answers, and those found only by their cgroup (RUNTIME cgroup), as a
// table or (--json) as JSON. A runtime that does not answer is one line on
// stderr; when none answers and the scan finds nothing, that is an error.
func listContainers(inv *invocation) error {
	e, err := engines(inv)
	if err != nil {
		return err
	}
	defer e.Close()
	list, errs := e.List(context.Background())
	for _, err := range errs {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(remedy(err).Error()))
	}
	// No runtime answered and the cgroup scan found nothing either.
	if len(errs) >= len(e.Runtimes()) && len(list) == 0 {
		return errReported
	}
	if inv.json {
		if list == nil {
			list = []runtime.Container{}
		}
		out := json.NewEncoder(os.Stdout)
		out.SetIndent("", "  ")
		return out.Encode(list)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "RUNTIME\tNAMESPACE\tNAME\tID\tPID\tIMAGE\tSTATUS")
	for _, c := range list {
		id := c.ID
		if len(id) > 12 {
			id = id[:12]
		}
		ns := c.Namespace
		if ns == "" {
			ns = "-" // none: Podman's, or found by its cgroup without a containerd shim
		}
		// What the engines say of their containers is shown, never acted on
		// by the terminal.
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Runtime, printable.String(ns), printable.String(c.Name),
			printable.String(id), c.PID, printable.String(c.Image), printable.String(c.Status))
	}
	return w.Flush()
}

// freezeContainer is --freeze: the container's cgroup is frozen until we
// end (internal/freeze), and left as it is when someone else froze it.
func freezeContainer(inv *invocation) error {
	if inv.stopped {
		// Nothing runs to move its files: the capture goes on, a note
		// says so, and the bundle's state says why nothing was frozen.
		fmt.Fprintf(os.Stderr, "%s: %s runs no process (%s): nothing to freeze, its files are read as they were left\n",
			name, printable.String(inv.targetRef), printable.String(inv.container.Status))
		return nil
	}
	if inv.req.Process == nil || inv.container.ID == "" {
		return errors.New("--freeze needs a container --target (docker://NAME, containerd://NAMESPACE/ID or a name): a PID has no container cgroup of its own")
	}
	t, err := timeout(inv)
	if err != nil {
		return err
	}
	if t == 0 {
		t = resolve.DefaultTimeout
	}
	f, err := freeze.Freeze(inv.req.Process.Dir(), inv.req.Process.PID(), inv.container.ID, t)
	if err != nil {
		return err
	}
	frozen = f
	if f.Already {
		fmt.Fprintf(os.Stderr, "%s: %s was frozen already (docker pause?): it stays frozen, and is not thawed when this session ends\n", name, printable.String(inv.targetRef))
	}
	if a := inv.req.Audit; a != nil {
		a.Freeze = f.State()
	}
	return nil
}
