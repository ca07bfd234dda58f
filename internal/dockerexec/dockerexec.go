// Package dockerexec decides what docker exec would run in a container, as
// an enter.Request: docker nsenter's flags (main.go parses them, session.go
// runs the result) turned into namespaces, environment, working directory,
// user and process security, from the container's OCI spec, its own
// /etc/passwd and /etc/group, and our own environment.
package dockerexec

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/passwd"
	cruntime "github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/spec"
)

// Options are docker nsenter's flags that shape the request (its standard
// stream flags belong to the session).
type Options struct {
	User, WorkDir, NS string
	Env, EnvFiles     []string // -e, --env-file
	NoCgroup, Confine bool
	Privileged        bool
	HostTools         bool
	ContainerRoot     string
	ReadOnly          bool
	NoSymFollow       bool
	AuditLog          string
	ContainerdAddress string
	Timeout           time.Duration // of each engine call
}

// sources are where a request's facts about the container come from: its
// pinned init in Request, fakes in the unit tests.
type sources struct {
	// readSpec reads the container's OCI spec.
	readSpec func(context.Context, spec.Source) (*spec.Spec, error)
	// usable tells whether the container's namespace of a kind differs
	// from ours.
	usable func(enter.Kind) (bool, error)
	// openRoot opens the container's root directory, for user lookups.
	openRoot func() (int, error)
}

// Request builds the entry docker exec would make, from the container's
// OCI spec, read once: its environment and working directory, and, as
// docker exec has them, its user and process security (capabilities,
// no_new_privileges, seccomp, LSM); --privileged as docker exec's. With
// the host's files (--host-tools, --ns without mnt) the program is the
// host's own, trusted: root with every capability unless -u or --confine
// say otherwise. proc is the container's init, pinned.
func Request(ctx context.Context, o Options, c cruntime.Container, proc *enter.Process, program []string) (enter.Request, error) {
	return build(ctx, o, c, proc, program, sources{
		readSpec: spec.Read,
		usable:   proc.Usable,
		openRoot: func() (int, error) {
			return unix.Openat(proc.Dir(), "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		},
	})
}

func build(ctx context.Context, o Options, c cruntime.Container, proc *enter.Process, program []string, src sources) (enter.Request, error) {
	req := enter.Request{
		Name:          "docker nsenter",
		Target:        c.PID,
		Process:       proc,
		Container:     c.Name,
		ContainerID:   c.ID,
		JoinCgroup:    !o.NoCgroup,
		HostTools:     o.HostTools,
		ContainerRoot: o.ContainerRoot,
		ReadOnly:      o.ReadOnly,
		NoSymFollow:   o.NoSymFollow,
		Program:       program,
		NotFoundHint:  "the container has no such program (--host-tools runs the host's)",
		OnlyStdio:     true,
		GuardHint:     "run it as root with every capability (no -u or --confine, or --privileged), or leave pid out of --ns",
	}
	if o.AuditLog != "" {
		req.Audit = &enter.Audit{Path: o.AuditLog, Target: c.Name, Runtime: "docker", ContainerID: c.ID}
	}
	if err := chooseNamespaces(&req, o.NS, src.usable); err != nil {
		return req, err
	}
	env, err := readEnvFiles(o.EnvFiles)
	if err != nil {
		return req, err
	}
	env = append(env, o.Env...)
	_, mount := req.Namespaces[enter.Mount]
	inContainer := (mount || req.All) && !o.HostTools
	// The container's own programs run as its processes do; the host's
	// (--host-tools, or --ns without mnt) are trusted: root, every
	// capability, unless -u or --confine.
	asContainer := inContainer || o.Confine
	// The spec, read once: now for the container's programs and
	// --privileged, later if the guard of enter asks what the container's
	// processes may hold.
	var s *spec.Spec
	readSpec := func() (*spec.Spec, error) {
		if s == nil {
			source := spec.Source{Name: c.Name, Process: proc, Namespace: c.Task, ID: c.ID, ContainerdAddress: o.ContainerdAddress, Timeout: o.Timeout}
			var err error
			if s, err = src.readSpec(ctx, source); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	req.Limits = func() (enter.ContainerLimits, error) {
		s, err := readSpec()
		if err != nil {
			return enter.ContainerLimits{}, err
		}
		return s.Limits(), nil
	}
	if asContainer || o.Privileged {
		if _, err = readSpec(); err != nil {
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
		if o.WorkDir != "" {
			req.WorkDirInNS = o.WorkDir
		}
		if len(program) == 0 {
			req.Program = []string{"/bin/sh"}
		}
	} else if len(env) > 0 {
		// The host's files: the host's environment and shell.
		req.Environ = mergeEnv(os.Environ(), env)
	}
	switch {
	case o.Privileged:
		req.Confine = s.Privileged()
	case asContainer:
		if req.Confine, err = s.Confinement(c.Name); err != nil {
			return req, err
		}
	}
	if o.User != "" {
		root, err := src.openRoot()
		if err != nil {
			return req, fmt.Errorf("cannot open the container's root: %w", err)
		}
		defer unix.Close(root)
		return req, withUser(&req, o.User, root, c.GroupAdd)
	}
	if asContainer {
		s.SetUser(&req)
		return req, nil
	}
	req.UID, req.GID = enter.ID{Set: true}, enter.ID{Set: true} // the host's program: root
	return req, nil
}

// chooseNamespaces: every namespace that differs from ours (nsenter -a), or
// the --ns list, less a user namespace that is ours (setns refuses it);
// usable tells which of the container's differ from ours.
func chooseNamespaces(req *enter.Request, list string, usable func(enter.Kind) (bool, error)) error {
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
		ok, err := usable(enter.User)
		if err != nil {
			return err
		}
		if !ok {
			delete(req.Namespaces, enter.User)
		}
	}
	return nil
}

// withUser sets who the program runs as from --user, looked up in the
// container's own files below root, as docker exec does: with USER alone,
// the groups that list the user too; then the container's --group-add
// groups, which docker gives every process of the container.
func withUser(req *enter.Request, user string, root int, groupAdd []string) error {
	u, err := passwd.Lookup(root, user)
	if err != nil {
		return err
	}
	extra, err := passwd.LookupGroups(root, groupAdd)
	if err != nil {
		return fmt.Errorf("the container's --group-add: %w", err)
	}
	for _, g := range extra {
		if !slices.Contains(u.Groups, g) {
			u.Groups = append(u.Groups, g)
		}
	}
	req.UID = enter.ID{Set: true, Value: u.UID}
	req.GID = enter.ID{Set: true, Value: u.GID}
	req.Groups = u.Groups
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
