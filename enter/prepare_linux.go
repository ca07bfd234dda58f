package enter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Prepare opens everything a request needs. The target is pinned by a
// pidfd first; every /proc/PID file is opened through a directory that was
// checked against that pidfd, so a PID reused by another process is never
// read or entered.
func Prepare(req Request) (plan *Plan, err error) {
	p := &Plan{program: req.Program}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	name := req.Name
	if name == "" {
		name = "cnsenter"
	}
	p.add("name=%s", name)
	if req.NotFoundHint != "" {
		p.add("hint=%s", req.NotFoundHint)
	}
	if req.OnlyStdio {
		p.add("onlystdio")
	}

	var t *target
	var pidfdRef, dirRef string
	if req.Process != nil {
		if t, err = req.Process.t.copy(); err != nil {
			return nil, err
		}
		req.Target = t.pid
	}
	if t != nil || req.Target > 0 {
		if t == nil {
			if t, err = pin(req.Target); err != nil {
				return nil, err
			}
		}
		if req.TargetInode != 0 {
			if err := t.hasInode(req.TargetInode); err != nil {
				t.close()
				return nil, err
			}
		}
		pidfdRef, dirRef = p.ref(t.pidfd), p.ref(t.dir)
		p.add("target=%d", t.pid)
		if req.Container != "" {
			p.add("container=%s", req.Container)
		}
		// A Process given was checked when pinned (Pin); the pin holds.
		// Otherwise no adapter vouched for a monitor: the cgroup must
		// name the container.
		if req.ContainerID != "" && req.Process == nil {
			if err := t.belongsTo(req.Container, req.ContainerID, Monitor{}); err != nil {
				return nil, err
			}
		}
	} else if req.Target < 0 {
		return nil, fmt.Errorf("%d is not a valid PID for --target", req.Target)
	}
	needTarget := func(what string) error {
		if t == nil {
			return fmt.Errorf("%s needs a target process: give --target PID", what)
		}
		return nil
	}

	want, files, err := p.namespaces(&req, t, pidfdRef, needTarget)
	if err != nil {
		return nil, err
	}

	hostFiles := programFromHost(req, t, want, files)
	if err := guard(req, t, want, files, hostFiles); err != nil {
		return nil, err
	}
	if err := p.directories(req, t, needTarget); err != nil {
		return nil, err
	}
	if err := p.environment(req, t, dirRef, want[User], needTarget, hostFiles); err != nil {
		return nil, err
	}
	if err := p.credentials(req, t, dirRef, want[User], needTarget); err != nil {
		return nil, err
	}
	if req.IgnoredSignals != 0 {
		p.add("sigign=%x", req.IgnoredSignals)
	}
	if req.StatusForSignal {
		p.add("signalstatus")
	}
	if want[PID] && !req.NoFork || req.StatusForSignal {
		p.add("fork")
	}
	if req.Cancel != nil {
		fd, err := unix.FcntlInt(req.Cancel.Fd(), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return nil, fmt.Errorf("cannot hold the cancellation socket: %w", err)
		}
		p.add("cancel=%s", p.ref(fd))
	}
	if req.JoinCgroup {
		if err := needTarget("--join-cgroup"); err != nil {
			return nil, err
		}
		if err := p.joinCgroups(t); err != nil {
			return nil, err
		}
	}
	if req.FollowContext {
		if err := needTarget("--follow-context"); err != nil {
			return nil, err
		}
		if err := p.followContext(t); err != nil {
			return nil, err
		}
	}
	if t != nil {
		// Everything read through /proc/PID above belongs to the pinned
		// process only if it is still there now.
		if err := t.alive(); err != nil {
			return nil, err
		}
	}
	if req.Confine != nil {
		if err := p.confine(req.Confine); err != nil {
			return nil, err
		}
	}
	if req.Audit != nil {
		if err := p.audit(req, t, want); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// directories opens --root and --wd before anything is entered, so that
// they can be a tunnel back into the caller's namespaces, as in util-linux.
func (p *Plan) directories(req Request, t *target, needTarget func(string) error) error {
	for _, d := range []struct {
		choice Dir
		entry  string // plan entry
		proc   string // the target's own, under /proc/PID
		option string
	}{
		{req.Root, "root", "root", "--root"},
		{req.WorkDir, "wd", "cwd", "--wd"},
	} {
		if !d.choice.Set {
			continue
		}
		var fd int
		var err error
		label := d.choice.Path
		if label == "" {
			if err := needTarget(d.option + " without a directory"); err != nil {
				return err
			}
			label = fmt.Sprintf("/proc/%d/%s", t.pid, d.proc)
			fd, err = unix.Openat(t.dir, d.proc, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return t.openError(d.proc, err)
			}
		} else if fd, err = unix.Open(label, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("cannot open %s (given to %s): %w", label, d.option, err)
		}
		p.add("%s=%s:%s", d.entry, p.ref(fd), label)
	}
	if req.WorkDirInNS != "" {
		if req.WorkDir.Set {
			return errors.New("--wd and --wdns are mutually exclusive: give one of them")
		}
		p.add("wdns=%s", req.WorkDirInNS)
	}
	return nil
}

// environment passes the program's environment, when it is not ours, as a
// descriptor: never as stage 2's own environment, which a container could
// otherwise fill with variables the C library acts on (GLIBC_TUNABLES...)
// in a process that still runs as root on the host. The target's (--env)
// is read here, within a limit, and made safe for a program from the
// host's files (see hostProgramEnviron). Host-tools mode gives ours (host
// tools want the host's PATH) or the target's, plus CONTAINER_ROOT.
//
// An unprivileged caller entering a user namespace may be refused the
// target's environ here (it belongs to a uid of that namespace which is
// not the caller's): stage 2 then reads it once the user namespace is
// entered (envafter=), as util-linux 2.42.x does. It is given as the
// target has it, not cleaned: only a caller that is not root gets there,
// and its program runs with that caller's rights alone, in a user
// namespace the caller owns (or it could not enter it), among processes
// the caller could already ptrace; the cleaning keeps the container's
// variables out of a program that is root on the host, and there is none.
func (p *Plan) environment(req Request, t *target, dirRef string, user bool, needTarget func(string) error, hostFiles bool) error {
	env := req.Environ
	switch {
	case env != nil && req.Env:
		return errors.New("--env and an explicit environment are mutually exclusive")
	case req.Env:
		if err := needTarget("--env"); err != nil {
			return err
		}
		var err error
		if env, err = t.environ(); err != nil {
			if !envAfterEntering(err, user, req) {
				return err
			}
			p.add("envafter=%s", dirRef)
			return nil
		}
		if hostFiles {
			env = hostProgramEnviron(env)
		}
	}
	if req.HostTools {
		if env == nil {
			env = os.Environ()
		}
		env = append(slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
			return strings.HasPrefix(kv, "CONTAINER_ROOT=")
		}), "CONTAINER_ROOT="+containerRoot(req))
	}
	if env == nil {
		return nil // ours, as stage 2 inherits it
	}
	var b strings.Builder
	for _, kv := range env {
		if strings.IndexByte(kv, 0) >= 0 || !strings.Contains(kv, "=") {
			return fmt.Errorf("environment entry %q is not KEY=VALUE", kv)
		}
		b.WriteString(kv)
		b.WriteByte(0)
	}
	fd, err := memfd("cnsenter-environ", b.String())
	if err != nil {
		return fmt.Errorf("cannot pass the environment on: %w", err)
	}
	p.add("env=%s", p.ref(fd))
	return nil
}

