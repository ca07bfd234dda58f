// Package evidence writes the evidence bundle of a container (--evidence
// DIR): its engine metadata and OCI spec, its processes, sockets, routes
// and mounts, the files its writable layer changed, added or deleted, the
// image, and the audit record of the capture, with a MANIFEST.sha256 of
// every file. Nothing runs inside the container: everything is read from
// the host, through the init's pidfd pin (/proc/PID) and the host's
// overlay directories, following none of the container's links. The
// layout is docs/evidence.md's; Version changes when it does.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Version is the bundle layout's version, in evidence.json.
const Version = 1

// Limits on what a hostile container can make us write or read.
const (
	maxProcFile   = 16 << 20 // a /proc file copied (environ: maxEnviron)
	maxEnviron    = 1 << 20  // as --env reads it
	maxCopyFile   = 16 << 20 // a changed file's content kept in files/sha256
	maxCopyTotal  = 1 << 30  // all contents kept
	maxHash       = 1 << 30  // bytes of one file hashed
	maxEntries    = 200000   // writable-layer entries listed
	maxFDs        = 10000    // descriptors listed per process
	maxProcesses  = 10000    // processes captured
	maxDepth      = 256      // directory depth walked in the writable layer
	maxLinkTarget = 4096
)

// bundle is the directory being written: every file is created here, by a
// name of ours, never following a link, 0600 in 0700 directories, and
// hashed as it is written, for the manifest.
type bundle struct {
	dir      int
	path     string
	manifest map[string]string // relative path: SHA-256
	copied   int64             // bytes of contents kept (files/sha256)
}

// Check checks DIR for a bundle: a new directory (its parent must exist),
// or an empty one of ours, which must not be a link nor writable by
// others (they could plant links in it before it is filled). Nothing is
// made yet.
func Check(dir string) error {
	var st unix.Stat_t
	err := unix.Lstat(dir, &st)
	switch {
	case errors.Is(err, unix.ENOENT):
		parent := path.Dir(path.Clean(dir))
		if err := unix.Stat(parent, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("--evidence %s: its parent directory %s does not exist: create it, or give another place", dir, parent)
		}
		return nil
	case err != nil:
		return fmt.Errorf("--evidence %s: %w", dir, err)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("--evidence %s: exists and is not a directory: give a new directory", dir)
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("--evidence %s: the directory is not ours (uid %d): its owner could read the bundle; give a new directory", dir, st.Uid)
	case st.Mode&0o022 != 0:
		return othersWrite(dir, st.Mode)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("--evidence %s: %w", dir, err)
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return fmt.Errorf("--evidence %s: exists and is not empty: give a new or empty directory (a bundle is never mixed with other files)", dir)
	}
	return nil
}

func create(dir string) (*bundle, error) {
	if err := Check(dir); err != nil {
		return nil, err
	}
	if err := unix.Mkdir(dir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("--evidence %s: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--evidence %s: %w", dir, err)
	}
	// Made by someone else between the check and now (in a directory
	// others may write): not ours to fill.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || int(st.Uid) != os.Geteuid() {
		unix.Close(fd)
		return nil, fmt.Errorf("--evidence %s: the directory is not ours: give a new directory", dir)
	}
	if st.Mode&0o022 != 0 {
		unix.Close(fd)
		return nil, othersWrite(dir, st.Mode)
	}
	if err := unix.Fchmod(fd, 0o700); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("--evidence %s: %w", dir, err)
	}
	return &bundle{dir: fd, path: dir, manifest: map[string]string{}}, nil
}

// othersWrite is the error of a DIR others may write to.
func othersWrite(dir string, mode uint32) error {
	return fmt.Errorf("--evidence %s: the directory is writable by others (mode %04o), who could plant links in it before the bundle is written: give a new directory (one inside it will do), or chmod go-w it", dir, mode&0o7777)
}

// beneath resolves a path inside the bundle: below its directory, through
// no link at all (one planted there would lead the writes of root
// elsewhere: /etc/cron.d).
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS

// openat opens rel, a path of ours, beneath the bundle's directory.
func (b *bundle) openat(rel string, flags int, mode uint32) (int, error) {
	return unix.Openat2(b.dir, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: beneath})
}

