package podman

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/runtime"
)

// Limits of what is read of a store's files: containers/storage's JSON,
// and a pidfile (a number).
const (
	jsonLimit = 64 << 20
	pidLimit  = 64
)

// openBase opens a store's root or run root, or a directory a service
// named, as the directory its files are looked up beneath. It must be a
// directory (an O_PATH open neither blocks on a FIFO nor opens a device)
// and, for a store of a user other than root, that user's.
func openBase(base string, uid int) (int, error) {
	fd, err := unix.Open(base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: base, Err: err}
	}
	if uid != 0 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, &os.PathError{Op: "stat", Path: base, Err: err}
		}
		if int(st.Uid) != uid {
			unix.Close(fd)
			return -1, fmt.Errorf("%s is uid %d's, not the store's owner's (uid %d)", base, st.Uid, uid)
		}
	}
	return fd, nil
}

// readBeneath reads file rel of the store (or service) owned by uid under
// base, within limit bytes. The store is its owner's word, and its owner
// may be any user whom a root caller reads: no link is followed on the
// way (base's own path excepted) nor out of base, the file is opened
// without blocking (a FIFO) and must be a regular file (not a device,
// whose open could act) owned by uid or root (any owner in root's own
// store), and no more than limit is
// read (not /dev/zero, nor a huge sparse file). The one way any file of a
// store is read.
func readBeneath(base, rel string, uid int, limit int64) ([]byte, error) {
	path := filepath.Join(base, rel)
	dir, err := openBase(base, uid)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s, or a directory on the way, is a symbolic link, which is not followed in a store", path)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if uid != 0 && int(st.Uid) != uid && st.Uid != 0 {
		return nil, fmt.Errorf("%s is uid %d's, not the store's owner's (uid %d)", path, st.Uid, uid)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// drivers are the storage drivers that have containers in a store (its
// DRIVER-containers directories, links not counted), read beneath its
// root as readBeneath reads a file. No root is no driver: Podman need
// not be installed.
func (st *store) drivers() ([]string, error) {
	dir, err := openBase(st.root, st.uid)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("Podman's store: %w", err)
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("Podman's store: %w", &os.PathError{Op: "open", Path: st.root, Err: err})
	}
	f := os.NewFile(uintptr(fd), st.root)
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("Podman's store: %w", err)
	}
	var list []string
	for _, e := range entries {
		if driver, ok := strings.CutSuffix(e.Name(), "-containers"); ok && driver != "" && e.IsDir() {
			list = append(list, driver)
		}
	}
	sort.Strings(list)
	return list, nil
}

// layerDirs are the directories of a store's overlay layers, by ID. Those
// of root's store are its paths. Another user's store is that user's
// word, and a layer's diff could be a link to /root: each is opened
// beneath the store's root with no link followed, must be a directory
// that user owns, and is named by its descriptor, /proc/self/fd/N, which
// whoever opens it later (the view, the evidence, in this process) finds
// the very directory checked, whatever the user renames since. The
// descriptors stay open for the process's life (close-on-exec): a
// session reads one container's files once.
func (st *store) layerDirs(ids []string) ([]string, error) {
	var dirs []string
	if st.uid == 0 {
		for _, id := range ids {
			dirs = append(dirs, filepath.Join(st.root, "overlay", id, "diff"))
		}
		return dirs, nil
	}
	root, err := openBase(st.root, st.uid)
	if err != nil {
		return nil, err
	}
	defer unix.Close(root)
	var fds []int
	fail := func(err error) ([]string, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	for _, id := range ids {
		rel := filepath.Join("overlay", id, "diff")
		fd, err := unix.Openat2(root, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS})
		if errors.Is(err, unix.ELOOP) {
			return fail(fmt.Errorf("layer %s: %s, or a directory on the way, is a symbolic link, which is not followed in uid %d's store", id, filepath.Join(st.root, rel), st.uid))
		}
		if err != nil {
			return fail(fmt.Errorf("layer %s: %w", id, &os.PathError{Op: "open", Path: filepath.Join(st.root, rel), Err: err}))
		}
		fds = append(fds, fd)
		var fi unix.Stat_t
		if err := unix.Fstat(fd, &fi); err != nil {
			return fail(fmt.Errorf("layer %s: %w", id, &os.PathError{Op: "stat", Path: filepath.Join(st.root, rel), Err: err}))
		}
		if int(fi.Uid) != st.uid {
			return fail(fmt.Errorf("layer %s: %s is uid %d's, not the store's owner's (uid %d)", id, filepath.Join(st.root, rel), fi.Uid, st.uid))
		}
		dirs = append(dirs, "/proc/self/fd/"+strconv.Itoa(fd))
	}
	return dirs, nil
}

// spec is where a container's OCI spec is taken from: root's file is
// named (SpecFile, which runtime/spec reads); a file of another user's
// store, or that user's service names, is read here as readBeneath reads
// it, and given as the spec itself (Spec), or not at all.
func spec(c *runtime.Container, file string, uid int) {
	if uid == 0 {
		c.SpecFile = file
		return
	}
	if data, err := readBeneath(filepath.Dir(file), filepath.Base(file), uid, jsonLimit); err == nil {
		c.Spec = data
	}
}