// envAfterEntering tells whether an environment stage 1 could not read is
// for stage 2 to read after entering: refused by the kernel, to a caller
// that is not root (root is never refused for want of rights, and a root
// caller must get the cleaned environment), entering a user namespace, and
// not in host-tools mode (whose environment stage 1 completes).
func envAfterEntering(err error, user bool, req Request) bool {
	return (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) &&
		user && os.Geteuid() != 0 && !req.HostTools && req.Environ == nil
}

// credentials decides the uid and gid of the program. Entering a user
// namespace always sets both (to 0 unless told), as util-linux does, unless
// --preserve-credentials.
func (p *Plan) credentials(req Request, t *target, dirRef string, user bool, needTarget func(string) error) error {
	uid, gid := req.UID, req.GID
	if user && !req.PreserveCredentials {
		uid.Set, gid.Set = true, true
	}
	if uid.Follow || gid.Follow {
		if err := needTarget("follow"); err != nil {
			return err
		}
		p.add("ids=%s", dirRef)
	}
	for _, c := range []struct {
		entry string
		id    ID
	}{{"uid", uid}, {"gid", gid}} {
		switch {
		case c.id.Follow:
			p.add("%s=follow", c.entry)
		case c.id.Set:
			p.add("%s=%d", c.entry, c.id.Value)
		}
	}
	if len(req.Groups) > 0 {
		if !gid.Set {
			return errors.New("supplementary groups need a gid to go with them")
		}
		ids := make([]string, len(req.Groups))
		for i, g := range req.Groups {
			ids[i] = strconv.FormatUint(uint64(g), 10)
		}
		p.add("groups=%s", strings.Join(ids, ","))
	}
	if req.PreserveCredentials {
		p.add("preserve")
	}
	if req.KeepCaps {
		p.add("keepcaps")
	}
	return nil
}

