package evidence

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cnsenter/cnsenter/internal/mountinfo"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/runtime"
	"golang.org/x/sys/unix"
)

// Options is what a capture is of, and what the caller read of it from
// the engine.
type Options struct {
	Dir       string
	Tool      string // our name and version, for evidence.json
	Target    string // the reference given
	Container runtime.Container
	Process   *enter.Process // the container's init, pinned; nil for a container that runs no process
	// Files are, for a container that runs no process (Process nil), its
	// layers and mounts as its engine keeps them (runtime.Filesystem);
	// FilesErr why there are none.
	Files    *runtime.Files
	FilesErr error
	// ExitCode is a stopped container's last exit status, when its engine
	// recorded one.
	ExitCode *int
	// Engine is the engine's own metadata of the container (Docker's
	// inspect), as JSON; EngineErr why there is none.
	Engine    json.RawMessage
	EngineErr error
	// EngineDisk is the engine's record of the container in its state on
	// disk, when the engine did not answer (dockerd's config.v2.json).
	EngineDisk json.RawMessage
	Spec       json.RawMessage // the OCI spec
	SpecErr    error
	Image      Image
	// EngineLayers is the writable layer and image layers as the engine
	// names them (Docker's GraphDriver.Data), when it does.
	EngineLayers *LayerPaths
	Freeze       string // "frozen", "already frozen", ""
	Audit        *enter.Audit
}

// Image is the container's image as the engine names it.
type Image struct {
	Reference   string   `json:"reference"`              // as the container was created from it
	ID          string   `json:"id,omitempty"`           // the engine's image ID (a digest)
	RepoDigests []string `json:"repo_digests,omitempty"` // registry digests, when pulled
	Note        string   `json:"note,omitempty"`
}

// LayerPaths are an overlay's directories on the host.
type LayerPaths struct {
	Upper  string   `json:"upperdir"`
	Lowers []string `json:"lowerdirs"` // the top one first
	Source string   `json:"source"`    // "mountinfo" (the container's root mount) or "engine"
}

// Capture writes the bundle. Parts that cannot be read are recorded in
// evidence.json's errors and the capture goes on; only a bundle that
// cannot be written is an error.
func Capture(o Options) (auditLine string, err error) {
	if a := o.Audit; a != nil && a.Path != "" {
		// A log that cannot be written stops the capture before it
		// starts, as it stops a session.
		fd, err := unix.Open(a.Path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return "", fmt.Errorf("audit log %s: %w", a.Path, err)
		}
		unix.Close(fd)
	}
	b, err := create(o.Dir)
	if err != nil {
		return "", err
	}
	defer b.close()
	c := &capture{o: o, b: b, started: time.Now().UTC()}
	if err := c.run(); err != nil {
		return "", err
	}
	if err := b.writeManifest(); err != nil {
		return "", err
	}
	return c.auditLine, nil
}

type capture struct {
	o         Options
	b         *bundle
	started   time.Time
	errs      []string
	truncated []string
	auditLine string
	procs     []Process
}

func (c *capture) fail(what string, err error) {
	c.errs = append(c.errs, printable.String(what+": "+err.Error()))
}