// parent opens the directory of rel beneath the bundle's (O_PATH), for
// the *at calls on rel's last name, which then follow no link either.
func (b *bundle) parent(rel string) (int, string, error) {
	fd, err := b.openat(path.Dir(rel), unix.O_PATH|unix.O_DIRECTORY, 0)
	return fd, path.Base(rel), err
}

// unlink removes rel, a file of ours.
func (b *bundle) unlink(rel string) {
	if dir, name, err := b.parent(rel); err == nil {
		unix.Unlinkat(dir, name, 0)
		unix.Close(dir)
	}
}

// rename renames the file from to the new name to, both of ours.
func (b *bundle) rename(from, to string) error {
	fdir, fname, err := b.parent(from)
	if err != nil {
		return err
	}
	defer unix.Close(fdir)
	tdir, tname, err := b.parent(to)
	if err != nil {
		return err
	}
	defer unix.Close(tdir)
	return unix.Renameat2(fdir, fname, tdir, tname, unix.RENAME_NOREPLACE)
}

func (b *bundle) close() { unix.Close(b.dir) }

// mkdir makes the directories of a relative path of ours, each in its
// parent opened beneath the bundle's directory: a link in the way is an
// error, never followed.
func (b *bundle) mkdir(rel string) error {
	cur := ""
	for _, elem := range strings.Split(rel, "/") {
		cur = path.Join(cur, elem)
		dir, name, err := b.parent(cur)
		if err == nil {
			err = unix.Mkdirat(dir, name, 0o700)
			unix.Close(dir)
		}
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("--evidence %s: %w", path.Join(b.path, cur), err)
		}
	}
	return nil
}

// file is one file being written into the bundle.
type file struct {
	b    *bundle
	f    *os.File
	rel  string
	hash hash.Hash
}

func (f *file) Write(p []byte) (int, error) {
	f.hash.Write(p)
	return f.f.Write(p)
}

// create makes a new file at rel, a path of ours: O_EXCL, beneath the
// bundle's directory through no link.
func (b *bundle) create(rel string) (*file, error) {
	if dir := path.Dir(rel); dir != "." {
		if err := b.mkdir(dir); err != nil {
			return nil, err
		}
	}
	fd, err := b.openat(rel, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--evidence: cannot write %s: %w", path.Join(b.path, rel), err)
	}
	unix.Fchmod(fd, 0o600)
	return &file{b: b, f: os.NewFile(uintptr(fd), rel), rel: rel, hash: sha256.New()}, nil
}

func (f *file) close() error {
	err := f.f.Close()
	if err == nil {
		f.b.manifest[f.rel] = hex.EncodeToString(f.hash.Sum(nil))
	}
	return err
}

// write writes a whole file.
func (b *bundle) write(rel string, data []byte) error {
	f, err := b.create(rel)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.f.Close()
		return fmt.Errorf("--evidence: cannot write %s: %w", path.Join(b.path, rel), err)
	}
	return f.close()
}

// writeJSON writes v, indented, with a final newline.
func (b *bundle) writeJSON(rel string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return b.write(rel, append(data, '\n'))
}

// copyFrom copies up to limit bytes of r into rel; it tells whether r had
// more.
func (b *bundle) copyFrom(rel string, r io.Reader, limit int64) (truncated bool, err error) {
	f, err := b.create(rel)
	if err != nil {
		return false, err
	}
	n, err := io.Copy(f, io.LimitReader(r, limit))
	if err != nil {
		f.f.Close()
		return false, fmt.Errorf("reading for %s: %w", rel, err)
	}
	if n == limit {
		var one [1]byte
		if m, _ := r.Read(one[:]); m > 0 {
			truncated = true
		}
	}
	return truncated, f.close()
}

// writeManifest lists every file of the bundle, as sha256sum -c reads it
// from DIR.
func (b *bundle) writeManifest() error {
	names := make([]string, 0, len(b.manifest))
	for n := range b.manifest {
		names = append(names, n)
	}
	sort.Strings(names)
	var s strings.Builder
	for _, n := range names {
		fmt.Fprintf(&s, "%s  %s\n", b.manifest[n], n)
	}
	fd, err := b.openat("MANIFEST.sha256", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("--evidence: cannot write the manifest: %w", err)
	}
	f := os.NewFile(uintptr(fd), "MANIFEST.sha256")
	if _, err := f.WriteString(s.String()); err != nil {
		f.Close()
		return fmt.Errorf("--evidence: cannot write the manifest: %w", err)
	}
	return f.Close()
}
