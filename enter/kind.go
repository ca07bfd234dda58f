//go:build linux

package enter

import "golang.org/x/sys/unix"

// Kind is a namespace kind, named as in /proc/PID/ns.
type Kind string

// The kinds, in the order util-linux enters them (see stage2.c for why).
const (
	User   Kind = "user"
	Cgroup Kind = "cgroup"
	IPC    Kind = "ipc"
	UTS    Kind = "uts"
	Net    Kind = "net"
	PID    Kind = "pid"
	Mount  Kind = "mnt"
	Time   Kind = "time"
)

// Kinds lists every kind in entry order.
var Kinds = []Kind{User, Cgroup, IPC, UTS, Net, PID, Mount, Time}

// cloneFlag is the CLONE_NEW* constant setns(2) takes for a kind.
func (k Kind) cloneFlag() int {
	return map[Kind]int{
		User: unix.CLONE_NEWUSER, Cgroup: unix.CLONE_NEWCGROUP, IPC: unix.CLONE_NEWIPC,
		UTS: unix.CLONE_NEWUTS, Net: unix.CLONE_NEWNET, PID: unix.CLONE_NEWPID,
		Mount: unix.CLONE_NEWNS, Time: unix.CLONE_NEWTIME,
	}[k]
}

// Description is how messages name the kind ("mount namespace").
func (k Kind) Description() string {
	switch k {
	case Mount:
		return "mount"
	case Net:
		return "network"
	}
	return string(k)
}

// ParseKind accepts a kind's /proc name or the long option that enters it.
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "mount":
		return Mount, true
	case "network":
		return Net, true
	}
	for _, k := range Kinds {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// Option is the long option of nsenter that enters the kind.
func (k Kind) Option() string {
	switch k {
	case Mount:
		return "mount"
	}
	return string(k)
}
