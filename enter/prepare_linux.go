package enter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cnsenter/cnsenter/internal/libexec"
	"golang.org/x/sys/unix"
)

// Stage2 is the path of cnsenter-enter (enter/stage2), the C program that
// enters; empty, it is looked for where libexec.Find looks.
var Stage2 string

const stage2Name = "cnsenter-enter"

func stage2Path() (string, error) {
	if Stage2 != "" {
		return Stage2, nil
	}
	return libexec.Find(stage2Name)
}

// Plan is a Request resolved to open file descriptors: everything that has
// to be looked up in the caller's namespaces is opened here, so that stage 2
// only has to enter and exec.
type Plan struct {
	entries []string // stage 2 plan entries (see stage2.c), descriptors as refs
	fds     []int    // every descriptor the plan holds, in ref order
	program []string
}

// Close releases the plan's descriptors: after a failed Exec, or once the
// Command has started.
func (p *Plan) Close() {
	for _, fd := range p.fds {
		unix.Close(fd)
	}
	p.fds = nil
}

// ref holds a descriptor for stage 2 and stands for it in an entry until the
// entry is rendered: the number it has in stage 2 depends on how stage 2 is
// started (Exec keeps numbers, Command renumbers from 3).
func (p *Plan) ref(fd int) string {
	p.fds = append(p.fds, fd)
	return fmt.Sprintf("\x00%d\x00", len(p.fds)-1)
}

func (p *Plan) add(format string, args ...any) {
	p.entries = append(p.entries, fmt.Sprintf(format, args...))
}

// argv renders stage 2's command line; number gives a ref's descriptor.
func (p *Plan) argv(number func(ref int) int) []string {
	argv := []string{stage2Name}
	// Every descriptor of the plan is closed on exec, used or not.
	all := make([]string, len(p.fds))
	for i := range p.fds {
		all[i] = strconv.Itoa(number(i))
	}
	if len(all) > 0 {
		argv = append(argv, "cloexec="+strings.Join(all, ","))
	}
	for _, e := range p.entries {
		parts := strings.Split(e, "\x00") // text, ref, text, ref, ..., text
		for i := 1; i < len(parts); i += 2 {
			ref, _ := strconv.Atoi(parts[i])
			parts[i] = strconv.Itoa(number(ref))
		}
		argv = append(argv, strings.Join(parts, ""))
	}
	argv = append(argv, "--")
	return append(argv, p.program...)
}

// Exec runs stage 2 in place of this process, as nsenter does: the program
// (or, when it forks, the waiting parent) keeps our PID. It returns only on
// failure.
func (p *Plan) Exec() error {
	path, err := stage2Path()
	if err != nil {
		return err
	}
	for _, fd := range p.fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("cannot pass descriptor %d on: %w", fd, err)
		}
	}
	argv := p.argv(func(ref int) int { return p.fds[ref] })
	err = unix.Exec(path, argv, os.Environ())
	return fmt.Errorf("cannot execute %s to enter the namespaces: %w", path, err)
}

// Command is stage 2 as a child process, for a caller that stays to relay a
// terminal. The caller sets its standard streams, starts it, then closes
// the plan.
func (p *Plan) Command() (*exec.Cmd, error) {
	path, err := stage2Path()
	if err != nil {
		return nil, err
	}
	files := make([]*os.File, len(p.fds))
	for i, fd := range p.fds {
		files[i] = os.NewFile(uintptr(fd), "plan")
	}
	return &exec.Cmd{
		Path:       path,
		Args:       p.argv(func(ref int) int { return 3 + ref }), // ExtraFiles start at 3
		Env:        os.Environ(),
		ExtraFiles: files,
	}, nil
}

// Run prepares and executes a request. It returns only on failure.
func Run(req Request) error {
	p, err := Prepare(req)
	if err != nil {
		return err
	}
	err = p.Exec()
	p.Close()
	return err
}

