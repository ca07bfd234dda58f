package enter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// A namespace given by its ID (--net=:NSID, util-linux 2.42) is opened with
// open_by_handle_at(2) and an nsfs file handle the kernel lets userspace
// build by hand (include/uapi/linux/nsfs.h, fs/nsfs.c): handle type
// FILEID_NSFS, then struct nsfs_file_handle {u64 ns_id; u32 ns_type; u32
// ns_inum}, with type and inode 0 for "any" (both or neither). The kernel
// checks that the caller may see the namespace (it is in it, or privileged
// over its owning user namespace), as for /proc/PID/ns. An ID is the one
// NS_GET_ID and lsns show. Linux 6.18 has these handles but opens only
// those it made itself (with the inode): one built from an ID alone is
// stale there; 6.19 looks the ID up.
const (
	fileidNSFS = 0xf1   // FILEID_NSFS, include/linux/exportfs.h
	fdNSFSRoot = -10003 // FD_NSFS_ROOT, include/uapi/linux/fcntl.h: the nsfs mount
)

// nsidKernel is the first kernel that opens a namespace by its ID alone.
const nsidKernelMajor, nsidKernelMinor = 6, 19

// nsfsHandle is the file handle of the namespace with this ID.
func nsfsHandle(id uint64) unix.FileHandle {
	b := make([]byte, 16) // nsfs_file_handle; ns_type and ns_inum 0
	binary.NativeEndian.PutUint64(b, id)
	return unix.NewFileHandle(fileidNSFS, b)
}

// parseNSID reads the ID of :NSID, a decimal number above 0.
func parseNSID(text string, k Kind) (uint64, error) {
	id, err := strconv.ParseUint(text, 10, 64)
	if err != nil || id == 0 || text[0] == '+' {
		return 0, fmt.Errorf("--%s=:%s: '%s' is not a namespace ID (a number above 0, as lsns shows it); a file whose name starts with ':' is given as ./:NAME", k.Option(), text, text)
	}
	return id, nil
}

// openNamespaceByID opens the namespace of kind k with this ID (":ID" given
// to --k). On a kernel before 6.19 it says so instead of trying.
func openNamespaceByID(text string, k Kind) (int, error) {
	id, err := parseNSID(text, k)
	if err != nil {
		return -1, err
	}
	if release, ok := kernelBefore(nsidKernelMajor, nsidKernelMinor); ok {
		return -1, fmt.Errorf("--%s=:%d: a namespace given by its ID needs Linux %d.%d or later (namespace file handles); this is Linux %s: give a namespace file or --target", k.Option(), id, nsidKernelMajor, nsidKernelMinor, release)
	}
	fd, err := unix.OpenByHandleAt(fdNSFSRoot, nsfsHandle(id), unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.ESTALE) || errors.Is(err, unix.ENOENT) {
			return -1, fmt.Errorf("--%s=:%d: no namespace has ID %d (or none that is still in use): look it up with lsns", k.Option(), id, id)
		}
		return -1, fmt.Errorf("--%s=:%d: cannot open namespace %d: %w", k.Option(), id, id, err)
	}
	typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("--%s=:%d: cannot tell the kind of namespace %d: %w", k.Option(), id, id, err)
	}
	if typ != k.cloneFlag() {
		unix.Close(fd)
		return -1, fmt.Errorf("namespace %d is a %s namespace, not a %s namespace (given to --%s)", id, kindOfFlag(typ).Description(), k.Description(), k.Option())
	}
	return fd, nil
}

// kernelBefore tells whether the running kernel is older than major.minor,
// and gives its release.
func kernelBefore(major, minor int) (string, bool) {
	release := ""
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		release = unix.ByteSliceToString(u.Release[:])
	}
	maj, min := kernelVersion(release)
	return release, maj < major || maj == major && min < minor
}
