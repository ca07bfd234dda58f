package enter

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// source is a namespace file to enter, with its name for messages.
type source struct {
	fd    int
	ref   string // the plan's ref for fd
	label string
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

func anyTrue(m map[Kind]bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
}