// source is a namespace file to enter, with its name for messages.
type source struct {
	fd    int
	ref   string // the plan's ref for fd
	label string
}

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
		pidfdRef, dirRef = p.ref(t.pidfd), p.ref(t.dir)
		p.add("target=%d", t.pid)
		if req.Container != "" {
			p.add("container=%s", req.Container)
		}
		if req.ContainerID != "" {
			if err := t.belongsTo(req.Container, req.ContainerID); err != nil {
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

	want := map[Kind]bool{}
	files := map[Kind]source{}
	for _, k := range Kinds {
		path, ok := req.Namespaces[k]
		if !ok {
			continue
		}
		want[k] = true
		if path == "" {
			continue
		}
		fd, err := openNamespaceFile(path, k)
		if err != nil {
			return nil, err
		}
		files[k] = source{fd, p.ref(fd), path}
	}
	if req.All {
		if err := needTarget("--all"); err != nil {
			return nil, err
		}
		for _, k := range Kinds {
			if want[k] {
				continue
			}
			usable, err := t.usable(k)
			if err != nil {
				return nil, err
			}
			want[k] = usable
		}
	}
	if req.NetSocket != nil {
		if err := needTarget("--net-socket"); err != nil {
			return nil, err
		}
		fd, err := t.socketNetns(*req.NetSocket)
		if err != nil {
			return nil, err
		}
		want[Net] = true
		files[Net] = source{fd, p.ref(fd), fmt.Sprintf("of socket %d of process %d", *req.NetSocket, t.pid)}
	}
	if req.UserParent {
		src, err := parentUserNamespace(t, files)
		if err != nil {
			return nil, err
		}
		src.ref = p.ref(src.fd)
		want[User] = true
		files[User] = src
	}

	if req.HostTools || req.ReadOnly || req.NoSymFollow {
		if err := p.mountModes(&req, t, want, files); err != nil {
			return nil, err
		}
	}

	mask := 0
	viaPidfd := pidfdSetnsWorks()
	for _, k := range Kinds {
		if !want[k] {
			continue
		}
		if _, ok := files[k]; ok {
			continue
		}
		if t == nil {
			return nil, fmt.Errorf("--%s needs a target: give --target PID, or a namespace file as --%s=FILE", k.Option(), k.Option())
		}
		if viaPidfd {
			mask |= k.cloneFlag()
			continue
		}
		fd, err := unix.Openat(t.dir, "ns/"+string(k), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, t.openError("ns/"+string(k), err)
		}
		files[k] = source{fd, p.ref(fd), fmt.Sprintf("/proc/%d/ns/%s", t.pid, k)}
	}
	if !anyTrue(want) {
		return nil, errors.New("no namespace to enter: name at least one (-m -u -i -n -p -C -U -T) or use --all with --target")
	}
	if mask != 0 {
		p.add("pidfd=%s:%d", pidfdRef, mask)
	}
	for _, k := range Kinds {
		if src, ok := files[k]; ok {
			p.add("ns=%s:%s:%s", src.ref, k, src.label)
		}
	}

	hostFiles := programFromHost(req, t, want, files)
	if err := guard(req, t, want, files, hostFiles); err != nil {
		return nil, err
	}
	if err := p.directories(req, t, needTarget); err != nil {
		return nil, err
	}
	if err := p.environment(req, t, needTarget, hostFiles); err != nil {
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

// audit writes the start record and has stage 2 fork, so that a waiting
// parent is there to write the end record with the program's status. A log
// that cannot be written stops the entry before anything is entered.
func (p *Plan) audit(req Request, t *target, want map[Kind]bool) error {
	fd, err := unix.Open(req.Audit.Path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", req.Audit.Path, err)
	}
	ref := p.ref(fd)
	var session [8]byte
	unix.Getrandom(session[:], 0)
	common := map[string]any{
		"session": fmt.Sprintf("%x", session),
		"target":  req.Audit.Target,
	}
	if t != nil {
		common["pid"] = t.pid
	}
	if req.Audit.Runtime != "" {
		common["runtime"], common["container_id"] = req.Audit.Runtime, req.Audit.ContainerID
	}
	start := map[string]any{
		"event": "start", "time": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"uid": os.Getuid(), "login_uid": loginUID(),
		"cgroup_joined": req.JoinCgroup, "read_only": req.ReadOnly, "host_tools": req.HostTools,
		"command": req.Program,
	}
	var kinds []string
	for _, k := range Kinds {
		if want[k] {
			kinds = append(kinds, string(k))
		}
	}
	start["namespaces"] = kinds
	for k, v := range common {
		start[k] = v
	}
	line, err := json.Marshal(start)
	if err != nil {
		return err
	}
	if _, err := unix.Write(fd, append(line, '\n')); err != nil {
		return fmt.Errorf("audit log %s: %w", req.Audit.Path, err)
	}
	common["event"] = "end"
	end, _ := json.Marshal(common)
	// The end record is this object less its "}", completed by stage 2.
	p.add("audit=%s:%s,", ref, end[:len(end)-1])
	if !slices.Contains(p.entries, "fork") {
		p.add("fork")
	}
	return nil
}

// loginUID is the login uid the kernel's audit keeps for our session, -1
// when there is none.
func loginUID() int64 {
	data, err := os.ReadFile("/proc/self/loginuid")
	if err != nil {
		return -1
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
	if err != nil || id == 1<<32-1 {
		return -1
	}
	return int64(id)
}

func anyTrue(m map[Kind]bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
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

// mountModes sets up host-tools and read-only mode. In host-tools mode the
// mount namespace is the source of the container's tree, not entered.
func (p *Plan) mountModes(req *Request, t *target, want map[Kind]bool, files map[Kind]source) error {
	if !req.HostTools && req.NoSymFollow {
		// Without host tools the session's root is the container's: its
		// links resolve inside it.
		return errors.New("--nosymfollow goes with --host-tools: without it the container's links resolve inside the container's root")
	}
	if !req.HostTools {
		if !want[Mount] {
			return errors.New("--read-only needs the mount namespace: add --mount (or --all), or use --host-tools")
		}
		if req.Root.Set || req.WorkDir.Set {
			// Their directories are opened before entering, on the mounts
			// the container writes to, not on the read-only copy.
			return errors.New("--read-only does not go with --root or --wd: use --wdns, or --host-tools")
		}
		p.add("readonly")
		return nil
	}
	if req.Root.Set || req.WorkDirInNS != "" {
		return errors.New("--host-tools keeps the host's root: it does not go with --root or --wdns")
	}
	path := containerRoot(*req)
	if st, err := os.Stat(path); err != nil || !st.IsDir() || !strings.HasPrefix(path, "/") {
		return fmt.Errorf("--container-root: %s is not an existing directory given by absolute path: give one (the session mounts over it, the host does not see it)", path)
	}
	mnt, root := "", "-1"
	if src, ok := files[Mount]; ok {
		mnt = src.ref
	} else if t == nil {
		return errors.New("--host-tools needs a target: give --target, or the container's mount namespace as --mount=FILE")
	} else {
		fd, err := unix.Openat(t.dir, "ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return t.openError("ns/mnt", err)
		}
		mnt = p.ref(fd)
	}
	if t != nil {
		// The target's own root, which a chroot may have moved below its
		// namespace's.
		fd, err := unix.Openat(t.dir, "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return t.openError("root", err)
		}
		root = p.ref(fd)
	}
	p.add("hosttools=%s:%s:%s", mnt, root, path)
	if req.ReadOnly {
		p.add("readonly")
	}
	if req.ReadOnly || req.NoSymFollow {
		// The view's links would resolve in the host's tree: a read-only
		// view follows none, or it would not be read-only for host files.
		p.add("nosymfollow")
	}
	want[Mount] = false
	delete(files, Mount)
	return nil
}

// environment passes the program's environment, when it is not ours, as a
// descriptor: never as stage 2's own environment, which a container could
// otherwise fill with variables the C library acts on (GLIBC_TUNABLES...)
// in a process that still runs as root on the host. The target's (--env)
// is read here, within a limit, and made safe for a program from the
// host's files (see hostProgramEnviron). Host-tools mode gives ours (host
// tools want the host's PATH) or the target's, plus CONTAINER_ROOT.
func (p *Plan) environment(req Request, t *target, needTarget func(string) error, hostFiles bool) error {
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
			return err
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

// openNamespaceFile opens a namespace file given on the command line and
// checks that it is one, of the right kind. O_NONBLOCK keeps a FIFO given
// by mistake from hanging the open.
func openNamespaceFile(path string, k Kind) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return -1, fmt.Errorf("cannot open %s (given to --%s): %w", path, k.Option(), err)
	}
	typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is not a namespace file (given to --%s): use a /proc/PID/ns/%s file or a bind mount of one", path, k.Option(), k)
	}
	if typ != k.cloneFlag() {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is a %s namespace, not a %s namespace (given to --%s)", path, kindOfFlag(typ).Description(), k.Description(), k.Option())
	}
	return fd, nil
}

func kindOfFlag(flag int) Kind {
	for _, k := range Kinds {
		if k.cloneFlag() == flag {
			return k
		}
	}
	return Kind("unknown")
}

// parentUserNamespace finds the parent of the user namespace to enter: of
// the one given as a file, else of the target's.
func parentUserNamespace(t *target, files map[Kind]source) (source, error) {
	base, label := -1, ""
	if src, ok := files[User]; ok {
		base, label = src.fd, src.label
	} else {
		if t == nil {
			return source{}, errors.New("--user-parent needs a target: give --target PID, or --user=FILE")
		}
		fd, err := unix.Openat(t.dir, "ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return source{}, t.openError("ns/user", err)
		}
		defer unix.Close(fd)
		base, label = fd, fmt.Sprintf("/proc/%d/ns/user", t.pid)
	}
	parent, err := unix.IoctlRetInt(base, unix.NS_GET_USERNS)
	if err != nil {
		return source{}, fmt.Errorf("--user-parent: cannot open the parent of the user namespace %s: %w", label, err)
	}
	return source{fd: parent, label: "parent of " + label}, nil
}

// pidfdSetnsWorks tells whether setns(2) takes a pidfd (Linux 5.8).
// CNSENTER_NO_PIDFD_SETNS=1 forces the /proc/PID/ns path, for tests.
func pidfdSetnsWorks() bool {
	if os.Getenv("CNSENTER_NO_PIDFD_SETNS") == "1" {
		return false
	}
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	major, minor := kernelVersion(unix.ByteSliceToString(u.Release[:]))
	return major > 5 || major == 5 && minor >= 8
}

func kernelVersion(release string) (major, minor int) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0
	}
	return leadingInt(parts[0]), leadingInt(parts[1])
}

// leadingInt reads the digits a string starts with ("8-rc1" is 8).
func leadingInt(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// kernelHas tells whether the running kernel has a namespace kind.
func kernelHas(k Kind) bool {
	_, err := os.Stat("/proc/self/ns/" + string(k))
	return !errors.Is(err, fs.ErrNotExist)
}

// memfd returns a memory file holding content, read from its start.
func memfd(name, content string) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return -1, err
	}
	for b := []byte(content); len(b) > 0; {
		n, err := unix.Write(fd, b)
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		b = b[n:]
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
