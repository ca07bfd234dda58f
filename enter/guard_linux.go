package enter

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A program in a container's PID namespace is visible to the container's
// processes, and the kernel lets one of them open its /proc/PID files
// (root, cwd, fd/*, environ, mem, map_files, exe) and ptrace it when it
// passes the ptrace access check (ptrace(2), "Ptrace access mode
// checking"): the same uid (which a container's root can take) and a
// superset of the program's permitted capabilities, or CAP_SYS_PTRACE.
// What such a program holds of the host is then the container's: the
// host's root and working directory (its files, writable), our
// environment. guard refuses those sessions before anything is entered.
// Stage 2 itself is undumpable until it execs (stage2.c, run), which
// covers its own descriptors.

// capSysPtrace is CAP_SYS_PTRACE's bit.
const capSysPtrace = 1 << 19

// programFromHost tells whether the program's files, its binary among
// them, are ours rather than the target's: host-tools mode, the mount
// namespace not entered or the same as ours, --root given a directory of
// ours or the target's root being ours. The target's environment can only
// make such a program load or run what the target chose.
func programFromHost(req Request, t *target, want map[Kind]bool, files map[Kind]source) bool {
	if req.Root.Set {
		return req.Root.Path != "" || t == nil || sameFile(t.dir, "root", "/")
	}
	if !want[Mount] {
		return true
	}
	if src, ok := files[Mount]; ok {
		return sameFile(src.fd, "", "/proc/self/ns/mnt")
	}
	return t == nil || sameFile(t.dir, "ns/mnt", "/proc/self/ns/mnt")
}

// sameFile tells whether dir/name (dir itself for "") is ours; when it
// cannot tell, it says yes, the careful answer.
func sameFile(dir int, name, ours string) bool {
	var a, b unix.Stat_t
	flags := 0
	if name == "" {
		flags = unix.AT_EMPTY_PATH
	}
	if unix.Fstatat(dir, name, &a, flags) != nil || unix.Stat(ours, &b) != nil {
		return true
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// guard refuses a session of a container whose processes could reach the
// program's /proc files while it holds something of the host. A PID
// target keeps util-linux's ways: only containers are guarded.
func guard(req Request, t *target, want map[Kind]bool, files map[Kind]source, hostFiles bool) error {
	if t == nil || req.ContainerID == "" || !want[PID] {
		return nil
	}
	if _, ok := files[PID]; ok {
		return nil // another PID namespace than the container's
	}
	var held []string
	if hostFiles {
		held = append(held, "the host's files (its root)")
	}
	if req.WorkDir.Set && req.WorkDir.Path != "" {
		held = append(held, "a host directory as working directory")
	}
	// Ours, unless --env: none given, or host tools' (ours, with -e's).
	if !req.Env && (req.Environ == nil || req.HostTools) {
		held = append(held, "our environment")
	}
	if len(held) == 0 {
		return nil
	}
	reachable, why, err := reachable(req, t, want)
	if err != nil || !reachable {
		return err
	}
	hint := req.GuardHint
	if hint == "" {
		hint = "run the program as root with every capability, or leave the PID namespace out"
	}
	return fmt.Errorf("refusing to enter %s: the program would hold %s in the container's PID namespace, %s, so the container's processes could open its /proc/PID files: %s",
		req.Container, strings.Join(held, " and "), why, hint)
}

// ContainerLimits is what a container's processes can ever hold, as its
// OCI spec made them: none of them can raise its bounding set or leave the
// spec's user namespace. Its init cannot be asked instead: it can lower its
// own bounding set, or enter a user namespace of its own, and look
// harmless while its other processes are not.
type ContainerLimits struct {
	// Bounding is the capabilities' bounding set (names); nil when the
	// spec gives none, which a runtime reads as ours.
	Bounding []string
	// OwnUserNamespace: the container's processes are in a user namespace
	// of their own.
	OwnUserNamespace bool
}

// reachable tells whether a process of the container can pass the ptrace
// access check against the program, and in what words. What the
// container's processes may hold comes from its spec (Request.Limits);
// without it, the worst: our own capabilities, in our user namespace.
func reachable(req Request, t *target, want map[Kind]bool) (bool, string, error) {
	var limits ContainerLimits
	if req.Limits != nil {
		var err error
		if limits, err = req.Limits(); err != nil {
			return false, "", fmt.Errorf("cannot tell what the processes of %s may do (its OCI spec): %w", req.Container, err)
		}
	}
	if limits.OwnUserNamespace && !want[User] {
		// Not entered: they would need CAP_SYS_PTRACE in ours.
		return false, "", nil
	}
	theirs, err := ownCapabilities("CapBnd")
	if err != nil {
		return false, "", err
	}
	if limits.Bounding != nil {
		theirs = capabilityMask(limits.Bounding)
	}
	if theirs&capSysPtrace != 0 {
		return true, "where the container may have CAP_SYS_PTRACE", nil
	}
	uid, ours, err := t.programCredentials(req, want)
	if err != nil {
		return false, "", err
	}
	if ours&^theirs != 0 {
		return false, "", nil
	}
	if ours == 0 {
		return true, fmt.Sprintf("as uid %d without capabilities", uid), nil
	}
	return true, fmt.Sprintf("as uid %d with no capability beyond the container's", uid), nil
}

// programCredentials tells the uid the program runs as and the permitted
// capabilities it will have after its exec: for root, its bounding set
// (ours, or the container's when confined) with what it inherits; for any
// other uid, its ambient set only, no file capabilities counted.
func (t *target) programCredentials(req Request, want map[Kind]bool) (uint32, uint64, error) {
	uid := uint32(unix.Getuid())
	switch {
	case req.UID.Follow:
		var st unix.Stat_t
		if err := unix.Fstat(t.dir, &st); err != nil {
			return 0, 0, t.openError("", err)
		}
		uid = st.Uid
	case req.UID.Set:
		uid = req.UID.Value
	case want[User] && !req.PreserveCredentials:
		uid = 0
	}
	if c := req.Confine; c != nil && c.Capabilities != nil {
		caps := capabilityMask(c.Capabilities.Ambient)
		if uid == 0 {
			caps |= capabilityMask(c.Capabilities.Bounding) | capabilityMask(c.Capabilities.Inheritable)
		}
		return uid, caps, nil
	}
	if uid != 0 && !req.KeepCaps {
		return uid, 0, nil
	}
	self, err := ownCapabilities("CapBnd")
	return uid, self, err
}

func ownCapabilities(set string) (uint64, error) {
	status, err := readAllAt(unix.AT_FDCWD, "/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("cannot read our own capabilities: %w", err)
	}
	return capabilityField(string(status), set)
}

func capabilityField(status, set string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, set+":"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no %s in a /proc status file", set)
}
