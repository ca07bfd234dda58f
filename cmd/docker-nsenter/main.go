// Command docker-nsenter is a Docker CLI plugin: `docker nsenter CONTAINER
// [COMMAND [ARG...]]` runs a program in a container's namespaces with the
// setns core of cnsenter, without going through the engine's exec API.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/plugin"
	cruntime "github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/docker"
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
	if os.Getuid() != os.Geteuid() {
		fmt.Fprintln(os.Stderr, "docker nsenter: refusing to run with a real uid different from the effective uid (a set-user-ID install would hand every local user every container)")
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

type options struct {
	user, workdir, ns string
	env, envFiles     []string
	noCgroup, confine bool
	privileged        bool
	hostTools         bool
	containerRoot     string
	readOnly          bool
	stdio             stdio
	noSymFollow       bool
	auditLog          string
	containerdAddress string
	timeout           time.Duration
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
or --confine is given.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				fmt.Fprintln(os.Stderr, "docker nsenter: requires at least 1 argument, the container\nSee 'docker nsenter --help'.")
				return errUsage
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       fmt.Sprintf("%s (commit %s, %s)", version, commit, runtime.Version()),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.privileged && o.confine {
				fmt.Fprintln(os.Stderr, "docker nsenter: --privileged and --confine contradict each other: give one of them\nSee 'docker nsenter --help'.")
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
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\"), looked up in the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables (KEY=VALUE, or KEY to take ours)")
	f.StringArrayVar(&o.envFiles, "env-file", nil, "Read in a file of environment variables (lines KEY=VALUE or KEY; # comments), before -e")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVar(&o.ns, "ns", "", "Enter only these namespaces (comma list of mnt,uts,ipc,net,pid,cgroup,user,time)")
	f.BoolVar(&o.noCgroup, "no-cgroup", false, "Stay out of the container's cgroups (for external audits)")
	f.BoolVar(&o.privileged, "privileged", false, "Every capability, no seccomp filter, no LSM confinement (the container's user unless -u)")
	f.BoolVar(&o.confine, "confine", false, "Run like the container's own processes (user, capabilities, seccomp, LSM): the default; this also applies it to the host's programs")
	f.BoolVar(&o.hostTools, "host-tools", false, "Use the host's files and tools; the container's root is at --container-root")
	f.StringVar(&o.containerRoot, "container-root", enter.DefaultContainerRoot, "Where --host-tools mounts the container's root ($CONTAINER_ROOT)")
	f.BoolVar(&o.readOnly, "read-only", false, "The container's files are read-only for this session (with --host-tools, its links are not followed)")
	f.BoolVar(&o.noSymFollow, "nosymfollow", false, "With --host-tools: do not follow the container's links, which would resolve in the host's files")
	f.StringVar(&o.auditLog, "audit-log", os.Getenv("CNSENTER_AUDIT_LOG"), "Append a JSON record when the session starts and ends (default: CNSENTER_AUDIT_LOG)")
	f.StringVar(&o.containerdAddress, "containerd-address", "", "containerd socket, asked for the OCI spec when its bundle cannot be read (default: CONTAINERD_ADDRESS, /run/containerd/containerd.sock)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "Deadline of each engine call")
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
	if o.timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	host, err := docker.Endpoint(docker.EndpointOptions{Host: global.Host, Context: global.Context, ConfigDir: global.Config})
	if err != nil {
		return err
	}
	d, err := docker.New(host, o.timeout)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx := context.Background()
	c, err := d.Resolve(ctx, name)
	if err != nil {
		return strip(err, "docker://")
	}
	if c.Note != "" {
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", printable.String(strip(errors.New(c.Note), "docker://").Error()))
	}
	// Everything read of the container's /proc from here is its init's,
	// never a process that took over its PID.
	proc, err := enter.Pin(c.PID, c.Name, c.ID)
	if err != nil {
		return strip(err, "docker://")
	}
	defer proc.Close()
	req, err := request(ctx, o, c, proc, program)
	if err != nil {
		return err
	}
	return session(req, c.Name, o.stdio)
}

// runningNames lists the running containers' names, for completion; an
// engine that does not answer completes nothing.
func runningNames(global plugin.Global) []string {
	host, err := docker.Endpoint(docker.EndpointOptions{Host: global.Host, Context: global.Context, ConfigDir: global.Config})
	if err != nil {
		return nil
	}
	d, err := docker.New(host, 2*time.Second)
	if err != nil {
		return nil
	}
	defer d.Close()
	list, _ := d.List(context.Background())
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	return names
}

// strip makes a runtime error read in docker's terms ("web", not
// "docker://web").
func strip(err error, scheme string) error {
	msg := strings.ReplaceAll(err.Error(), "(see 'cnsenter --list')", "(see 'docker ps')")
	return errors.New(strings.Replace(msg, scheme, "", 1))
}

// request builds the entry docker exec would make, from the container's
// OCI spec, read once: its environment and working directory, and, as
// docker exec has them, its user and process security (capabilities,
// no_new_privileges, seccomp, LSM); --privileged as docker exec's. With
// the host's files (--host-tools, --ns without mnt) the program is the
// host's own, trusted: root with every capability unless -u or --confine
// say otherwise.
func request(ctx context.Context, o options, c cruntime.Container, proc *enter.Process, program []string) (enter.Request, error) {
	req := enter.Request{
		Name:          "docker nsenter",
		Target:        c.PID,
		Process:       proc,
		Container:     c.Name,
		ContainerID:   c.ID,
		JoinCgroup:    !o.noCgroup,
		HostTools:     o.hostTools,
		ContainerRoot: o.containerRoot,
		ReadOnly:      o.readOnly,
		NoSymFollow:   o.noSymFollow,
		Program:       program,
		NotFoundHint:  "the container has no such program (--host-tools runs the host's)",
		OnlyStdio:     true,
		GuardHint:     "run it as root with every capability (no -u or --confine, or --privileged), or leave pid out of --ns",
	}
	if o.auditLog != "" {
		req.Audit = &enter.Audit{Path: o.auditLog, Target: c.Name, Runtime: "docker", ContainerID: c.ID}
	}
	if err := chooseNamespaces(&req, o.ns); err != nil {
		return req, err
	}
	env, err := readEnvFiles(o.envFiles)
	if err != nil {
		return req, err
	}
	env = append(env, o.env...)
	_, mount := req.Namespaces[enter.Mount]
	inContainer := (mount || req.All) && !o.hostTools
	// The container's own programs run as its processes do; the host's
	// (--host-tools, or --ns without mnt) are trusted: root, every
	// capability, unless -u or --confine.
	asContainer := inContainer || o.confine
	var s *spec.Spec
	if asContainer || o.privileged {
		src := spec.Source{Name: c.Name, Process: proc, Namespace: "moby", ID: c.ID, ContainerdAddress: o.containerdAddress, Timeout: o.timeout}
		if s, err = spec.Read(ctx, src); err != nil {
			return req, err
		}
	}
	if inContainer {
		var base []string
		cwd := "/"
		if s.Process != nil {
			base, cwd = s.Process.Env, s.Process.Cwd
		}
		req.Environ = mergeEnv(base, env)
		req.WorkDirInNS = cwd
		if o.workdir != "" {
			req.WorkDirInNS = o.workdir
		}
		if len(program) == 0 {
			req.Program = []string{"/bin/sh"}
		}
	} else if len(env) > 0 {
		// The host's files: the host's environment and shell.
		req.Environ = mergeEnv(os.Environ(), env)
	}
	switch {
	case o.privileged:
		req.Confine = s.Privileged()
	case asContainer:
		if req.Confine, err = s.Confinement(c.Name); err != nil {
			return req, err
		}
	}
	if o.user != "" {
		return req, withUser(&req, o.user, proc, c.GroupAdd)
	}
	if asContainer {
		s.SetUser(&req)
		return req, nil
	}
	req.UID, req.GID = enter.ID{Set: true}, enter.ID{Set: true} // the host's program: root
	return req, nil
}

// chooseNamespaces: every namespace that differs from ours (nsenter -a), or
// the --ns list, less a user namespace that is ours (setns refuses it).
func chooseNamespaces(req *enter.Request, list string) error {
	if list == "" {
		req.All = true
		return nil
	}
	req.Namespaces = map[enter.Kind]string{}
	for _, name := range strings.Split(list, ",") {
		k, ok := enter.ParseKind(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("--ns: unknown namespace %q: use a comma list of mnt,uts,ipc,net,pid,cgroup,user,time", name)
		}
		req.Namespaces[k] = ""
	}
	if _, ok := req.Namespaces[enter.User]; ok {
		usable, err := req.Process.Usable(enter.User)
		if err != nil {
			return err
		}
		if !usable {
			delete(req.Namespaces, enter.User)
		}
	}
	return nil
}

// mergeEnv applies -e to an environment: KEY=VALUE sets, KEY takes ours.
func mergeEnv(base, set []string) []string {
	env := append([]string{}, base...)
	for _, kv := range set {
		key, _, hasValue := strings.Cut(kv, "=")
		if !hasValue {
			value, ok := os.LookupEnv(key)
			if !ok {
				continue
			}
			kv = key + "=" + value
		}
		env = slicesDeleteKey(env, key)
		env = append(env, kv)
	}
	return env
}

func slicesDeleteKey(env []string, key string) []string {
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return out
}
