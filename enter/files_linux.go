package enter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/cnsenter/cnsenter/internal/printable"
	"golang.org/x/sys/unix"
)

// Files is what a session shows of a container that runs no process
// (created, exited, dead) or of an image: there is no namespace to join, so
// the session is the host's, in a private mount namespace, with these
// files read-only at the container root (host tools' $CONTAINER_ROOT).
// The runtime adapters read them from the engine's state (runtime.Files).
type Files struct {
	// What names them in messages: "docker://web (exited)", "image busybox".
	What string
	// Layers are directories, topmost first (a container's writable layer,
	// then its image's), stacked by a read-only overlay: every one a lower
	// layer, so that nothing is written to any of them and no work
	// directory is needed.
	Layers []string
	// Mounts are the container's volumes and bind mounts, parents before
	// what is mounted within them.
	Mounts []FileMount
}

// FileMount is a host directory or file shown at a place in the view.
type FileMount struct {
	Source      string // on the host
	Destination string // absolute, in the container
}

// FilesBanner is the line a session of Files starts with: what it shows is
// not a live container.
func FilesBanner(name string, f *Files, root string) string {
	root = containerRoot(Request{ContainerRoot: root})
	return fmt.Sprintf("%s: %s runs no process: its files as they were left, read-only at %s ($CONTAINER_ROOT), in the host's namespaces, not a live container", name, f.What, root)
}

// filesTree builds the view of req.Files and adds it to the plan as host
// tools' tree (hosttools=MNT:ROOT:PATH): stage 2 copies it into the
// session's private mount namespace exactly as it copies a running
// container's, and sets the same attributes. The tree is built here, in a
// mount namespace of its own that only one thread of ours ever enters: no
// mount is made in the host's, the engine's directories are only read (a
// read-only overlay of lower layers), and the plan's descriptor of that
// namespace is all that keeps it; it goes when stage 2 closes it at the
// exec, the session's copy when the session's namespace dies, however the
// session ends.
func (p *Plan) filesTree(req *Request, path string) error {
	if len(req.Files.Layers) == 0 {
		return fmt.Errorf("%s: no layer to show", req.Files.What)
	}
	type result struct {
		mnt, root int
		notes     []string
		err       error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread's mount namespace is not the
		// process's, and a goroutine that ends locked ends its thread.
		goruntime.LockOSThread()
		var r result
		r.mnt, r.root, r.notes, r.err = buildFiles(req.Files, path)
		done <- r
	}()
	r := <-done
	if r.err != nil {
		return r.err
	}
	// Always, once the view is there: what the session shows is not a
	// live container. Then what of it could not be shown.
	fmt.Fprintln(os.Stderr, printable.String(FilesBanner(req.name(), req.Files, req.ContainerRoot)))
	for _, n := range r.notes {
		fmt.Fprintf(os.Stderr, "%s: %s\n", req.name(), printable.String(n))
	}
	p.add("hosttools=%s:%s:%s", p.ref(r.mnt), p.ref(r.root), path)
	// Its links would resolve in the host's tree: none is followed.
	p.add("nosymfollow")
	if req.ReadOnly {
		p.add("readonly")
	}
	return nil
}

// buildFiles runs on a locked thread, which it moves to a private mount
// namespace, where it mounts the layers at path and the volumes within,
// all read-only; it returns that namespace and the view's root.
func buildFiles(f *Files, path string) (mnt, root int, notes []string, err error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return -1, -1, nil, fmt.Errorf("cannot make a mount namespace for %s: %w", f.What, err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return -1, -1, nil, fmt.Errorf("cannot make a mount namespace for %s private: %w", f.What, err)
	}
	if err := mountLayers(f, path); err != nil {
		return -1, -1, nil, err
	}
	root, err = unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, nil, fmt.Errorf("cannot open the view of %s: %w", f.What, err)
	}
	for _, m := range f.Mounts {
		if note := bindInto(root, m); note != "" {
			notes = append(notes, fmt.Sprintf("%s: %s not shown: %s", f.What, m.Destination, note))
		}
	}
	// Read-only, whatever the mounts were; no device, no set-user-ID, no
	// link followed (stage 2 says so again on its copy).
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSYMFOLLOW}
	if err := unix.MountSetattr(root, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		unix.Close(root)
		return -1, -1, nil, fmt.Errorf("cannot make the view of %s read-only (Linux 5.14 or later is needed): %w", f.What, err)
	}
	mnt, err = unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(root)
		return -1, -1, nil, fmt.Errorf("cannot hold the mount namespace of %s: %w", f.What, err)
	}
	return mnt, root, notes, nil
}

