// Command docker-nsenter is a Docker CLI plugin: `docker nsenter CONTAINER
// [COMMAND [ARG...]]` runs a program in a container's namespaces with the
// setns core of cnsenter, without going through the engine's exec API.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/dockerexec"
	"github.com/cnsenter/cnsenter/internal/evidence"
	"github.com/cnsenter/cnsenter/internal/freeze"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/internal/setuid"
	"github.com/cnsenter/cnsenter/plugin"
	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/docker"
	"github.com/cnsenter/cnsenter/runtime/resolve"
	"github.com/cnsenter/cnsenter/runtime/spec"
)

// Set at build time (see the Makefile).
var (
	version = "dev"
	commit  = "unknown"
)

const description = "Run a program in a container's namespaces (nsenter, no exec API)"

// exitError carries an exit status out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	if len(os.Args) == 2 && os.Args[1] == plugin.MetadataCommand {
		os.Stdout.Write(plugin.MetadataJSON(version, description))
		return
	}
	if err := setuid.Check(); err != nil {
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", err)
		os.Exit(1)
	}
	inv, err := plugin.Parse("nsenter", os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", err)
		os.Exit(125)
	}
	cmd := newCommand(inv.Global)
	switch {
	case inv.Help:
		cmd.SetArgs([]string{"--help"})
	case inv.Complete:
		cmd.SetArgs(append([]string{cobra.ShellCompRequestCmd}, inv.Args...))
	default:
		cmd.SetArgs(inv.Args)
	}
	err = cmd.Execute()
	var exit exitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		os.Exit(exit.code)
	case errors.Is(err, errUsage):
		os.Exit(125) // as docker exec for bad flags
	default:
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", printable.String(err.Error()))
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// options are our flags: the request's (internal/dockerexec), then the
// standard streams' (session.go).
type options struct {
	dockerexec.Options
	stdio    stdio
	freeze   bool   // --freeze: the container's cgroup frozen for the session
	evidence string // --evidence DIR: capture, run nothing
	image    string // --image
}

