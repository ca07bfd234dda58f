package enter

import (
	"github.com/cnsenter/cnsenter/internal/procfs"

	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
	"golang.org/x/sys/unix"
)

// target is a process pinned by a pidfd, with its /proc directory.
type target struct {
	pid   int
	pidfd int // refers to this very process, whatever happens to its PID
	dir   int // /proc/PID, opened while the pidfd's process was alive
}

func pin(pid int) (*target, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("process %d does not exist: check the PID given to --target", pid)
		}
		return nil, fmt.Errorf("cannot pin process %d with pidfd_open (Linux 5.3 or later is needed): %w", pid, err)
	}
	dir, err := unix.Open(fmt.Sprintf("/proc/%d", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(pidfd)
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("process %d exited before it could be entered", pid)
		}
		return nil, fmt.Errorf("cannot open /proc/%d: %w", pid, err)
	}
	t := &target{pid: pid, pidfd: pidfd, dir: dir}
	// The directory is the pidfd's process only if that process was still
	// there after the directory was opened: a PID is not reused before its
	// process has exited and been reaped.
	if err := t.alive(); err != nil {
		unix.Close(dir)
		unix.Close(pidfd)
		return nil, err
	}
	return t, nil
}

// Process is a process pinned by a pidfd, for a caller that reads its
// /proc files before the entry (a container's root, its parent) and then
// enters it: Dir is /proc/PID, opened while the pidfd's process was alive,
// so every file opened below it is that process's or fails, never one of
// a process that took the PID over. Give it to Prepare as Request.Process.
type Process struct{ t *target }

// Monitor says how a rootless engine's container, which may have no
// cgroup of its own, is known by its monitor (see belongsTo); the zero
// Monitor, a root engine's container's, never is.
type Monitor struct {
	// UID is the engine's user, whom the monitor must run as; 0 for a
	// container no monitor may vouch for.
	UID int
	// PIDFile, when not "", holds the monitor's PID (Podman's
	// conmon.pid): the monitor must be that process.
	PIDFile string
}

// Pin pins a process. With a container's ID, the process must be that
// container's (see belongsTo): an init that exited after the engine named
// it, and whose PID was taken over, is refused here. m is the container's
// monitor when its engine is rootless (runtime.Container's RootlessUID and
// MonitorPIDFile), the zero Monitor otherwise.
func Pin(pid int, container, id string, m Monitor) (*Process, error) {
	t, err := pin(pid)
	if err != nil {
		return nil, err
	}
	if id != "" {
		if err := t.belongsTo(container, id, m); err != nil {
			t.close()
			return nil, err
		}
	}
	return &Process{t}, nil
}

// PID is the process's PID, as we see it.
func (p *Process) PID() int { return p.t.pid }

// Dir is /proc/PID of the process, for openat and its kin; the Process
// keeps it.
func (p *Process) Dir() int { return p.t.dir }

// Usable tells whether an entry would enter a kind of the process's, as
// --all does: the kernel must have it, and the caller's own user namespace
// is left out (see usable).
func (p *Process) Usable(k Kind) (bool, error) { return p.t.usable(k, false) }

// Close releases the pin.
func (p *Process) Close() { p.t.close() }

func (t *target) close() {
	unix.Close(t.dir)
	unix.Close(t.pidfd)
}