func (p *Plan) joinCgroups(t *target) error {
	own, err := readAllAt(t.dir, "cgroup")
	if err != nil {
		return t.openError("cgroup", err)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("cannot read the mount table: %w", err)
	}
	if os.Geteuid() != 0 {
		// A caller that is not root leaves out the cgroups it is in
		// already: joining one changes nothing, and its tasks file is
		// not the caller's to write. A rootless container on cgroup v1
		// has no cgroup of its own, only its user's.
		mine, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return fmt.Errorf("cannot read our own cgroups: %w", err)
		}
		have := strings.Split(string(mine), "\n")
		var left []string
		for _, line := range strings.Split(string(own), "\n") {
			if line != "" && !slices.Contains(have, line) {
				left = append(left, line)
			}
		}
		if len(left) == 0 {
			return nil
		}
		own = []byte(strings.Join(left, "\n"))
	}
	paths := cgroupJoinFiles(string(own), string(mountinfo))
	if len(paths) == 0 {
		return fmt.Errorf("--join-cgroup: no cgroup hierarchy of process %d is mounted here", t.pid)
	}
	for _, path := range paths {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("--join-cgroup: cannot open %s: %w", path, err)
		}
		dir := filepath.Dir(path)
		if filepath.Base(path) != "cgroup.procs" || os.Getenv("CNSENTER_NO_CLONE_INTO_CGROUP") == "1" {
			p.add("cgroup=%s:%s", p.ref(fd), dir)
			continue
		}
		// v2: stage 2 can fork straight into it (see fork_into_cgroup).
		// CNSENTER_NO_CLONE_INTO_CGROUP=1 leaves that out, for tests.
		ref := p.ref(fd)
		dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("--join-cgroup: cannot open %s: %w", dir, err)
		}
		p.add("cgroup2=%s:%s:%s", ref, p.ref(dirfd), dir)
	}
	return nil
}

func (p *Plan) followContext(t *target) error {
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err != nil {
		return errors.New("--follow-context: SELinux is not enabled on this machine; leave the option out")
	}
	label, err := readAllAt(t.dir, "attr/current")
	if err != nil {
		return t.openError("attr/current", err)
	}
	proc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("--follow-context: cannot open /proc: %w", err)
	}
	p.add("proc=%s", p.ref(proc))
	p.add("label=%s", strings.TrimRight(string(label), "\x00\n"))
	return nil
}