func (c *capture) run() error {
	o := c.o
	pid := 0
	if o.Process != nil {
		pid = o.Process.PID()
	}
	// The engine's records.
	if o.Engine != nil {
		if err := c.b.write("engine/inspect.json", o.Engine); err != nil {
			return err
		}
	} else if o.EngineErr != nil {
		c.fail("engine metadata", o.EngineErr)
	}
	if o.EngineDisk != nil {
		if err := c.b.write("engine/config.v2.json", o.EngineDisk); err != nil {
			return err
		}
	}
	if err := c.b.writeJSON("engine/container.json", o.Container); err != nil {
		return err
	}
	if o.Spec != nil {
		if err := c.b.write("engine/config.json", o.Spec); err != nil {
			return err
		}
	} else if o.SpecErr != nil {
		err := o.SpecErr
		if o.Process == nil && o.Container.Runtime == "docker" && errors.Is(err, runtime.ErrNotFound) {
			// dockerd has containerd forget a container that exits, and
			// makes its spec anew at each start from its settings.
			err = fmt.Errorf("dockerd keeps none for a container that does not run (it makes one at each start, from the settings in its record): %w", err)
		}
		c.fail("OCI spec", err)
	}
	if err := c.b.writeJSON("image.json", o.Image); err != nil {
		return err
	}
	if o.Process != nil {
		if err := c.processes(); err != nil {
			return err
		}
		if err := c.network(); err != nil {
			return err
		}
		if err := c.mounts(); err != nil {
			return err
		}
	} else if err := c.stoppedMounts(); err != nil {
		// No process: no processes, sockets or routes to read; its
		// mounts are those its engine records.
		return err
	}
	if err := c.filesystem(); err != nil {
		return err
	}
	finished := time.Now().UTC()
	state := o.Container.Status
	if state == "" {
		state = "running"
		if o.Process == nil {
			state = "not running"
		}
	}
	record := map[string]any{
		"event": "evidence", "time": c.started.Format(timeFormat), "finished": finished.Format(timeFormat),
		"uid": os.Getuid(), "login_uid": enter.LoginUID(), "target": o.Target, "pid": pid,
		"runtime": o.Container.Runtime, "container_id": o.Container.ID, "dir": absolute(o.Dir), "tool": o.Tool,
		"state": state,
	}
	if o.Freeze != "" {
		record["freeze"] = o.Freeze
	}
	line, err := enter.AuditRecord(o.Audit, record)
	if err != nil {
		return err
	}
	c.auditLine = string(line)
	if err := c.b.write("audit.json", line); err != nil {
		return err
	}
	host, _ := os.Hostname()
	var uts unix.Utsname
	unix.Uname(&uts)
	meta := map[string]any{
		"version": Version, "tool": o.Tool, "started": c.started.Format(timeFormat), "finished": finished.Format(timeFormat),
		"host": host, "kernel": unix.ByteSliceToString(uts.Release[:]), "caller_uid": os.Getuid(),
		"target": printable.String(o.Target), "runtime": o.Container.Runtime, "namespace": o.Container.Namespace,
		"container_id": o.Container.ID, "name": printable.String(o.Container.Name), "pid": pid,
		"state":  printable.String(state),
		"freeze": o.Freeze, "errors": nonNil(c.errs), "truncated": nonNil(c.truncated),
	}
	if o.ExitCode != nil {
		meta["exit_code"] = *o.ExitCode
	}
	return c.b.writeJSON("evidence.json", meta)
}

// Mount is a volume or bind mount of a container that runs no process, as
// its engine records it (mounts/mounts.json).
type Mount struct {
	Source      string `json:"source"`      // on the host
	Destination string `json:"destination"` // in the container
}

// stoppedMounts writes the mounts the engine records for a container that
// runs no process: it has no mount table to copy.
func (c *capture) stoppedMounts() error {
	if c.o.Files == nil {
		return nil // filesystem says why
	}
	list := []Mount{}
	for _, m := range c.o.Files.Mounts {
		list = append(list, Mount{Source: printable.String(m.Source), Destination: printable.String(m.Destination)})
	}
	return c.b.writeJSON("mounts/mounts.json", list)
}

const timeFormat = "2006-01-02T15:04:05.000000Z"

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// copyProc copies a /proc file below a pinned directory into the bundle.
func (c *capture) copyProc(dir int, name, rel string, limit int64) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			c.fail(rel, err)
		}
		return
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	truncated, err := c.b.copyFrom(rel, f, limit)
	if err != nil {
		c.fail(rel, err)
	}
	if truncated {
		c.truncated = append(c.truncated, fmt.Sprintf("%s: the first %d bytes", rel, limit))
	}
}

// readProc reads a /proc file below a pinned directory, up to limit.
func readProc(dir int, name string, limit int64) ([]byte, bool, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, false, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if int64(len(data)) > limit {
		return data[:limit], true, err
	}
	return data, false, err
}

// mounts copies the init's mount table.
func (c *capture) mounts() error {
	c.copyProc(c.o.Process.Dir(), "mountinfo", "mounts/mountinfo", maxProcFile)
	return nil
}

