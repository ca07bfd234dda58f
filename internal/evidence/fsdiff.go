package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	"github.com/cnsenter/cnsenter/internal/printable"
	"golang.org/x/sys/unix"
)

// Change is one entry of a writable layer against its image.
type Change struct {
	Path string `json:"path"` // in the container's tree, escaped as printable.String does
	// Kind: "added" (not in the image), "changed" (in the image, replaced
	// or its metadata changed: overlay copies a file up whole) or
	// "deleted" (a whiteout).
	Kind string `json:"change"`
	Type string `json:"type"` // file, dir, symlink, fifo, socket, char, block; for deleted, what the image had ("" when it had none)
	// Opaque: a directory whose image contents are all hidden (deleted),
	// but for what the layer holds below it.
	Opaque   bool   `json:"opaque,omitempty"`
	Mode     string `json:"mode,omitempty"` // permission bits, octal, with setuid/setgid/sticky
	UID      uint32 `json:"uid"`
	GID      uint32 `json:"gid"`
	Size     int64  `json:"size"`
	Modified string `json:"mtime,omitempty"`
	Link     string `json:"link,omitempty"`   // a symlink's target, as text: never followed
	Device   string `json:"device,omitempty"` // MAJOR:MINOR of a device node
	SHA256   string `json:"sha256,omitempty"` // of a regular file's content
	// Content is where its content is kept in the bundle (files/sha256/HEX),
	// empty when not kept (see Note).
	Content string `json:"content,omitempty"`
	// Metacopy: overlay copied up the metadata only; the content is the
	// image's (hashed here as the layer holds it).
	Metacopy bool   `json:"metacopy,omitempty"`
	Note     string `json:"note,omitempty"` // why something is missing: truncated, not kept, unreadable
}

// Layers are the directories of a container's overlay filesystem, open on
// the host: its writable layer (Upper) and its image's layers (Lowers,
// the top one first), as overlay stacks them. A stopped container's, or a
// running one's, read the same way.
type Layers struct {
	Upper  int
	Lowers []int
}

// keeper keeps a regular file's content in the bundle; it returns where,
// or a note why not.
type keeper func(f *os.File, size int64, sum string) (where, note string)

// Diff walks the writable layer and calls visit with each entry, in path
// order, against the image's layers: whiteouts (0:0 character devices)
// are deletions, opaque directories (the overlay.opaque xattr) hide the
// image's entries below them. No link is followed: every name is opened
// below its directory's descriptor with O_NOFOLLOW, and a link is read
// with readlinkat. It stops at maxEntries (truncated) and maxDepth.
func Diff(l Layers, keep keeper, visit func(Change)) (truncated bool, err error) {
	w := &walker{keep: keep, visit: visit}
	lowers := append([]int{}, l.Lowers...)
	err = w.walk(l.Upper, "/", lowers, 0)
	return w.truncated, err
}

type walker struct {
	keep      keeper
	visit     func(Change)
	count     int
	truncated bool
}

func (w *walker) walk(upper int, dir string, lowers []int, depth int) error {
	names, err := readNames(upper, maxEntries-w.count+1)
	if err != nil {
		return fmt.Errorf("reading %s of the writable layer: %w", printable.String(dir), err)
	}
	for _, name := range names {
		if w.count >= maxEntries {
			w.truncated = true
			return nil
		}
		w.count++
		p := path.Join(dir, name)
		var st unix.Stat_t
		if err := unix.Fstatat(upper, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			w.visit(Change{Path: printable.String(p), Kind: "changed", Note: "vanished while read: " + err.Error()})
			continue
		}
		inImage, imageType, below := lowerEntry(lowers, name)
		c := Change{Path: printable.String(p), Type: typeOf(st.Mode), Mode: fmt.Sprintf("%04o", st.Mode&0o7777),
			UID: st.Uid, GID: st.Gid, Size: st.Size, Modified: time.Unix(st.Mtim.Unix()).UTC().Format(time.RFC3339Nano)}
		c.Kind = "added"
		if inImage {
			c.Kind = "changed"
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			if st.Rdev == 0 { // a whiteout: deleted from the image
				w.visit(Change{Path: printable.String(p), Kind: "deleted", Type: imageType})
				closeAll(below)
				continue
			}
			c.Device = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFBLK:
			c.Device = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFLNK:
			buf := make([]byte, maxLinkTarget)
			if n, err := unix.Readlinkat(upper, name, buf); err == nil {
				c.Link = printable.String(string(buf[:n]))
			} else {
				c.Note = "link unreadable: " + err.Error()
			}
		case unix.S_IFREG:
			w.file(upper, name, &st, &c)
		case unix.S_IFDIR:
			w.directory(upper, name, p, &c, below, depth)
			continue
		}
		closeAll(below)
		w.visit(c)
	}
	return nil
}

