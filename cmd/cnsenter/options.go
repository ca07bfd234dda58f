package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/getopt"
	"github.com/cnsenter/cnsenter/runtime"
	_ "github.com/cnsenter/cnsenter/runtime/all"
	"github.com/cnsenter/cnsenter/runtime/spec"
)

// The options of util-linux nsenter 2.42, spelled as it spells them, then
// our extensions (long only, and never stealing an nsenter abbreviation).
var options = []getopt.Option{
	{Short: 'a', Long: "all"},
	{Short: 'h', Long: "help"},
	{Short: 'V', Long: "version"},
	{Short: 't', Long: "target", Arg: getopt.RequiredArg},
	{Short: 'm', Long: "mount", Arg: getopt.OptionalArg},
	{Short: 'u', Long: "uts", Arg: getopt.OptionalArg},
	{Short: 'i', Long: "ipc", Arg: getopt.OptionalArg},
	{Short: 'n', Long: "net", Arg: getopt.OptionalArg},
	{Short: 'N', Long: "net-socket", Arg: getopt.RequiredArg},
	{Short: 'p', Long: "pid", Arg: getopt.OptionalArg},
	{Short: 'U', Long: "user", Arg: getopt.OptionalArg},
	{Short: 'C', Long: "cgroup", Arg: getopt.OptionalArg},
	{Short: 'T', Long: "time", Arg: getopt.OptionalArg},
	{Short: 'S', Long: "setuid", Arg: getopt.RequiredArg},
	{Short: 'G', Long: "setgid", Arg: getopt.RequiredArg},
	{Short: 'r', Long: "root", Arg: getopt.OptionalArg},
	{Short: 'w', Long: "wd", Arg: getopt.OptionalArg},
	{Short: 'W', Long: "wdns", Arg: getopt.RequiredArg},
	{Short: 'e', Long: "env"},
	{Short: 'F', Long: "no-fork"},
	{Short: 'c', Long: "join-cgroup"},
	{Short: 'Z', Long: "follow-context"},
	{Long: "preserve-credentials"},
	{Long: "keep-caps"},
	{Long: "user-parent"},

	{Long: "list", Extension: true},
	{Long: "json", Extension: true},
	{Long: "timeout", Arg: getopt.RequiredArg, Extension: true},
	{Long: "host-tools", Extension: true},
	{Long: "container-root", Arg: getopt.RequiredArg, Extension: true},
	{Long: "read-only", Extension: true},
	{Long: "nosymfollow", Extension: true},
	{Long: "audit-log", Arg: getopt.RequiredArg, Extension: true},
	{Long: "confine", Extension: true},
	{Long: "freeze", Extension: true},
	{Long: "evidence", Arg: getopt.RequiredArg, Extension: true},
	{Long: "image", Arg: getopt.RequiredArg, Extension: true},
}

// Each runtime's own options (--docker-host, ...) follow ours.
func init() {
	for _, rt := range runtime.Registered() {
		for _, o := range rt.Options {
			options = append(options, getopt.Option{Long: o.Name, Arg: getopt.RequiredArg, Extension: true})
			runtimeOptions[o.Name] = true
		}
	}
}

// runtimeOptions are the options that the runtimes take.
var runtimeOptions = map[string]bool{}

// invocation is a parsed command line.
type invocation struct {
	req       enter.Request
	targetRef string // --target as given: a PID or a container reference
	help      bool
	version   bool

	auditLog       string
	confine        bool
	container      runtime.Container // what --target named, when a container
	spec           *spec.Spec        // its OCI spec, once read
	list           bool
	json           bool
	runtimeOptions map[string]string // by name: --docker-host's value, ...
	timeout        time.Duration
	freeze         bool   // --freeze: the container's cgroup frozen for the session
	evidence       string // --evidence DIR: capture, run nothing
	stopped        bool   // --evidence of a container that runs no process (inv.container)
	image          string // --image: an image's reference, shown with --host-tools
	allImplied     bool   // --all only because --host-tools came alone
}

