package main

import (
	"fmt"
	"sort"
	"strings"
)

// Profile is a documented set of cnsenter options, in the spirit of
// kubectl debug --profile. Flags given on the command line add to it.
type Profile struct {
	Name string
	Help string
	// Namespaces is cnsenter's short options for the kinds entered; empty
	// means every namespace of the container (cnsenter's default for a
	// container reference).
	Namespaces []string
	// Confine: the program runs as the container's own processes (its
	// user, capabilities, no_new_privileges, seccomp filter, LSM).
	// ConfineContainerPrograms: only when the program is the container's
	// own (its mount namespace entered, no host tools), as docker nsenter.
	Confine                  bool
	ConfineContainerPrograms bool
	ReadOnly                 bool
}

var profiles = map[string]Profile{
	"general": {Name: "general", ConfineContainerPrograms: true,
		Help: "every namespace; the container's programs run as the container's own (--confine),\nthe tools of --host-tools as root with every capability"},
	"restricted": {Name: "restricted", Confine: true, ReadOnly: true,
		Help: "every namespace, always as the container's own processes (--confine),\nits files read-only (--read-only)"},
	"netadmin": {Name: "netadmin", Namespaces: []string{"-n"},
		Help: "the network namespace only, with the helper image's tools, as root with\nevery capability (tcpdump, ip, ss)"},
	"sysadmin": {Name: "sysadmin",
		Help: "every namespace, as root with every capability and no seccomp filter\n(not --confine)"},
}

func profileNames() []string {
	var n []string
	for k := range profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// nsFlags maps the names of --ns (docker nsenter's) to cnsenter's options.
var nsFlags = map[string]string{
	"mnt": "-m", "uts": "-u", "ipc": "-i", "net": "-n", "pid": "-p",
	"cgroup": "-C", "user": "-U", "time": "-T",
}

func parseNS(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, k := range strings.Split(list, ",") {
		k = strings.TrimSpace(k)
		f, ok := nsFlags[k]
		if !ok {
			return nil, fmt.Errorf("--ns %q: unknown namespace %q (one or more of mnt,uts,ipc,net,pid,cgroup,user,time, comma-separated)", list, k)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// Session is what the caller asked of cnsenter on the node.
type Session struct {
	Ref         string // cri://NAMESPACE/POD/CONTAINER
	Profile     Profile
	NS          []string // from --ns, else the profile's
	HostTools   bool
	ReadOnly    bool
	NoSymfollow bool
	Confine     bool // --confine given
	Privileged  bool // --privileged given: never --confine
	AuditLog    string
	TTY         bool
	Command     []string
}

// cnsenterArgs is the command line of cnsenter in the helper pod.
func (s Session) cnsenterArgs() []string {
	args := []string{"cnsenter", "-t", s.Ref}
	ns := s.NS
	if ns == nil {
		ns = s.Profile.Namespaces
	}
	args = append(args, ns...)
	mnt := len(ns) == 0
	for _, f := range ns {
		mnt = mnt || f == "-m"
	}
	if s.HostTools {
		args = append(args, "--host-tools")
	}
	if s.ReadOnly || s.Profile.ReadOnly {
		args = append(args, "--read-only")
	}
	if s.NoSymfollow {
		args = append(args, "--nosymfollow")
	}
	// The container's own programs run as its processes by default, as
	// with docker nsenter; a program of the helper image's (host tools,
	// no mount namespace) as root with every capability, so that tcpdump
	// and strace work, unless --confine.
	containerProgram := mnt && !s.HostTools
	confine := s.Confine || s.Profile.Confine || (s.Profile.ConfineContainerPrograms && containerProgram)
	if s.Privileged {
		confine = false
	}
	if confine {
		args = append(args, "--confine")
	}
	if s.AuditLog != "" {
		args = append(args, "--audit-log", s.AuditLog)
	}
	if len(s.Command) > 0 {
		args = append(args, "--")
		args = append(args, s.Command...)
	}
	return args
}