// file hashes a regular file of the layer, and keeps its content.
func (w *walker) file(upper int, name string, st *unix.Stat_t, c *Change) {
	f, now, err := openRegular(upper, name, st)
	if err != nil {
		c.Note = err.Error()
		return
	}
	defer f.Close()
	fd := int(f.Fd())
	c.Metacopy = hasXattr(fd, "overlay.metacopy")
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, maxHash))
	if err != nil {
		c.Note = "unreadable: " + err.Error()
		return
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n == maxHash && now.Size > maxHash {
		c.Note = fmt.Sprintf("larger than %d bytes: sha256 is of the first %d bytes only", int64(maxHash), int64(maxHash))
		c.SHA256 = sum
		return
	}
	c.SHA256 = sum
	if w.keep != nil {
		c.Content, c.Note = w.keep(f, n, sum)
	}
}

// openRegular opens for reading the regular file name of dir that was
// st, and only it. The container may swap in a device node or a FIFO
// between the Fstatat and an open by name, and opening a device runs its
// driver's open as host root (a watchdog arms): so the name is opened
// O_PATH, which opens nothing, the inode checked, and that very inode
// reopened through /proc/self/fd, then checked again.
func openRegular(dir int, name string, st *unix.Stat_t) (*os.File, *unix.Stat_t, error) {
	pfd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("unreadable: %w", err)
	}
	defer unix.Close(pfd)
	same := func(now *unix.Stat_t) bool {
		return now.Mode&unix.S_IFMT == unix.S_IFREG && now.Dev == st.Dev && now.Ino == st.Ino
	}
	var now unix.Stat_t
	if unix.Fstat(pfd, &now) != nil || !same(&now) {
		return nil, nil, errors.New("replaced while read")
	}
	fd, err := unix.Openat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", pfd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("unreadable: %w", err)
	}
	if unix.Fstat(fd, &now) != nil || !same(&now) {
		unix.Close(fd)
		return nil, nil, errors.New("replaced while read")
	}
	return os.NewFile(uintptr(fd), name), &now, nil
}

// directory lists a directory of the layer, then walks it: an opaque one
// hides every layer of the image below it.
func (w *walker) directory(upper int, name, p string, c *Change, below []int, depth int) {
	fd, err := unix.Openat(upper, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		closeAll(below)
		c.Note = "unreadable: " + err.Error()
		w.visit(*c)
		return
	}
	defer unix.Close(fd)
	if hasXattr(fd, "overlay.opaque") {
		c.Opaque = true
		closeAll(below)
		below = nil
	}
	w.visit(*c)
	if depth >= maxDepth {
		closeAll(below)
		w.truncated = true
		return
	}
	if err := w.walk(fd, p, below, depth+1); err != nil {
		w.visit(Change{Path: printable.String(p), Kind: c.Kind, Type: "dir", Note: err.Error()})
	}
	closeAll(below)
}

// lowerEntry tells whether the image has name in one of the lower
// directories (the top one first; a whiteout there hides those below), its
// type, and the lower directories of that name to walk into, opened (the
// caller closes them). An opaque lower directory hides those below it.
func lowerEntry(lowers []int, name string) (found bool, kind string, below []int) {
	for _, dir := range lowers {
		if dir < 0 {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			break // deleted by a higher layer of the image
		}
		if !found {
			found, kind = true, typeOf(st.Mode)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || kind != "dir" {
			break
		}
		fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		below = append(below, fd)
		if hasXattr(fd, "overlay.opaque") {
			break
		}
	}
	return found, kind, below
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// hasXattr tells whether overlay's attribute NAME is set ("y"), in the
// trusted namespace (the kernel's overlay) or user (in a user namespace,
// userxattr).
func hasXattr(fd int, name string) bool {
	buf := make([]byte, 8)
	for _, ns := range []string{"trusted.", "user."} {
		n, err := unix.Fgetxattr(fd, ns+name, buf)
		if name == "overlay.metacopy" && (err == nil || errors.Is(err, unix.ERANGE)) {
			return true // its value, when any, is a digest
		}
		if err == nil && n >= 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

func typeOf(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "char"
	case unix.S_IFBLK:
		return "block"
	}
	return "unknown"
}

// readNames lists up to limit names of a directory descriptor, sorted.
func readNames(dir int, limit int) ([]string, error) {
	fd, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "dir")
	defer f.Close()
	names, err := f.Readdirnames(limit)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}