// copy is a target of our own holding the same process, for a plan.
func (t *target) copy() (*target, error) {
	pidfd, err := unix.FcntlInt(uintptr(t.pidfd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("cannot hold process %d: %w", t.pid, err)
	}
	dir, err := unix.FcntlInt(uintptr(t.dir), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		unix.Close(pidfd)
		return nil, fmt.Errorf("cannot hold process %d: %w", t.pid, err)
	}
	return &target{pid: t.pid, pidfd: pidfd, dir: dir}, nil
}

// pidfsMagic is pidfs's f_type (PIDFS_MAGIC, linux/magic.h). Before pidfs
// (Linux 6.9) every pidfd is the same anonymous inode: its number names no
// process.
const pidfsMagic = 0x50494446

// hasInode checks that the pinned process is the one whose pidfs inode is
// ino (-t PID:INODE): a PID reused by another process has another inode,
// which pidfs never gives twice while the machine runs. The check is made
// on the pidfd that pins the target, so it holds for the whole entry.
func (t *target) hasInode(ino uint64) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(t.pidfd, &fs); err != nil {
		return fmt.Errorf("cannot check the pidfs inode of process %d: %w", t.pid, err)
	}
	if fs.Type != pidfsMagic {
		return fmt.Errorf("--target %d:%d: this kernel has no pidfs (Linux 6.9 or later), so a process has no inode to check: give the PID alone", t.pid, ino)
	}
	var st unix.Stat_t
	if err := unix.Fstat(t.pidfd, &st); err != nil {
		return fmt.Errorf("cannot check the pidfs inode of process %d: %w", t.pid, err)
	}
	if st.Ino != ino {
		return fmt.Errorf("process %d is not the one given to --target: its pidfs inode is %d, not %d (the PID was reused, or the inode is wrong): look the process up again", t.pid, st.Ino, ino)
	}
	return nil
}

// alive fails once the pinned process has been reaped.
func (t *target) alive() error {
	err := unix.PidfdSendSignal(t.pidfd, 0, nil, 0)
	if err == nil || errors.Is(err, unix.EPERM) {
		return nil
	}
	if errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("process %d exited before it could be entered", t.pid)
	}
	return fmt.Errorf("cannot check that process %d is alive: %w", t.pid, err)
}

// openError explains a failure to open /proc/PID/name.
func (t *target) openError(name string, err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		if t.alive() != nil {
			return fmt.Errorf("process %d exited before it could be entered", t.pid)
		}
	}
	return fmt.Errorf("cannot open /proc/%d/%s: %w", t.pid, name, err)
}

// belongsTo checks that the pinned process is still the container's: its
// cgroups name the container's ID, as runc, Docker and containerd make them
// (/docker/ID, docker-ID.scope, /NAMESPACE/ID).
//
// A rootless container (Podman's, or rootless Docker's through
// rootlesskit) has no cgroup of its own on cgroup v1: its init is then the
// child of the container's monitor, conmon (-c ID on its command line) or
// containerd's shim (-id ID), running as the engine's user (m.UID), in a
// user namespace that user owns; the user namespace keeps a setuid program
// that user's monitor started from passing for it. Only a container its
// adapter marked rootless is known this way: a command line is anybody's
// to write, so for any other container a process of anybody's fake
// "conmon -c ID" that took over its init's PID would pass.
func (t *target) belongsTo(ref, id string, m Monitor) error {
	cgroups, err := readAllAt(t.dir, "cgroup")
	if err != nil || !cgroupsName(string(cgroups), id) && !t.monitorChild(id, m) {
		return fmt.Errorf("%s stopped while entering: process %d is no longer its init (start it again, or look with --list)", ref, t.pid)
	}
	return nil
}