// mountLayers mounts the layers at path: one is bound, several are the
// lower layers of an overlay with no upper one, which writes nothing. Each
// is opened first and named to the kernel as /proc/thread-self/fd/N: the
// overlay's options hold no path of the engine's (whose characters could
// be the options' separators), and stay short whatever the layer count.
func mountLayers(f *Files, path string) error {
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	var lower []string
	for _, l := range f.Layers {
		if !filepath.IsAbs(l) || filepath.Clean(l) != l {
			return fmt.Errorf("%s: layer %q is not a clean absolute path", f.What, l)
		}
		fd, err := openLayer(l)
		if err != nil {
			return fmt.Errorf("%s: cannot open its layer %s: %w", f.What, l, err)
		}
		fds = append(fds, fd)
		lower = append(lower, "/proc/thread-self/fd/"+strconv.Itoa(fd))
	}
	if len(lower) == 1 {
		// overlayfs wants two lower layers when it has no upper one.
		if err := unix.Mount(lower[0], path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("%s: cannot mount its layer %s at %s: %w", f.What, f.Layers[0], path, err)
		}
		return nil
	}
	if err := unix.Mount("overlay", path, "overlay", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "lowerdir="+strings.Join(lower, ":")); err != nil {
		return fmt.Errorf("%s: cannot mount its %d layers (a read-only overlay) at %s: %w", f.What, len(lower), path, err)
	}
	return nil
}

// openLayer opens a layer in this thread's mount namespace. A layer the
// adapter already opened and checked (another user's store, whose path
// could turn into a link at any time) is named /proc/self/fd/N: that
// descriptor is a mount of the host's namespace, which the kernel will
// not take as a lower layer here, so the path it was opened at is opened
// again here and must be the very directory (device and inode) checked.
func openLayer(l string) (int, error) {
	if !strings.HasPrefix(l, "/proc/self/fd/") {
		return unix.Open(l, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	var want, got unix.Stat_t
	if err := unix.Stat(l, &want); err != nil {
		return -1, err
	}
	path, err := os.Readlink(l)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Fstat(fd, &got); err != nil || got.Dev != want.Dev || got.Ino != want.Ino {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is no longer the directory that was checked", path)
	}
	return fd, nil
}

// bindInto mounts a volume at its place in the view, or says why not. The
// place is looked up in the container's files, which are the attacker's: a
// mount point that is a link (to /etc, say) would put the volume over a
// host directory, so no link is followed on the way (RESOLVE_NO_SYMLINKS),
// nor ".." out of the view (RESOLVE_IN_ROOT); the mount is then made on the
// directory or file found, by its descriptor, with no second lookup.
func bindInto(root int, m FileMount) string {
	dest := strings.TrimLeft(filepath.Clean("/"+m.Destination), "/")
	if dest == "" {
		return "a mount over the whole root"
	}
	if !filepath.IsAbs(m.Source) {
		return fmt.Sprintf("its source %q is not an absolute path", m.Source)
	}
	at, err := unix.Openat2(root, dest, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS})
	switch {
	case errors.Is(err, unix.ELOOP):
		return "its mount point, or a directory on the way, is a symbolic link in the container's files, which is not followed"
	case errors.Is(err, unix.ENOENT):
		return "its mount point does not exist in the container's files (it never started)"
	case err != nil:
		return fmt.Sprintf("cannot open its mount point: %v", err)
	}
	defer unix.Close(at)
	// The source is the host's, named by the engine as the host's
	// administrator gave it, and resolved as the engine resolved it: an
	// adapter passes no bind mount named by a user's store (Podman's
	// rootless ones), whose sources would be that user's word.
	tree, err := unix.OpenTree(unix.AT_FDCWD, m.Source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Sprintf("cannot open its source %s: %v", m.Source, err)
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", at, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Sprintf("cannot mount %s there: %v", m.Source, err)
	}
	return ""
}

// name is our name in messages.
func (req *Request) name() string {
	if req.Name == "" {
		return "cnsenter"
	}
	return req.Name
}
