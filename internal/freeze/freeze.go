// Package freeze freezes a container's cgroup for a session (--freeze),
// so that its files, processes and sockets stay as they are while they are
// read, and thaws it on every way out: the session's end, a signal, and
// our own death, through a watchdog process that outlives us for that
// alone.
//
// The cgroup is found from the container's init's /proc/PID/cgroup, read
// through its pidfd pin, in the host's cgroup mounts (our
// /proc/self/mountinfo): the v1 freezer hierarchy when the init is in a
// freezer cgroup of its own (hybrid machines, and what docker pause uses
// there), else cgroup v2's cgroup.freeze. Nothing the container names is
// taken as a path but the kernel's cgroup path below the host's mount, and
// that is opened without following links and checked to be a cgroup file.
package freeze

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
)

// Freezer holds a container's cgroup frozen.
type Freezer struct {
	file     *os.File // freezer.state (v1) or cgroup.freeze (v2), read and write
	events   *os.File // cgroup.events (v2): "frozen 1" once every task is frozen
	V2       bool
	Path     string // the file, for messages and the audit record
	Already  bool   // frozen by someone else before us: left as it is
	watchdog *exec.Cmd
	keep     *os.File // our end of the watchdog's pipe
	thawed   bool
}

// State is what the audit record and the evidence say of the freeze.
func (f *Freezer) State() string {
	if f == nil {
		return ""
	}
	if f.Already {
		return "already frozen"
	}
	return "frozen"
}

// thawValue and frozenValue are what the control file takes.
func (f *Freezer) values() (frozen, thawed string) {
	if f.V2 {
		return "1", "0"
	}
	return "FROZEN", "THAWED"
}

// Freeze freezes the cgroup of the process whose /proc/PID directory is
// procDir (pinned by the caller) and waits, up to timeout, until every
// task of it is frozen. A cgroup frozen already is left frozen and not
// thawed later (Already). The watchdog is started before the cgroup is
// frozen, so that there is no moment when our death would leave it so.
//
// id, when not empty, is the container's ID: when the init is in a cgroup
// below the one that names the container (a container with writable
// cgroups can make one and move its init there), the container's own is
// frozen, so that its other processes are too.
func Freeze(procDir, pid int, id string, timeout time.Duration) (*Freezer, error) {
	cgroups, err := readAt(procDir, "cgroup", 64<<10)
	if err != nil {
		return nil, fmt.Errorf("--freeze: cannot read the cgroups of process %d: %w", pid, err)
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("--freeze: cannot read our own cgroups: %w", err)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("--freeze: cannot read the mount table: %w", err)
	}
	c, err := find(containerCgroups(string(cgroups), id), string(own), string(mountinfo))
	if err != nil {
		return nil, fmt.Errorf("--freeze: process %d: %w", pid, err)
	}
	f, err := c.open()
	if err != nil {
		return nil, fmt.Errorf("--freeze: %w", err)
	}
	frozen, err := f.frozenBySomeone()
	if err != nil {
		f.close()
		return nil, err
	}
	if frozen {
		f.Already = true
		return f, nil
	}
	if err := f.startWatchdog(); err != nil {
		f.close()
		return nil, err
	}
	want, _ := f.values()
	if err := f.write(want); err != nil {
		f.Thaw()
		return nil, err
	}
	for deadline := time.Now().Add(timeout); ; time.Sleep(2 * time.Millisecond) {
		done, err := f.frozen()
		if err != nil {
			f.Thaw()
			return nil, err
		}
		if done {
			return f, nil
		}
		if time.Now().After(deadline) {
			f.Thaw()
			return nil, fmt.Errorf("--freeze: the processes of %s were not all frozen within %s (one in uninterruptible sleep?): thawed again; --timeout gives more time", path.Dir(f.Path), timeout)
		}
	}
}

// cgroup is where the process is frozen: the control file's path.
type cgroup struct {
	mount string // the hierarchy's mount point on the host
	rel   string // the cgroup below it
	v2    bool
}