// monitorChild tells whether the pinned process is the init of rootless
// container id, whose monitor m describes (see belongsTo).
func (t *target) monitorChild(id string, m Monitor) bool {
	if m.UID <= 0 {
		return false // root's engines give every container a cgroup
	}
	stat, err := readAllAt(t.dir, "stat")
	if err != nil {
		return false
	}
	ps, err := procfs.ParseStat(stat)
	ppid := ps.PPID
	if err != nil || ppid <= 1 {
		return false
	}
	if m.PIDFile != "" && monitorPID(m.PIDFile) != ppid {
		return false
	}
	parent := "/proc/" + strconv.Itoa(ppid)
	var st unix.Stat_t
	if err := unix.Stat(parent, &st); err != nil || int(st.Uid) != m.UID {
		return false
	}
	cmdline, err := os.ReadFile(parent + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(string(cmdline), "\x00")
	flags := map[string]bool{}
	switch monitor := filepath.Base(args[0]); {
	case monitor == "conmon":
		flags["-c"], flags["--cid"] = true, true
	case strings.HasPrefix(monitor, "containerd-shim"):
		flags["-id"] = true
	default:
		return false
	}
	named := false
	for j := 1; j+1 < len(args); j++ {
		named = named || flags[args[j]] && args[j+1] == id
	}
	if !named {
		return false
	}
	fd, err := unix.Openat(t.dir, "ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	owner, err := unix.IoctlGetUint32(fd, unix.NS_GET_OWNER_UID)
	if err != nil || owner != st.Uid {
		return false
	}
	up, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT) // the initial one has none
	if err != nil {
		return false
	}
	unix.Close(up)
	return true
}

// monitorPID is the PID a monitor's pid file holds, 0 when it holds none.
func monitorPID(file string) int {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// cgroupsName tells whether a /proc/PID/cgroup names a container's ID as
// the runtimes name their cgroups: a whole path element (/docker/ID,
// /NAMESPACE/ID), a systemd scope (docker-ID.scope, cri-containerd-ID.scope)
// or Podman's cgroupfs element (/libpod_parent/libpod-ID).
// A name within another (a containerd ID "web" in webserver.service) is
// not it. The forms the cgroup scan finds containers by (Podman's
// libpod-ID, CRI-O's crio-ID, LXC's lxc.payload.NAME, systemd-nspawn's
// escaped machine-NAME.scope) are read by internal/cgroupname, as the
// cgroup scan reads them, so that a container it found passes this check.
func cgroupsName(cgroups, id string) bool {
	if cgroupname.Names(cgroups, id) {
		return true
	}
	for _, line := range strings.Split(cgroups, "\n") {
		parts := strings.SplitN(line, ":", 3) // ID:CONTROLLERS:PATH
		if len(parts) != 3 {
			continue
		}
		for _, elem := range strings.Split(parts[2], "/") {
			if elem == id || elem == "libpod-"+id || strings.HasSuffix(elem, "-"+id+".scope") {
				return true
			}
		}
	}
	return false
}

// usable tells whether --all enters a kind: the kernel must have it, and the
// caller's own user namespace is skipped, since setns(2) refuses to re-enter
// it and entering it would hand back capabilities the caller dropped. A
// caller that is not root entering a container (shared: a container
// target) also skips every other namespace it shares with the container:
// re-entering one changes nothing, but the kernel refuses it without
// CAP_SYS_ADMIN over its owner, which a rootless container's user
// namespace does not give (the cgroup and time namespaces a rootless
// container shares with the host on cgroup v1). A PID keeps util-linux's
// ways, which enters them all and fails there.
func (t *target) usable(k Kind, shared bool) (bool, error) {
	if !kernelHas(k) {
		return false, nil
	}
	if k != User && (!shared || os.Geteuid() == 0) {
		return true, nil
	}
	var mine, theirs unix.Stat_t
	if err := unix.Stat("/proc/self/ns/"+string(k), &mine); err != nil {
		return false, fmt.Errorf("cannot read our own %s namespace: %w", k, err)
	}
	if err := unix.Fstatat(t.dir, "ns/"+string(k), &theirs, 0); err != nil {
		return false, t.openError("ns/"+string(k), err)
	}
	return mine.Ino != theirs.Ino || mine.Dev != theirs.Dev, nil
}

// socketNetns opens the network namespace of a socket the target holds.
func (t *target) socketNetns(sockfd int) (int, error) {
	sock, err := unix.PidfdGetfd(t.pidfd, sockfd, 0)
	if err != nil {
		return -1, fmt.Errorf("--net-socket: cannot get descriptor %d of process %d: %w", sockfd, t.pid, err)
	}
	defer unix.Close(sock)
	ns, err := unix.IoctlRetInt(sock, unix.SIOCGSKNS)
	if err != nil {
		return -1, fmt.Errorf("--net-socket: descriptor %d of process %d is not a socket with a network namespace: %w", sockfd, t.pid, err)
	}
	return ns, nil
}

// readAllAt reads a small file below a directory descriptor: errTooLarge
// past maxProcFile, rather than a part of it taken for the whole.
func readAllAt(dir int, name string) ([]byte, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProcFile+1))
	if err == nil && len(data) > maxProcFile {
		return nil, errTooLarge
	}
	return data, err
}
