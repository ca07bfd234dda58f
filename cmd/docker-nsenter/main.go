// Command docker-nsenter is a Docker CLI plugin: `docker nsenter CONTAINER
// [COMMAND [ARG...]]` runs a program in a container's namespaces with the
// setns core of cnsenter, without going through the engine's exec API.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/plugin"
	cruntime "github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/bundle"
	"github.com/cnsenter/cnsenter/runtime/containerd"
	"github.com/cnsenter/cnsenter/runtime/docker"
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
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

type options struct {
	user, workdir, ns string
	env               []string
	noCgroup, confine bool
	hostTools         bool
	containerRoot     string
	readOnly          bool
	noSymFollow       bool
	noPTY             bool
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

By default the program runs in every namespace of the container that differs
from ours, with the container's root, working directory and environment (from
its OCI spec), as root, in the container's cgroups; without a COMMAND it runs
the container's /bin/sh. When stdin is a terminal the program gets one.`,
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
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\"), looked up in the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables (KEY=VALUE, or KEY to take ours)")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVar(&o.ns, "ns", "", "Enter only these namespaces (comma list of mnt,uts,ipc,net,pid,cgroup,user,time)")
	f.BoolVar(&o.noCgroup, "no-cgroup", false, "Stay out of the container's cgroups (for external audits)")
	f.BoolVar(&o.confine, "confine", false, "Run like the container's own processes (capabilities, seccomp, ...)")
	f.BoolVar(&o.hostTools, "host-tools", false, "Use the host's files and tools; the container's root is at --container-root")
	f.StringVar(&o.containerRoot, "container-root", enter.DefaultContainerRoot, "Where --host-tools mounts the container's root ($CONTAINER_ROOT)")
	f.BoolVar(&o.readOnly, "read-only", false, "The container's files are read-only for this session (with --host-tools, its links are not followed)")
	f.BoolVar(&o.noSymFollow, "nosymfollow", false, "With --host-tools: do not follow the container's links, which would resolve in the host's files")
	f.BoolVar(&o.noPTY, "no-pty", false, "No pseudo-terminal even when stdin is one: the program gets our terminal")
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
		fmt.Fprintf(os.Stderr, "docker nsenter: %s\n", strip(errors.New(c.Note), "docker://"))
	}
	req, err := request(ctx, o, c, program)
	if err != nil {
		return err
	}
	return session(req, c.Name, !o.noPTY)
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
// OCI spec.
func request(ctx context.Context, o options, c cruntime.Container, program []string) (enter.Request, error) {
	req := enter.Request{
		Name:          "docker nsenter",
		Target:        c.PID,
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
	}
	if o.auditLog != "" {
		req.Audit = &enter.Audit{Path: o.auditLog, Target: c.Name, Runtime: "docker", ContainerID: c.ID}
	}
	if err := chooseNamespaces(&req, o.ns); err != nil {
		return req, err
	}
	_, mount := req.Namespaces[enter.Mount]
	inContainer := (mount || req.All) && !o.hostTools
	var spec *ociSpec
	if inContainer || o.confine {
		var err error
		if spec, err = containerSpec(ctx, o, c); err != nil {
			return req, err
		}
	}
	if inContainer {
		var env []string
		cwd := "/"
		if spec.Process != nil {
			env, cwd = spec.Process.Env, spec.Process.Cwd
		}
		req.Environ = mergeEnv(env, o.env)
		req.WorkDirInNS = cwd
		if o.workdir != "" {
			req.WorkDirInNS = o.workdir
		}
		if len(program) == 0 {
			req.Program = []string{"/bin/sh"}
		}
	} else if len(o.env) > 0 {
		// The host's files: the host's environment and shell.
		req.Environ = mergeEnv(os.Environ(), o.env)
	}
	if o.confine && spec.Process != nil {
		req.Confine = &enter.Confinement{
			Capabilities:    spec.Process.Capabilities,
			NoNewPrivileges: spec.Process.NoNewPrivileges,
			AppArmorProfile: spec.Process.ApparmorProfile,
			SELinuxLabel:    spec.Process.SelinuxLabel,
		}
		if spec.Linux != nil && len(spec.Linux.Seccomp) > 0 {
			req.Confine.Seccomp = new(specs.LinuxSeccomp)
			if err := json.Unmarshal(spec.Linux.Seccomp, req.Confine.Seccomp); err != nil {
				return req, fmt.Errorf("the seccomp profile of %s: %w", c.Name, err)
			}
		}
		if o.user == "" {
			// The container's own user, as its processes run.
			u := spec.Process.User
			req.UID, req.GID = enter.ID{Set: true, Value: u.UID}, enter.ID{Set: true, Value: u.GID}
			req.Groups = append([]uint32{u.GID}, u.AdditionalGids...)
			return req, nil
		}
	}
	return req, withUser(&req, o.user, c.PID)
}

// ociSpec is what docker nsenter takes from a container's OCI spec, the
// seccomp profile left as JSON until --confine asks for it: decoding all of
// specs.Spec took 0.65 ms more, on every run (measured cold, as it runs).
type ociSpec struct {
	Process *specs.Process `json:"process,omitempty"`
	Linux   *struct {
		Seccomp json.RawMessage `json:"seccomp,omitempty"`
	} `json:"linux,omitempty"`
}

// containerSpec reads the OCI spec Docker gave containerd: from the task's
// bundle on disk (runtime/bundle: a file read, no round trip), else from
// containerd itself. CNSENTER_SPEC_FROM_CONTAINERD=1 skips the bundle, for
// tests.
func containerSpec(ctx context.Context, o options, c cruntime.Container) (*ociSpec, error) {
	data, err := specJSON(ctx, o, c)
	if err != nil {
		return nil, err
	}
	var spec ociSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("the OCI spec of %s: %w", c.Name, err)
	}
	return &spec, nil
}

func specJSON(ctx context.Context, o options, c cruntime.Container) ([]byte, error) {
	bundleErr := errors.New("CNSENTER_SPEC_FROM_CONTAINERD=1")
	if os.Getenv("CNSENTER_SPEC_FROM_CONTAINERD") != "1" {
		data, err := bundle.SpecJSON(c.PID, "moby", c.ID)
		if err == nil {
			return data, nil
		}
		bundleErr = err
	}
	a, err := containerd.New(containerd.Address(o.containerdAddress), o.timeout)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	data, err := a.SpecJSON(ctx, "moby", c.ID)
	if err != nil {
		return nil, fmt.Errorf("the OCI spec of %s: not in its bundle (%v), and %w", c.Name, bundleErr, err)
	}
	return data, nil
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
	if _, ok := req.Namespaces[enter.User]; ok && sameNamespace(req.Target, "user") {
		delete(req.Namespaces, enter.User)
	}
	return nil
}

func sameNamespace(pid int, kind string) bool {
	ours, err1 := os.Readlink("/proc/self/ns/" + kind)
	theirs, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	return err1 == nil && err2 == nil && ours == theirs
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
