package enter

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

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
	if req.Files != nil {
		if t != nil || len(files) > 0 || anyTrue(want) {
			return fmt.Errorf("%s runs no process: it has no namespace to enter; leave out --target's PID and the namespace options", req.Files.What)
		}
		return p.filesTree(req, path)
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
