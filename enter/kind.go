//go:build linux

package enter

import "golang.org/x/sys/unix"

// Kind is a namespace kind, named as in /proc/PID/ns.
type Kind string

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

type kindInfo struct {
	kind        Kind
	flag        int    // the CLONE_NEW* constant setns(2) takes
	letter      byte   // nsenter's short option
	option      string // and its long one
	description string // how messages name it ("the network namespace")
}

// kinds is everything known of each kind, in the order util-linux enters
// them: user first, for the two passes of stage 2 (stage2.c, run); mnt
// late, since entering it resets the root and the working directory that
// later steps start from. Stage 2 gets the same table (contract.go).
var kinds = []kindInfo{
	{User, unix.CLONE_NEWUSER, 'U', "user", "user"},
	{Cgroup, unix.CLONE_NEWCGROUP, 'C', "cgroup", "cgroup"},
	{IPC, unix.CLONE_NEWIPC, 'i', "ipc", "ipc"},
	{UTS, unix.CLONE_NEWUTS, 'u', "uts", "uts"},
	{Net, unix.CLONE_NEWNET, 'n', "net", "network"},
	{PID, unix.CLONE_NEWPID, 'p', "pid", "pid"},
	{Mount, unix.CLONE_NEWNS, 'm', "mount", "mount"},
	{Time, unix.CLONE_NEWTIME, 'T', "time", "time"},
}

// Kinds lists every kind in entry order.
var Kinds = func() []Kind {
	var list []Kind
	for _, k := range kinds {
		list = append(list, k.kind)
	}
	return list
}()

// row is the kind's row of the table; an unknown kind has an empty one.
func (k Kind) row() kindInfo {
	for _, r := range kinds {
		if r.kind == k {
			return r
		}
	}
	return kindInfo{}
}

// cloneFlag is the CLONE_NEW* constant setns(2) takes for a kind.
func (k Kind) cloneFlag() int { return k.row().flag }

// Description is how messages name the kind ("mount namespace").
func (k Kind) Description() string { return k.row().description }

// Option is the long option of nsenter that enters the kind.
func (k Kind) Option() string { return k.row().option }

// ParseKind accepts a kind's /proc name, the long option that enters it or
// the word messages use ("network").
func ParseKind(s string) (Kind, bool) {
	for _, r := range kinds {
		if string(r.kind) == s || r.option == s || r.description == s {
			return r.kind, true
		}
	}
	return "", false
}

// KindOfOption gives the kind nsenter's short option enters (-n: net).
func KindOfOption(letter byte) (Kind, bool) {
	for _, r := range kinds {
		if r.letter == letter {
			return r.kind, true
		}
	}
	return "", false
}