func newCommand(global plugin.Global) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "docker nsenter [OPTIONS] CONTAINER [COMMAND] [ARG...]",
		Short: description,
		Long: description + `.

By default, as docker exec: the program runs in every namespace of the
container that differs from ours, with the container's root, working
directory and environment, as the container's user, with its capabilities,
no_new_privileges, seccomp filter and AppArmor profile or SELinux label (all
from its OCI spec), in its cgroups; without a COMMAND it runs the container's
/bin/sh. As with docker exec, -i gives it our stdin and -t a pseudo-terminal
of its own (-it for an interactive shell). It never holds our terminal or a
file of ours: output that is not a pipe, a socket or /dev/null is relayed by
us through a pipe. With the host's files (--host-tools, or --ns without mnt)
the program is the host's own, trusted: root with every capability unless -u
or --confine is given. With --host-tools, a container that runs no process
(created, exited, dead) is its files as it left them (layers, volumes),
read-only at --container-root, in the host's namespaces; and --image IMAGE
shows an image's files so (no CONTAINER then: the arguments are the command).
--evidence DIR captures a container, running or not (then from dockerd's
state, without --host-tools), and runs nothing.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && o.image == "" {
				fmt.Fprintln(os.Stderr, "docker nsenter: requires at least 1 argument, the container\nSee 'docker nsenter --help'.")
				return errUsage
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       fmt.Sprintf("%s (commit %s, %s)", version, commit, goruntime.Version()),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Privileged && o.Confine {
				fmt.Fprintln(os.Stderr, "docker nsenter: --privileged and --confine contradict each other: give one of them\nSee 'docker nsenter --help'.")
				return errUsage
			}
			if o.image != "" {
				return runImage(global, o, args)
			}
			if msg := forensicsUsage(o, args[1:]); msg != "" {
				fmt.Fprintf(os.Stderr, "docker nsenter: %s\nSee 'docker nsenter --help'.\n", msg)
				return errUsage
			}
			return run(global, o, args[0], args[1:])
		},
	}
	// docker nsenter <TAB>: the running containers' names.
	cmd.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault // the program and its arguments
		}
		return runningNames(global), cobra.ShellCompDirectiveNoFileComp
	}
	cmd.DisableFlagsInUseLine = true
	cmd.SetVersionTemplate("docker nsenter {{.Version}}\n")
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\nSee 'docker nsenter --help'.\n", err)
		return errUsage
	})
	f := cmd.Flags()
	f.SetInterspersed(false) // the container's name ends our options
	f.BoolVarP(&o.stdio.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.stdio.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&o.stdio.detach, "detach", "d", false, "Detached mode: run command in the background")
	f.StringVar(&o.stdio.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
	f.StringVarP(&o.User, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\"), looked up in the container")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "Set environment variables (KEY=VALUE, or KEY to take ours)")
	f.StringArrayVar(&o.EnvFiles, "env-file", nil, "Read in a file of environment variables (lines KEY=VALUE or KEY; # comments), before -e")
	f.StringVarP(&o.WorkDir, "workdir", "w", "", "Working directory inside the container")
	f.StringVar(&o.NS, "ns", "", "Enter only these namespaces (comma list of mnt,uts,ipc,net,pid,cgroup,user,time)")
	f.BoolVar(&o.NoCgroup, "no-cgroup", false, "Stay out of the container's cgroups (for external audits)")
	f.BoolVar(&o.Privileged, "privileged", false, "Every capability, no seccomp filter, no LSM confinement (the container's user unless -u)")
	f.BoolVar(&o.Confine, "confine", false, "Run like the container's own processes (user, capabilities, seccomp, LSM): the default; this also applies it to the host's programs")
	f.BoolVar(&o.HostTools, "host-tools", false, "Use the host's files and tools; the container's root is at --container-root")
	f.StringVar(&o.ContainerRoot, "container-root", enter.DefaultContainerRoot, "Where --host-tools mounts the container's root ($CONTAINER_ROOT)")
	f.StringVar(&o.image, "image", "", "With --host-tools: the image's files read-only at --container-root, no container (the arguments are then the command)")
	f.BoolVar(&o.ReadOnly, "read-only", false, "The container's files are read-only for this session (with --host-tools, its links are not followed)")
	f.BoolVar(&o.NoSymFollow, "nosymfollow", false, "With --host-tools: do not follow the container's links, which would resolve in the host's files")
	f.BoolVar(&o.freeze, "freeze", false, "With --read-only or --evidence: freeze the container's processes for the session, thawed when it ends however it ends (implies --no-cgroup)")
	f.StringVar(&o.evidence, "evidence", "", "Write the container's evidence bundle into this new directory, reading it from the host; run nothing")
	f.StringVar(&o.AuditLog, "audit-log", os.Getenv("CNSENTER_AUDIT_LOG"), "Append a JSON record when the session starts and ends (default: CNSENTER_AUDIT_LOG)")
	f.StringVar(&o.ContainerdAddress, "containerd-address", "", "containerd socket, asked for the OCI spec when its bundle cannot be read (default: CONTAINERD_ADDRESS, /run/containerd/containerd.sock)")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Second, "Deadline of each engine call")
	f.BoolP("help", "h", false, "Print usage")
	f.Bool("version", false, "Print version, commit and Go version")
	cmd.RegisterFlagCompletionFunc("ns", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var kinds []string
		for _, k := range enter.Kinds {
			kinds = append(kinds, string(k))
		}
		return kinds, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
	return cmd
}

func run(global plugin.Global, o options, name string, program []string) error {
	if o.Timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	if o.evidence != "" {
		// Before anything is looked up, or frozen.
		if err := evidence.Check(o.evidence); err != nil {
			return err
		}
	}
	e, err := engines(global, o.ContainerdAddress, o.Timeout)
	if err != nil {
		return err
	}
	defer e.Close()
	ctx := context.Background()
	// Docker's containers only, by the adapter's own reference: a name,
	// an ID or a unique ID prefix.
	a, err := e.Adapter("docker")
	if err != nil {
		return err
	}
	c, err := a.Resolve(ctx, name)
	var stopped *runtime.Error
	if errors.As(err, &stopped) && stopped.Kind == runtime.NotRunning && stopped.Container.Status != "paused" {
		switch {
		case o.evidence != "":
			// Read from dockerd's state, nothing run: no --host-tools
			// needed.
			return captureEvidence(ctx, o, stopped.Container, nil, a, nil)
		case o.HostTools:
			return stoppedFiles(ctx, a, o, stopped.Container, name, program)
		}
	}
	if err != nil {
		// A paused container is frozen already: --freeze and --evidence
		// take it as it is, and leave it paused.
		var re *runtime.Error
		if !errors.As(err, &re) || re.Kind != runtime.NotRunning || re.Container.Status != "paused" || re.Container.PID <= 0 || !o.freeze && o.evidence == "" {
			return remedy(err)
		}
		c = re.Container
	}
	if c.Note != "" {
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", printable.String(strip(c.Note)))
	}
	// Everything read of the container's /proc from here is its init's,
	// never a process that took over its PID.
	proc, err := enter.Pin(c.PID, c.Name, c.ID, enter.Monitor{UID: c.RootlessUID, PIDFile: c.MonitorPIDFile})
	if err != nil {
		return errors.New(strip(err.Error()))
	}
	defer proc.Close()
	var frozen *freeze.Freezer
	if o.freeze {
		if frozen, err = freeze.Freeze(proc.Dir(), proc.PID(), c.ID, o.Timeout); err != nil {
			return err
		}
		defer func() {
			if err := frozen.Thaw(); err != nil {
				fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", printable.String(err.Error()))
			}
		}()
		if frozen.Already {
			fmt.Fprintf(os.Stderr, "docker nsenter: %s was frozen already (docker pause?): it stays frozen, and is not thawed when this session ends\n", printable.String(c.Name))
		}
		o.NoCgroup = true // the program must not join the frozen cgroup
	}
	if o.evidence != "" {
		return captureEvidence(ctx, o, c, proc, a, frozen)
	}
	req, err := dockerexec.Request(ctx, o.Options, c, proc, program)
	if err != nil {
		return err
	}
	if req.Audit != nil {
		req.Audit.Freeze = frozen.State()
	}
	return session(req, c.Name, o.stdio, o.freeze)
}

// forensicsUsage checks --freeze and --evidence against the rest of the
// command line: the message for a bad one, else "".
func forensicsUsage(o options, program []string) string {
	switch {
	case o.freeze && !o.ReadOnly && o.evidence == "":
		return "--freeze goes with --read-only (or --evidence): a frozen view is for reading; add --read-only"
	case o.freeze && o.stdio.detach:
		return "--freeze and --detach contradict each other: the container is thawed when the session ends"
	case o.evidence != "" && len(program) > 0:
		return "--evidence captures and runs no program: leave out '" + printable.String(program[0]) + "'"
	}
	return ""
}

// captureEvidence is --evidence DIR (internal/evidence), as cnsenter's.
// A container that runs no process (proc nil) is read from dockerd's
// state (evidence.FromStopped); --freeze then has nothing to freeze.
func captureEvidence(ctx context.Context, o options, c runtime.Container, proc *enter.Process, a runtime.Adapter, frozen *freeze.Freezer) error {
	eo := evidence.Options{Dir: o.evidence, Tool: fmt.Sprintf("docker nsenter %s (commit %s)", version, commit),
		Target: c.Name, Container: c, Process: proc, Freeze: frozen.State(), Image: evidence.Image{Reference: c.Image}}
	what := ""
	if proc == nil {
		if c.Note != "" {
			fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", printable.String(strip(c.Note)))
		}
		if o.freeze {
			fmt.Fprintf(os.Stderr, "docker nsenter: %s runs no process (%s): nothing to freeze, its files are read as they were left\n",
				printable.String(c.Name), printable.String(c.Status))
		}
		eo.FromStopped(ctx, a)
		what = fmt.Sprintf(" (%s: no process, its files and records as it was left)", c.Status)
	}
	if o.AuditLog != "" {
		eo.Audit = &enter.Audit{Path: o.AuditLog, Target: c.Name, Runtime: "docker", ContainerID: c.ID}
	}
	eo.Spec, eo.SpecErr = spec.ReadJSON(ctx, spec.Source{Name: c.Name, Process: proc, Namespace: "moby", ID: c.ID,
		ContainerdAddress: o.ContainerdAddress, Timeout: o.Timeout})
	if d, ok := a.(*docker.Adapter); ok {
		eo.FromDocker(ctx, d)
	}
	if _, err := evidence.Capture(eo); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "docker nsenter: evidence of %s%s written to %s (MANIFEST.sha256 lists its files)\n", printable.String(c.Name), printable.String(what), printable.String(o.evidence))
	return nil
}

// engines are cnsenter's engines, limited to Docker's, at the endpoint the
// docker CLI chose (-H, DOCKER_HOST, the context) and passed to us.
func engines(global plugin.Global, containerdAddress string, timeout time.Duration) (*resolve.Engines, error) {
	host, err := docker.Endpoint(docker.EndpointOptions{Host: global.Host, Context: global.Context, ConfigDir: global.Config})
	if err != nil {
		return nil, err
	}
	options := map[string]string{"docker-host": host, "containerd-address": containerdAddress}
	return resolve.New(resolve.Options{Only: []string{"docker"}, Timeout: timeout,
		Option: func(name string) string { return options[name] }}), nil
}

// runningNames lists the running containers' names, for completion; an
// engine that does not answer completes nothing.
func runningNames(global plugin.Global) []string {
	e, err := engines(global, "", 2*time.Second)
	if err != nil {
		return nil
	}
	defer e.Close()
	list, _ := e.List(context.Background())
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	return names
}

// remedy words a runtime's error in docker's terms ("web", not
// "docker://web"), with what to do about it.
func remedy(err error) error {
	msg := strip(err.Error())
	var e *runtime.Error
	if !errors.As(err, &e) {
		return errors.New(msg)
	}
	switch e.Kind {
	case runtime.NotFound:
		msg += " (see 'docker ps')"
	case runtime.Ambiguous:
		msg += ": give more of the ID"
	case runtime.NotRunning:
		msg += ": start it first, or see its files with --host-tools"
		if e.Container.Status == "paused" {
			msg = strip(err.Error()) + ": unpause it first"
		}
	case runtime.Unreachable:
		msg += " (is dockerd running? -H, DOCKER_HOST or 'docker context use' choose another)"
	case runtime.Timeout:
		msg += " (is dockerd hung? --timeout changes the deadline)"
	case runtime.Denied:
		msg += ": run as root"
	}
	return errors.New(msg)
}

// strip makes a message name containers as docker does ("web", not
// "docker://web").
func strip(msg string) string {
	return strings.ReplaceAll(msg, "docker://", "")
}