// filesystem lists the writable layer's changes against the image.
func (c *capture) filesystem() error {
	layers, err := c.layerPaths()
	if err != nil {
		c.fail("writable layer", err)
		return nil
	}
	if err := c.b.writeJSON("filesystem/layers.json", layers); err != nil {
		return err
	}
	open := func(p string) (int, error) {
		// The engine's directories, on the host: Docker's lowerdirs are
		// its own links (overlay2/l/...), so links in these paths are
		// followed; inside them, none is.
		return unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	var l Layers
	if l.Upper, err = open(layers.Upper); err != nil {
		c.fail("writable layer "+layers.Upper, err)
		return nil
	}
	defer unix.Close(l.Upper)
	for _, p := range layers.Lowers {
		fd, err := open(p)
		if err != nil {
			c.fail("image layer "+p, err)
			fd = -1
		}
		l.Lowers = append(l.Lowers, fd)
	}
	defer closeAll(l.Lowers)
	var changes []Change
	truncated, err := Diff(l, c.keep, func(ch Change) { changes = append(changes, ch) })
	if err != nil {
		c.fail("writable layer", err)
	}
	if truncated {
		c.truncated = append(c.truncated, fmt.Sprintf("filesystem/changes.json: the first %d entries, %d directories deep", maxEntries, maxDepth))
	}
	if changes == nil {
		changes = []Change{}
	}
	return c.b.writeJSON("filesystem/changes.json", changes)
}

// keep keeps a changed file's content as files/sha256/HEX, named by what
// was read: when the file changed since it was hashed, by the content
// kept, with a note.
func (c *capture) keep(f *os.File, size int64, sum string) (string, string) {
	rel := "files/sha256/" + sum
	if _, ok := c.b.manifest[rel]; ok {
		return rel, ""
	}
	if size > maxCopyFile {
		return "", fmt.Sprintf("content not kept: larger than %d bytes", maxCopyFile)
	}
	if c.b.copied+size > maxCopyTotal {
		return "", fmt.Sprintf("content not kept: the bundle keeps %d bytes of contents at most", maxCopyTotal)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", "content not kept: " + err.Error()
	}
	tmp := "files/partial"
	w, err := c.b.create(tmp)
	if err != nil {
		return "", "content not kept: " + err.Error()
	}
	n, err := io.Copy(w, io.LimitReader(f, size))
	if cerr := w.close(); err == nil {
		err = cerr
	}
	got := c.b.manifest[tmp]
	delete(c.b.manifest, tmp)
	c.b.copied += n
	if err != nil {
		c.b.unlink(tmp)
		return "", "content not kept: " + err.Error()
	}
	note := ""
	if got != sum {
		note = "changed while read: the content kept is another than the one hashed"
	}
	rel = "files/sha256/" + got
	if _, ok := c.b.manifest[rel]; ok {
		c.b.unlink(tmp)
		return rel, note
	}
	if err := c.b.mkdir("files/sha256"); err != nil {
		return "", "content not kept: " + err.Error()
	}
	if err := c.b.rename(tmp, rel); err != nil {
		c.b.unlink(tmp)
		return "", "content not kept: " + err.Error()
	}
	c.b.manifest[rel] = got
	return rel, note
}

// layerPaths finds the container's overlay directories on the host: from
// its own root mount, the last mount at / in its init's mountinfo (read
// through the pin), whose options the kernel writes (upperdir=,
// lowerdir=) as the engine gave them, the same for every engine; unless
// the container could have mounted that root itself (canMount), or the
// options are relative (dockerd mounts many layers from its overlay2
// directory, with short relative names), when the engine's own record
// (EngineLayers) is taken.
func (c *capture) layerPaths() (*LayerPaths, error) {
	if c.o.Process == nil {
		// No process, no root mount: the layers are those the engine's
		// state names, which its adapter checked (runtime.Files), its
		// writable layer first.
		switch {
		case c.o.Files != nil && len(c.o.Files.Layers) > 0:
			return &LayerPaths{Upper: c.o.Files.Layers[0], Lowers: append([]string{}, c.o.Files.Layers[1:]...), Source: "engine"}, nil
		case c.o.FilesErr != nil:
			return nil, c.o.FilesErr
		}
		return nil, errors.New("its engine names no layer")
	}
	return mountinfoLayers(c.o.Process.Dir(), c.o.Spec, c.o.EngineLayers)
}

// mountinfoLayers is layerPaths of a running container, whose init's
// /proc/PID is dir: its root mount's overlay options, or the engine's
// record (engine) when those cannot be believed.
func mountinfoLayers(dir int, spec []byte, engine *LayerPaths) (*LayerPaths, error) {
	// A container whose processes may hold CAP_SYS_ADMIN over its mounts
	// could have mounted a root of its own, whose overlay options would
	// name host directories of its choosing (upperdir=/etc). Its OCI spec
	// alone does not tell: a rootless engine's spec is its user's own
	// file. So the kernel is asked too (kernelCanMount); either saying it
	// may is enough.
	if why := kernelCanMount(dir); why != "" || canMount(spec) {
		if engine != nil {
			return engine, nil
		}
		if why == "" {
			why = "its OCI spec gives it CAP_SYS_ADMIN or a user namespace"
		}
		return nil, fmt.Errorf("the container may hold CAP_SYS_ADMIN over its mounts (%s), so its root mount's options are its own to choose, and its engine names no writable layer: not read", why)
	}
	data, _, err := readProc(dir, "mountinfo", maxProcFile)
	if err != nil {
		return nil, err
	}
	l, err := RootOverlay(string(data))
	if err != nil {
		if engine != nil {
			return engine, nil
		}
		return nil, err
	}
	// Only absolute, clean paths are taken: a relative one (dockerd's
	// short names, relative to its overlay2 directory) or one with ".."
	// could reach any host directory; the engine's record is taken then.
	for _, p := range append([]string{l.Upper}, l.Lowers...) {
		if !path.IsAbs(p) || hasDotDot(p) {
			if engine != nil {
				return engine, nil
			}
			return nil, fmt.Errorf("the root mount names the layer %s, not an absolute path without \"..\", and the engine names no writable layer: not read", printable.String(p))
		}
	}
	return l, nil
}

// hasDotDot tells whether a path has a ".." element.
func hasDotDot(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// capSysAdmin is CAP_SYS_ADMIN's bit in /proc/PID/status's CapBnd.
const capSysAdmin = 21

// kernelCanMount tells why, from the kernel, the process whose /proc/PID
// is dir may hold CAP_SYS_ADMIN over its mount namespace ("" if it may
// not): it is in a user namespace other than ours (and /proc/1's, when
// we may read it), where it may be root; or CAP_SYS_ADMIN is in its
// bounding set. What cannot be read counts as may.
func kernelCanMount(dir int) string {
	var ns unix.Stat_t
	if err := unix.Fstatat(dir, "ns/user", &ns, 0); err != nil {
		return "its user namespace unreadable: " + err.Error()
	}
	for _, host := range []string{"/proc/self/ns/user", "/proc/1/ns/user"} {
		var h unix.Stat_t
		err := unix.Stat(host, &h)
		if host == "/proc/1/ns/user" && errors.Is(err, unix.EACCES) {
			// A sandbox that hides its init from us: our own user
			// namespace, compared above, is the host's for us.
			continue
		}
		if err != nil {
			return host + " unreadable: " + err.Error()
		}
		if h.Dev != ns.Dev || h.Ino != ns.Ino {
			return "its init is in a user namespace of its own"
		}
	}
	status, _, err := readProc(dir, "status", maxProcFile)
	if err != nil {
		return "its status unreadable: " + err.Error()
	}
	bnd, ok := capField(string(status), "CapBnd")
	switch {
	case !ok:
		return "its bounding set unreadable"
	case bnd&(1<<capSysAdmin) != 0:
		return "CAP_SYS_ADMIN is in its init's bounding set"
	}
	return ""
}

// capField reads a capability set (hex) of /proc/PID/status.
func capField(status, name string) (uint64, bool) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// RootOverlay reads the overlay options of the root mount (mount point /,
// the last one there) of a mountinfo table.
func RootOverlay(table string) (*LayerPaths, error) {
	var root *mountinfo.Mount
	mounts := mountinfo.Parse(table)
	for i := range mounts {
		if mounts[i].Point == "/" {
			root = &mounts[i]
		}
	}
	if root == nil {
		return nil, errors.New("no root mount in the container's mount table")
	}
	if root.FSType != "overlay" {
		return nil, errors.New("the container's root is not an overlay filesystem: no writable layer to compare with its image")
	}
	l := &LayerPaths{Source: "mountinfo"}
	if upper, ok := root.Option("upperdir"); ok {
		l.Upper = unescapeOption(upper)
	}
	if lowers, ok := root.Option("lowerdir"); ok {
		for _, lower := range splitUnescaped(lowers, ':') {
			if lower != "" { // "::" sets off data-only layers
				l.Lowers = append(l.Lowers, unescapeOption(lower))
			}
		}
	}
	if l.Upper == "" {
		return nil, errors.New("the container's root overlay has no upperdir: no writable layer")
	}
	return l, nil
}

// splitUnescaped splits at sep, but not at a sep escaped with '\'.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unescapeOption undoes overlay's backslash escapes of ',' ':' and '\'.
func unescapeOption(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// absolute is the bundle's directory as an absolute path, for the record.
func absolute(dir string) string {
	if path.IsAbs(dir) {
		return path.Clean(dir)
	}
	if wd, err := os.Getwd(); err == nil {
		return path.Join(wd, dir)
	}
	return dir
}