// find chooses the hierarchy: the v1 freezer when the process is in a
// freezer cgroup other than the root, else v2 when it is in a cgroup
// other than the root. A cgroup that holds us (our own, or one above
// ours) is refused: we would freeze ourselves.
func find(procCgroup, ownCgroup, mountinfo string) (cgroup, error) {
	mounts := cgroupMounts(mountinfo)
	lines := func(table string) (v1freezer, v2 string, hasV1, hasV2 bool) {
		for _, line := range strings.Split(table, "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			switch {
			case parts[0] == "0" && parts[1] == "":
				v2, hasV2 = parts[2], true
			case slices.Contains(strings.Split(parts[1], ","), "freezer"):
				v1freezer, hasV1 = parts[2], true
			}
		}
		return
	}
	t1, t2, h1, h2 := lines(procCgroup)
	o1, o2, _, _ := lines(ownCgroup)
	try := func(v2 bool, cg, ours string) (cgroup, bool, error) {
		for _, m := range mounts {
			if m.v2 != v2 || !v2 && !slices.Contains(m.options, "freezer") {
				continue
			}
			rel, ok := below(cg, m.root)
			if !ok {
				continue
			}
			if rel == "/" {
				return cgroup{}, false, errors.New("it is in the root cgroup, which cannot be frozen alone: not a container")
			}
			if ours == cg || strings.HasPrefix(ours, cg+"/") {
				return cgroup{}, false, fmt.Errorf("its cgroup %s holds us too: freezing it would freeze this session", cg)
			}
			return cgroup{mount: m.point, rel: rel, v2: v2}, true, nil
		}
		return cgroup{}, false, nil
	}
	var firstErr error
	if h1 && t1 != "/" {
		c, ok, err := try(false, t1, o1)
		if ok {
			return c, nil
		}
		firstErr = err
	}
	if h2 {
		c, ok, err := try(true, t2, o2)
		if ok {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return cgroup{}, firstErr
	}
	return cgroup{}, errors.New("no freezer cgroup of it is mounted here (cgroup v1 freezer or v2)")
}

// containerCgroups cuts each path of a /proc/PID/cgroup after its first
// element that names the container's ID as the runtimes name their
// cgroups (/docker/ID, docker-ID.scope, libpod-ID, crio-ID,
// /NAMESPACE/ID), for IDs of 64 hex digits, which no other cgroup is
// named by; a path that names none is left as it is.
func containerCgroups(table, id string) string {
	if !cgroupname.IsID(id) {
		return table // a name of a runtime's own (containerd's) could be an ancestor's too
	}
	lines := strings.Split(table, "\n")
	for i, line := range lines {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		elems := strings.Split(parts[2], "/")
		for j, e := range elems {
			if e == id || e == "libpod-"+id || e == "crio-"+id || strings.HasSuffix(e, "-"+id+".scope") {
				parts[2] = strings.Join(elems[:j+1], "/")
				break
			}
		}
		lines[i] = strings.Join(parts, ":")
	}
	return strings.Join(lines, "\n")
}

type mount struct {
	root, point string
	v2          bool
	options     []string
}

// cgroupMounts keeps the cgroup mounts of a mountinfo table:
// "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPEROPTIONS".
func cgroupMounts(table string) []mount {
	var mounts []mount
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		fstype := fields[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		mounts = append(mounts, mount{root: unescape(fields[3]), point: unescape(fields[4]),
			v2: fstype == "cgroup2", options: strings.Split(fields[sep+3], ",")})
	}
	return mounts
}

