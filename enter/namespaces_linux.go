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

// namespaces chooses the namespaces to enter (want) and the files that
// stand for them (files): files given on the command line, --all,
// --net-socket, --user-parent, the mount modes (which may take the mount
// namespace out), then the target's own, through its pidfd when setns takes
// one, else its /proc/PID/ns files. It adds the pidfd= and ns= entries.
func (p *Plan) namespaces(req *Request, t *target, pidfdRef string, needTarget func(string) error) (map[Kind]bool, map[Kind]source, error) {
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
		open := openNamespaceFile
		if path[0] == ':' { // :NSID, as util-linux 2.42; a file named so is ./:NAME
			open = func(path string, k Kind) (int, error) { return openNamespaceByID(path[1:], k) }
		}
		fd, err := open(path, k)
		if err != nil {
			return nil, nil, err
		}
		files[k] = source{fd, p.ref(fd), path}
	}
	if req.All {
		if err := needTarget("--all"); err != nil {
			return nil, nil, err
		}
		for _, k := range Kinds {
			if want[k] {
				continue
			}
			usable, err := t.usable(k, req.Container != "")
			if err != nil {
				return nil, nil, err
			}
			want[k] = usable
		}
	}
	if req.NetSocket != nil {
		if err := needTarget("--net-socket"); err != nil {
			return nil, nil, err
		}
		fd, err := t.socketNetns(*req.NetSocket)
		if err != nil {
			return nil, nil, err
		}
		want[Net] = true
		files[Net] = source{fd, p.ref(fd), fmt.Sprintf("of socket %d of process %d", *req.NetSocket, t.pid)}
	}
	if req.UserParent {
		src, err := parentUserNamespace(t, files)
		if err != nil {
			return nil, nil, err
		}
		src.ref = p.ref(src.fd)
		want[User] = true
		files[User] = src
	}

	if req.HostTools || req.ReadOnly || req.NoSymFollow {
		if err := p.mountModes(req, t, want, files); err != nil {
			return nil, nil, err
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
			return nil, nil, fmt.Errorf("--%s needs a target: give --target PID, or a namespace file as --%s=FILE", k.Option(), k.Option())
		}
		if viaPidfd {
			mask |= k.cloneFlag()
			continue
		}
		fd, err := unix.Openat(t.dir, "ns/"+string(k), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, nil, t.openError("ns/"+string(k), err)
		}
		files[k] = source{fd, p.ref(fd), fmt.Sprintf("/proc/%d/ns/%s", t.pid, k)}
	}
	if !anyTrue(want) {
		return nil, nil, errors.New("no namespace to enter: name at least one (-m -u -i -n -p -C -U -T) or use --all with --target")
	}
	if mask != 0 {
		p.add("pidfd=%s:%d", pidfdRef, mask)
	}
	for _, k := range Kinds {
		if src, ok := files[k]; ok {
			p.add("ns=%s:%s:%s", src.ref, k, src.label)
		}
	}
	return want, files, nil
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