func parseArgs(args []string) (*invocation, error) {
	parsed, operands, err := getopt.Parse(args, options)
	if err != nil {
		return nil, err
	}
	inv := &invocation{req: enter.Request{Namespaces: map[enter.Kind]string{}}, runtimeOptions: map[string]string{}}
	r := &inv.req
	for _, p := range parsed {
		// nsenter drops one '=' written after a short option ("-m=FILE").
		value := p.Value
		if p.Option.Short != 0 && len(value) > 0 && value[0] == '=' {
			value = value[1:]
		}
		if kind, ok := enter.KindOfOption(p.Option.Short); ok && p.Option.Short != 0 {
			r.Namespaces[kind] = value
			continue
		}
		switch p.Option.Long {
		case "all":
			r.All = true
		case "help":
			inv.help = true
			return inv, nil // as getopt_long users do: the rest is not read
		case "version":
			inv.version = true
			return inv, nil
		case "target":
			inv.targetRef = value
		case "net-socket":
			fd, err := strconv.ParseUint(value, 10, 31)
			if err != nil {
				return nil, fmt.Errorf("--net-socket: '%s' is not a file descriptor number", getopt.Printable(value))
			}
			n := int(fd)
			r.NetSocket = &n
		case "setuid":
			if r.UID, err = parseID(value, "--setuid", "uid"); err != nil {
				return nil, err
			}
		case "setgid":
			if r.GID, err = parseID(value, "--setgid", "gid"); err != nil {
				return nil, err
			}
		case "root":
			r.Root = enter.Dir{Set: true, Path: value}
		case "wd":
			r.WorkDir = enter.Dir{Set: true, Path: value}
		case "wdns":
			r.WorkDirInNS = value
		case "env":
			r.Env = true
		case "no-fork":
			r.NoFork = true
		case "join-cgroup":
			r.JoinCgroup = true
		case "follow-context":
			r.FollowContext = true
		case "preserve-credentials":
			r.PreserveCredentials = true
		case "keep-caps":
			r.KeepCaps = true
		case "user-parent":
			r.UserParent = true
		case "list":
			inv.list = true
		case "json":
			inv.json = true
		case "host-tools":
			r.HostTools = true
		case "container-root":
			r.ContainerRoot = value
		case "read-only":
			r.ReadOnly = true
		case "nosymfollow":
			r.NoSymFollow = true
		case "audit-log":
			inv.auditLog = value
		case "confine":
			inv.confine = true
		case "freeze":
			inv.freeze = true
		case "evidence":
			if value == "" {
				return nil, fmt.Errorf("--evidence: give the directory to write the bundle into")
			}
			inv.evidence = value
		case "image":
			inv.image = value
		case "timeout":
			if inv.timeout, err = parseTimeout(value, "--timeout"); err != nil {
				return nil, err
			}
		default:
			if runtimeOptions[p.Option.Long] {
				inv.runtimeOptions[p.Option.Long] = value
			}
		}
	}
	if r.WorkDir.Set && r.WorkDirInNS != "" {
		return nil, fmt.Errorf("--wd and --wdns are mutually exclusive: give one of them")
	}
	if r.HostTools && len(r.Namespaces) == 0 && !r.All {
		r.All = true // every namespace of the target but its mount namespace
		inv.allImplied = true
	}
	if inv.image != "" && (!r.HostTools || inv.targetRef != "") {
		return nil, fmt.Errorf("--image shows an image's files with --host-tools, without --target: give --host-tools --image docker://IMAGE")
	}
	if inv.json && !inv.list {
		return nil, fmt.Errorf("--json goes with --list")
	}
	r.Program = operands
	if inv.evidence != "" && len(operands) > 0 {
		return nil, fmt.Errorf("--evidence captures and runs no program: leave out '%s'", getopt.Printable(operands[0]))
	}
	if inv.freeze && !r.ReadOnly && inv.evidence == "" {
		return nil, fmt.Errorf("--freeze goes with --read-only (or --evidence): a frozen view is for reading; add --read-only")
	}
	if inv.freeze && r.JoinCgroup {
		return nil, fmt.Errorf("--freeze and --join-cgroup contradict each other: the program would join the frozen cgroup and freeze too; leave out -c")
	}
	return inv, nil
}

// parseID reads a uid or gid: a number, or "follow" for the target's own.
func parseID(value, option, what string) (enter.ID, error) {
	if value == "follow" {
		return enter.ID{Set: true, Follow: true}, nil
	}
	n, err := strconv.ParseUint(value, 10, 32)
	if err != nil || n == 1<<32-1 {
		return enter.ID{}, fmt.Errorf("%s: '%s' is not a %s: give a number or 'follow'", option, getopt.Printable(value), what)
	}
	return enter.ID{Set: true, Value: uint32(n)}, nil
}

func parseTimeout(value, source string) (time.Duration, error) {
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: '%s' is not a positive duration (for example 5s or 500ms)", source, getopt.Printable(value))
	}
	return d, nil
}