// below returns p relative to root, if p is root or below it.
func below(p, root string) (string, bool) {
	switch {
	case root == "/":
		return p, true
	case p == root:
		return "/", true
	case strings.HasPrefix(p, root+"/"):
		return p[len(root):], true
	}
	return "", false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && s[i+2] >= '0' && s[i+2] <= '7' && s[i+3] >= '0' && s[i+3] <= '7' {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

const (
	cgroupMagic  = 0x27e0eb   // CGROUP_SUPER_MAGIC
	cgroup2Magic = 0x63677270 // CGROUP2_SUPER_MAGIC
)

// open opens the control file below the hierarchy's mount, following no
// link and leaving the mount, and checks that it is a cgroup file.
func (c cgroup) open() (*Freezer, error) {
	name := "freezer.state"
	if c.v2 {
		name = "cgroup.freeze"
	}
	mnt, err := unix.Open(c.mount, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open the cgroup mount %s: %w", c.mount, err)
	}
	defer unix.Close(mnt)
	how := &unix.OpenHow{Flags: unix.O_RDWR | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	openFile := func(name string) (*os.File, error) {
		rel := strings.TrimPrefix(path.Join(c.rel, name), "/")
		fd, err := unix.Openat2(mnt, rel, how)
		if err != nil {
			return nil, fmt.Errorf("cannot open %s: %w", path.Join(c.mount, rel), err)
		}
		var fs unix.Statfs_t
		if err := unix.Fstatfs(fd, &fs); err != nil || fs.Type != cgroupMagic && fs.Type != cgroup2Magic {
			unix.Close(fd)
			return nil, fmt.Errorf("%s is not a cgroup file", path.Join(c.mount, rel))
		}
		return os.NewFile(uintptr(fd), path.Join(c.mount, rel)), nil
	}
	file, err := openFile(name)
	if err != nil {
		return nil, err
	}
	f := &Freezer{file: file, V2: c.v2, Path: file.Name()}
	if c.v2 {
		how.Flags = unix.O_RDONLY | unix.O_CLOEXEC
		if f.events, err = openFile("cgroup.events"); err != nil {
			file.Close()
			return nil, err
		}
	}
	return f, nil
}

// frozen tells whether every task of the cgroup is frozen (v1: FROZEN;
// FREEZING is on the way, by us or by someone else; v2: cgroup.events'
// frozen, which an ancestor's freeze sets too).
func (f *Freezer) frozen() (bool, error) {
	if !f.V2 {
		state, err := pread(f.file)
		if err != nil {
			return false, fmt.Errorf("--freeze: cannot read %s: %w", f.Path, err)
		}
		return state == "FROZEN", nil
	}
	events, err := pread(f.events)
	if err != nil {
		return false, fmt.Errorf("--freeze: cannot read %s: %w", f.events.Name(), err)
	}
	for _, line := range strings.Split(events, "\n") {
		if line == "frozen 1" {
			return true, nil
		}
	}
	return false, nil
}

// frozenBySomeone tells, before we freeze, whether the cgroup is frozen or
// being frozen already: v1's FREEZING or FROZEN, v2's cgroup.freeze set or
// frozen through an ancestor.
func (f *Freezer) frozenBySomeone() (bool, error) {
	state, err := pread(f.file)
	if err != nil {
		return false, fmt.Errorf("--freeze: cannot read %s: %w", f.Path, err)
	}
	if !f.V2 {
		return state != "THAWED", nil
	}
	if state != "0" {
		return true, nil
	}
	return f.frozen()
}

func pread(f *os.File) (string, error) {
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(string(buf[:n])), nil
}

func (f *Freezer) write(value string) error {
	if _, err := f.file.WriteAt([]byte(value), 0); err != nil {
		return fmt.Errorf("--freeze: cannot write %s to %s: %w", value, f.Path, err)
	}
	return nil
}

func (f *Freezer) close() {
	f.file.Close()
	if f.events != nil {
		f.events.Close()
	}
}

// Thaw thaws the cgroup, unless someone else had frozen it, tells the
// watchdog it has nothing left to do and waits for it to exit. It can be
// called more than once.
func (f *Freezer) Thaw() error {
	if f == nil || f.thawed {
		return nil
	}
	f.thawed = true
	defer f.close()
	if f.Already {
		return nil
	}
	_, thawed := f.values()
	err := f.write(thawed)
	if f.keep != nil {
		if err == nil {
			f.keep.Write([]byte{keepByte})
		}
		f.keep.Close()
		f.watchdog.Wait()
	}
	return err
}

// The watchdog: our own program started again with watchdogEnv=1, the
// control file as descriptor 3 and the read end of a pipe as 4, whose
// write end only we hold (close-on-exec, so neither the entry nor the
// program has it). It reads the pipe: keepByte means we thawed the cgroup
// ourselves; end-of-file without it means we died (SIGKILL, a crash), and
// it thaws the cgroup. Then it exits. It is a host process in a session
// of its own, outside the container's namespaces and cgroups (it is
// started in ours, before the freeze), so nothing in the container can
// see or signal it; it ignores the signals a terminal or a session's end
// sends, and holds no file but those two.
const (
	watchdogEnv = "CNSENTER_THAW_WATCHDOG"
	keepByte    = 'k'
)

func (f *Freezer) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("--freeze: cannot start the thawing watchdog: %w", err)
	}
	_, thawed := f.values()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{"cnsenter-thaw-watchdog", thawed},
		Env:         []string{watchdogEnv + "=1"},
		Dir:         "/",
		ExtraFiles:  []*os.File{f.file, r}, // 3, 4
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("--freeze: cannot start the thawing watchdog: %w", err)
	}
	f.watchdog, f.keep = cmd, w
	return nil
}

// Watchdog is called first in a command that can freeze: started as the
// watchdog, it waits for its parent's end and thaws the cgroup unless told
// it was done (see startWatchdog); it never returns.
func Watchdog() {
	if os.Getenv(watchdogEnv) != "1" {
		return
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	if len(os.Args) != 2 || os.Args[1] != "THAWED" && os.Args[1] != "0" {
		os.Exit(2)
	}
	control, pipe := os.NewFile(3, "control"), os.NewFile(4, "pipe")
	var b [1]byte
	for {
		n, err := pipe.Read(b[:])
		if n == 1 && b[0] == keepByte {
			os.Exit(0)
		}
		if err != nil {
			break // EOF: our parent is gone without thawing
		}
	}
	for i := 0; i < 100; i++ { // EBUSY-like failures of a cgroup being changed: retry
		if _, err := control.WriteAt([]byte(os.Args[1]), 0); err == nil || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.Exit(0)
}

// readAt reads a small file below a directory descriptor, up to limit.
func readAt(dir int, name string, limit int64) ([]byte, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var b bytes.Buffer
	_, err = io.Copy(&b, io.LimitReader(f, limit))
	return b.Bytes(), err
}
