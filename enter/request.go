package enter

import (
	"fmt"
	"os"
)

// Request is one entry, described as nsenter's options describe it.
type Request struct {
	Name   string // our name in messages; "cnsenter" when empty
	Target int    // the target PID; 0 when there is none
	// TargetInode, when not 0, is the target's pidfs inode (-t PID:INODE,
	// as util-linux 2.42): the process holding the PID must be that one.
	TargetInode uint64
	// Process, when set, is the target, already pinned by the caller
	// (Target is then its PID); Prepare holds copies of its descriptors.
	Process *Process
	// Container, when the target was named as a container: its reference,
	// for messages, and its ID, which the pinned process's cgroups must
	// name, so that an init that exited and whose PID was taken over after
	// the engine answered is never entered.
	Container   string
	ContainerID string
	Namespaces  map[Kind]string // kinds to enter: a namespace file, or "" for the target's
	All         bool            // every namespace of the target (-a)
	NetSocket   *int            // enter the network namespace of this socket of the target (-N)
	UserParent  bool            // enter the parent of the user namespace (--user-parent)

	UID, GID            ID
	Groups              []uint32 // supplementary groups when GID is set; none when empty
	PreserveCredentials bool
	KeepCaps            bool

	Root        Dir    // -r: change root; Path "" is the target's root
	WorkDir     Dir    // -w: working directory opened before entering
	WorkDirInNS string // -W: working directory resolved after entering

	Env           bool     // the target's environment instead of ours (-e)
	Environ       []string // exactly this environment ("KEY=VALUE"), when not nil
	NoFork        bool     // never fork, even for a PID namespace (-F)
	JoinCgroup    bool     // join the target's cgroups (-c)
	FollowContext bool     // the target's SELinux context (-Z)

	// Host-tools mode: every namespace asked for but mount, in a private
	// mount namespace that is the host's, with the container's whole tree at
	// ContainerRoot (given to the program as $CONTAINER_ROOT) and a /proc of
	// the container's PID namespace.
	HostTools     bool
	ContainerRoot string // DefaultContainerRoot when empty
	ReadOnly      bool   // the container's files are read-only for this session
	// NoSymFollow: no link in the host-tools view is followed (an absolute
	// link in it resolves in the host's tree). ReadOnly implies it there.
	NoSymFollow bool

	Program []string // argv of the program; empty runs $SHELL, else /bin/sh
	// NotFoundHint ends the message when the program does not exist.
	NotFoundHint string
	// Limits, for a container, says what its processes can ever hold,
	// from its OCI spec; the guard asks only when a session would hold
	// something of the host in the container's PID namespace. Unset, the
	// guard assumes the worst: every capability of ours, and our user
	// namespace.
	Limits func() (ContainerLimits, error)
	// GuardHint ends the message that refuses a session the container's
	// processes could reach while it holds something of the host (see
	// guard): what to do instead, in the command's own options.
	GuardHint string
	// Confine, when set, applies the container's own process security.
	Confine *Confinement

	// Audit, when set, appends a JSON record to a log when the session
	// starts and one when it ends.
	Audit *Audit

	// OnlyStdio: the program starts with descriptors 0, 1 and 2 only, as
	// docker exec's; nsenter passes the caller's others on.
	OnlyStdio bool

	// StatusForSignal: when the program dies of signal N, the entry exits
	// 128+N, as docker exec does, instead of dying of the same signal as
	// nsenter does. The entry then always forks, to be there to say so.
	StatusForSignal bool
	// IgnoredSignals are the signals the program starts with ignored, bit
	// N-1 for signal N: nsenter passes the dispositions it was started with
	// on, but a Go program cannot see them (see cmd/cnsenter).
	IgnoredSignals uint64
	// Cancel, when set, is a socket that reads end-of-file when the session
	// is cancelled (the docker CLI's plugin socket): the program then gets
	// SIGTERM. Prepare takes a copy.
	Cancel *os.File
}

// DefaultContainerRoot is where host-tools mode mounts the container's root:
// the FHS place for a temporarily mounted filesystem, which every host has.
// Only the session sees the mount.
const DefaultContainerRoot = "/mnt"

// containerRoot is where host-tools mode mounts the container's tree.
func containerRoot(req Request) string {
	if req.ContainerRoot == "" {
		return DefaultContainerRoot
	}
	return req.ContainerRoot
}

// ID is a uid or gid choice: a number, or the target's own ("follow").
type ID struct {
	Set    bool
	Follow bool
	Value  uint32
}

// Dir is a directory choice; an empty Path means the target's.
type Dir struct {
	Set  bool
	Path string
}

// Audit describes a session for its audit records.
type Audit struct {
	Path        string // the log, appended to
	Target      string // the reference given: a PID, docker://web, ...
	Runtime     string // "docker", "containerd"; empty for a PID
	ContainerID string
	// Freeze is what --freeze did: "frozen", "already frozen" (by someone
	// else: left so), or empty.
	Freeze string
}

// HostToolsBanner is the line an interactive host-tools session starts with.
func HostToolsBanner(name, target, root string) string {
	root = containerRoot(Request{ContainerRoot: root})
	return fmt.Sprintf("%s: host tools in %s: the host's files and tools, the container's root at %s ($CONTAINER_ROOT), its processes in /proc", name, target, root)
}
