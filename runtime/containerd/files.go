package containerd

import (
	"github.com/cnsenter/cnsenter/internal/cgroupname"
	"github.com/cnsenter/cnsenter/internal/procfs"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/internal/grpc"
	"github.com/cnsenter/cnsenter/runtime"
)

// The files of a container with no task, and of an image, are containerd's
// snapshots: ROOT/io.containerd.snapshotter.v1.overlayfs/snapshots/N/fs,
// each with its parent, in the snapshotter's bbolt database; which
// snapshot a container's key or an image's layers name is in containerd's
// own (io.containerd.metadata.v1.bolt/meta.db), and an image's layers are
// the diff IDs of its config, in the content store. All of it is read from
// disk, whether containerd runs or not: one reading, and the only one that
// can answer for an image (the API gives the directories of an active
// snapshot only; a view to ask it for would be written into containerd's
// state). A running containerd holds its databases locked, so each is
// copied into memory and read there; the copy is the database as one
// transaction left it when both of its meta pages (where every commit
// ends) are the same before and after the copy.
//
// What the databases say is taken to be the attacker's: snapshot IDs are
// numbers, digests are sha256 digests, and no other name of theirs ever
// becomes a path.

// SnapshotSource names a snapshot of a containerd: Docker's (namespace
// moby) or containerd's own containers and images.
type SnapshotSource struct {
	Address     string // containerd's socket, to find its root
	Timeout     time.Duration
	Namespace   string
	Snapshotter string
	Key         string // the snapshot's key: a container's
	Ref         string // for messages
	// ImageID, for an image not found by name, is an ID or a unique
	// prefix of one (hex digits, sha256: or not), as dockerd names its
	// images in containerd's store: the digest its name's target has.
	ImageID string
}

// Root is the root directory of the containerd serving address: from the
// arguments of that containerd if it runs (--root, else root in its
// --config), else CNSENTER_CONTAINERD_ROOT, else root in
// /etc/containerd/config.toml, else /var/lib/containerd.
func Root(address string) string {
	address = strings.TrimPrefix(address, "unix://")
	for _, args := range procfs.Programs("/proc", "containerd") {
		config := procfs.Flag(args[1:], "--config", "-c")
		if config == "" {
			config = "/etc/containerd/config.toml"
		}
		listen := procfs.Flag(args[1:], "--address", "-a")
		if listen == "" {
			listen = tomlValue(config, "grpc", "address")
		}
		if listen == "" {
			listen = DefaultAddress
		}
		if listen != address {
			continue
		}
		if root := procfs.Flag(args[1:], "--root"); root != "" {
			return root
		}
		if root := tomlValue(config, "", "root"); root != "" {
			return root
		}
		return "/var/lib/containerd"
	}
	if root := os.Getenv("CNSENTER_CONTAINERD_ROOT"); root != "" {
		return root
	}
	if root := tomlValue("/etc/containerd/config.toml", "", "root"); root != "" {
		return root
	}
	return "/var/lib/containerd"
}

// tomlValue reads a string KEY = "VALUE" of a TOML table ("" for the top
// level) of containerd's configuration: the little of TOML it is written in.
func tomlValue(path, table, key string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	current := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			current = strings.Trim(line, "[] ")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || current != table || strings.TrimSpace(k) != key {
			continue
		}
		if s, err := strconv.Unquote(strings.TrimSpace(v)); err == nil {
			return s
		}
	}
	return ""
}

// snapshotters whose snapshot N is the directory snapshots/N/fs.
var layered = map[string]bool{"overlayfs": true}

// IsDigest checks a digest, sha256:HEX64, before it names a file.
func IsDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	return ok && cgroupname.IsID(h)
}

// maxDB is the largest database read into memory.
const maxDB = 256 << 20

// openCopy opens a copy, in memory, of a bbolt database that a running
// containerd may hold: copied until both meta pages are the same before
// and after the copy, so that the copy is what one commit left.
func openCopy(path string) (*bolt.DB, error) {
	meta := 2 * os.Getpagesize()
	for try := 0; try < 20; try++ {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		head := make([]byte, meta)
		n, _ := io.ReadFull(f, head)
		data, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, 0, maxDB+1), maxDB+1))
		after := make([]byte, meta)
		m, _ := f.ReadAt(after, 0)
		f.Close()
		if err != nil {
			return nil, err
		}
		if len(data) > maxDB {
			return nil, fmt.Errorf("%s is larger than %d bytes", path, maxDB)
		}
		if n != m || !bytes.Equal(head[:n], after[:m]) || !bytes.HasPrefix(data, head[:n]) {
			time.Sleep(10 * time.Millisecond) // a commit ended meanwhile
			continue
		}
		fd, err := unix.MemfdCreate("cnsenter-bolt", unix.MFD_CLOEXEC)
		if err != nil {
			return nil, err
		}
		mem := os.NewFile(uintptr(fd), path)
		if _, err := mem.Write(data); err != nil {
			mem.Close()
			return nil, err
		}
		db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: time.Second,
			OpenFile: func(string, int, os.FileMode) (*os.File, error) { return mem, nil }})
		if err != nil {
			mem.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return db, nil
	}
	return nil, fmt.Errorf("%s changed during every copy", path)
}

// state is containerd's state on disk, open for reading.
type state struct {
	root        string
	meta, snaps *bolt.DB
	snapshotter string
}

func openState(root, snapshotter string) (*state, error) {
	if !layered[snapshotter] {
		return nil, fmt.Errorf("snapshotter %q: only overlayfs snapshots are read", snapshotter)
	}
	meta, err := openCopy(filepath.Join(root, "io.containerd.metadata.v1.bolt", "meta.db"))
	if err != nil {
		return nil, err
	}
	snaps, err := openCopy(filepath.Join(root, "io.containerd.snapshotter.v1."+snapshotter, "metadata.db"))
	if err != nil {
		meta.Close()
		return nil, err
	}
	return &state{root: root, meta: meta, snaps: snaps, snapshotter: snapshotter}, nil
}

func (s *state) close() {
	s.meta.Close()
	s.snaps.Close()
}

// bucket walks nested buckets; nil when one is missing.
func bucket(tx *bolt.Tx, path ...string) *bolt.Bucket {
	b := tx.Bucket([]byte(path[0]))
	for _, p := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(p))
	}
	return b
}

// layers are the directories of a snapshot and its parents, topmost first:
// the snapshot's key in namespace names its name in the snapshotter, whose
// database has its number and its parent's name.
func (s *state) layers(namespace, key string) ([]string, error) {
	var name string
	err := s.meta.View(func(tx *bolt.Tx) error {
		b := bucket(tx, "v1", namespace, "snapshots", s.snapshotter, key)
		if b == nil {
			return fmt.Errorf("no %s snapshot %q in namespace %s", s.snapshotter, key, namespace)
		}
		name = string(b.Get([]byte("name")))
		return nil
	})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.root, "io.containerd.snapshotter.v1."+s.snapshotter, "snapshots")
	var layers []string
	err = s.snaps.View(func(tx *bolt.Tx) error {
		for seen := map[string]bool{}; name != ""; {
			if seen[name] || len(seen) > 1000 {
				return errors.New("the snapshots' parents make a loop")
			}
			seen[name] = true
			b := bucket(tx, "v1", "snapshots", name)
			if b == nil {
				return fmt.Errorf("the snapshotter has no snapshot %q", name)
			}
			id, n := binary.Uvarint(b.Get([]byte("id")))
			if n <= 0 {
				return fmt.Errorf("snapshot %q has no ID", name)
			}
			layers = append(layers, filepath.Join(dir, strconv.FormatUint(id, 10), "fs"))
			name = string(b.Get([]byte("parent")))
		}
		return nil
	})
	return layers, err
}

// SnapshotFiles are the layers of a container's snapshot (a key of
// namespace's, in a snapshotter).
func SnapshotFiles(ctx context.Context, src SnapshotSource) (runtime.Files, error) {
	root := Root(src.Address)
	s, err := openState(root, src.Snapshotter)
	if err != nil {
		return runtime.Files{}, stateError(src, root, err)
	}
	defer s.close()
	layers, err := s.layers(src.Namespace, src.Key)
	if err != nil {
		return runtime.Files{}, stateError(src, root, err)
	}
	return runtime.Files{Layers: layers}, nil
}

func stateError(src SnapshotSource, root string, err error) error {
	return &runtime.Error{Runtime: "containerd", Endpoint: root, Ref: src.Ref,
		Detail: fmt.Sprintf("containerd's state on disk (%s): %v (CNSENTER_CONTAINERD_ROOT names its root when containerd is down)", root, err), Err: err}
}

// ImageFiles are the layers of an image of namespace's, as its snapshotter
// unpacked them: the snapshots keyed by the chain IDs of its config's diff
// IDs, the config found through the image's manifest for this machine.
func ImageFiles(ctx context.Context, src SnapshotSource, image string) (runtime.Files, error) {
	root := Root(src.Address)
	s, err := openState(root, src.Snapshotter)
	if err != nil {
		return runtime.Files{}, stateError(src, root, err)
	}
	defer s.close()
	var digest string
	err = s.meta.View(func(tx *bolt.Tx) error {
		if b := bucket(tx, "v1", src.Namespace, "images", image, "target"); b != nil {
			digest = string(b.Get([]byte("digest")))
			return nil
		}
		if id := strings.TrimPrefix(src.ImageID, "sha256:"); id != "" {
			// Every name's target whose digest starts so: one image,
			// however many names it has.
			seen := map[string]bool{}
			if images := bucket(tx, "v1", src.Namespace, "images"); images != nil {
				images.ForEachBucket(func(name []byte) error {
					if t := images.Bucket(name).Bucket([]byte("target")); t != nil {
						if d := string(t.Get([]byte("digest"))); strings.HasPrefix(d, "sha256:"+id) {
							seen[d] = true
						}
					}
					return nil
				})
			}
			for d := range seen {
				digest = d
			}
			if len(seen) > 1 {
				return &runtime.Error{Kind: runtime.Ambiguous, Runtime: "containerd", Endpoint: root, Ref: src.Ref,
					Detail: "the ID prefix " + id + " matches several images"}
			}
			if digest != "" {
				return nil
			}
		}
		return &runtime.Error{Kind: runtime.NotFound, Runtime: "containerd", Endpoint: root, Ref: src.Ref,
			Detail: fmt.Sprintf("no image %s in namespace %s of containerd's state (%s)", image, src.Namespace, root)}
	})
	if err != nil {
		var e *runtime.Error
		if errors.As(err, &e) {
			return runtime.Files{}, err
		}
		return runtime.Files{}, stateError(src, root, err)
	}
	diffIDs, err := s.diffIDs(digest)
	if err != nil {
		return runtime.Files{}, stateError(src, root, err)
	}
	chains, err := chainIDs(diffIDs)
	if err != nil {
		return runtime.Files{}, stateError(src, root, err)
	}
	if len(chains) == 0 {
		return runtime.Files{}, stateError(src, root, fmt.Errorf("image %s has no layer", image))
	}
	layers, err := s.layers(src.Namespace, chains[len(chains)-1])
	if err != nil {
		return runtime.Files{}, stateError(src, root, fmt.Errorf("image %s is not unpacked for %s: %w", image, s.snapshotter, err))
	}
	return runtime.Files{Layers: layers}, nil
}

// diffIDs reads an image's layers' diff IDs from the content store,
// through an index to the manifest for this machine's platform.
func (s *state) diffIDs(digest string) ([]string, error) {
	for depth := 0; depth < 4; depth++ {
		data, err := s.blob(digest)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Manifests []struct {
				Digest   string
				Platform *struct{ Architecture, OS string }
			}
			Config *struct{ Digest string }
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("blob %s: %w", digest, err)
		}
		switch {
		case doc.Config != nil:
			config, err := s.blob(doc.Config.Digest)
			if err != nil {
				return nil, err
			}
			var c struct {
				RootFS struct {
					DiffIDs []string `json:"diff_ids"`
				} `json:"rootfs"`
			}
			if err := json.Unmarshal(config, &c); err != nil {
				return nil, fmt.Errorf("config %s: %w", doc.Config.Digest, err)
			}
			return c.RootFS.DiffIDs, nil
		case len(doc.Manifests) > 0:
			next := ""
			for _, m := range doc.Manifests {
				if m.Platform == nil || m.Platform.OS == goruntime.GOOS && m.Platform.Architecture == goruntime.GOARCH {
					next = m.Digest
					break
				}
			}
			if next == "" {
				return nil, fmt.Errorf("index %s has no manifest for %s/%s", digest, goruntime.GOOS, goruntime.GOARCH)
			}
			digest = next
		default:
			return nil, fmt.Errorf("blob %s is neither an index nor a manifest", digest)
		}
	}
	return nil, errors.New("indexes nested too deep")
}

// blob reads a blob of the content store, by a digest checked to be one.
func (s *state) blob(digest string) ([]byte, error) {
	if !IsDigest(digest) {
		return nil, fmt.Errorf("%q is not a sha256 digest", digest)
	}
	f, err := os.Open(filepath.Join(s.root, "io.containerd.content.v1.content", "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 16<<20+1))
	if err == nil && len(data) > 16<<20 {
		return nil, fmt.Errorf("blob %s is larger than 16 MiB", digest)
	}
	return data, err
}

// chainIDs are the chain IDs of layers with these diff IDs.
func chainIDs(diffIDs []string) ([]string, error) {
	var chains []string
	for i, d := range diffIDs {
		if !IsDigest(d) {
			return nil, fmt.Errorf("diff ID %q is not a sha256 digest", d)
		}
		if i == 0 {
			chains = append(chains, d)
			continue
		}
		chains = append(chains, sha256Of(chains[i-1]+" "+d))
	}
	return chains, nil
}

// ContainerFiles are the files of a container with no task: its snapshot
// (its record names the snapshotter and the key), and its OCI spec's bind
// mounts.
func (a *Adapter) ContainerFiles(ctx context.Context, c runtime.Container) (runtime.Files, error) {
	root := Root(a.address)
	src := SnapshotSource{Address: a.address, Namespace: c.Namespace, Ref: c.Ref()}
	var spec []byte
	err := func() error {
		meta, err := openCopy(filepath.Join(root, "io.containerd.metadata.v1.bolt", "meta.db"))
		if err != nil {
			return err
		}
		defer meta.Close()
		return meta.View(func(tx *bolt.Tx) error {
			b := bucket(tx, "v1", c.Namespace, "containers", c.ID)
			if b == nil {
				return fmt.Errorf("no container %s in namespace %s", c.ID, c.Namespace)
			}
			src.Snapshotter, src.Key = string(b.Get([]byte("snapshotter"))), string(b.Get([]byte("snapshotKey")))
			spec = bytes.Clone(b.Get([]byte("spec")))
			return nil
		})
	}()
	if err != nil {
		return runtime.Files{}, stateError(src, root, err)
	}
	if src.Key == "" {
		return runtime.Files{}, stateError(src, root, errors.New("the container has no snapshot (its root is a directory of its own)"))
	}
	files, err := SnapshotFiles(ctx, src)
	if err != nil {
		return files, err
	}
	files.Mounts = specMounts(spec)
	return files, nil
}

// specMounts are the bind mounts of an OCI spec kept as a protobuf Any
// (its value, field 2, is the spec's JSON).
func specMounts(anySpec []byte) []runtime.Mount {
	value, err := grpc.Embedded(anySpec, 2)
	if err != nil {
		return nil
	}
	var s struct {
		Mounts []struct {
			Destination, Type, Source string
			Options                   []string
		}
	}
	if json.Unmarshal(value, &s) != nil {
		return nil
	}
	var list []runtime.Mount
	for _, m := range s.Mounts {
		bind := m.Type == "bind"
		for _, o := range m.Options {
			bind = bind || o == "bind" || o == "rbind"
		}
		if bind && filepath.IsAbs(m.Source) {
			list = append(list, runtime.Mount{Source: m.Source, Destination: m.Destination})
		}
	}
	return list
}

// ImageFiles are the files of an image: NAMESPACE/NAME, as containerd
// names it (docker.io/library/busybox:latest).
func (a *Adapter) ImageFiles(ctx context.Context, ref string) (runtime.Files, error) {
	namespace, image, ok := strings.Cut(ref, "/")
	if !ok || namespace == "" || image == "" {
		return runtime.Files{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "containerd", Endpoint: a.address, Ref: "containerd://" + ref,
			Detail: "an image is NAMESPACE/IMAGE (containerd://default/docker.io/library/busybox:latest)"}
	}
	return ImageFiles(ctx, SnapshotSource{Address: a.address, Namespace: namespace, Snapshotter: "overlayfs", Ref: "containerd://" + ref}, image)
}

var _ runtime.Filesystem = (*Adapter)(nil)

func sha256Of(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// offline answers for NAMESPACE/ID when containerd does not (cause): a
// container its state on disk knows, and whose cgroup holds no process in
// any hierarchy, does not run, and is a NotRunning error whose files can
// be shown; anything else, or any doubt, leaves cause as it was (a task
// can run on without containerd: its shim keeps it).
func (a *Adapter) offline(namespace, id string, cause error) error {
	root := Root(a.address)
	meta, err := openCopy(filepath.Join(root, "io.containerd.metadata.v1.bolt", "meta.db"))
	if err != nil {
		return cause
	}
	defer meta.Close()
	var spec []byte
	var image string
	found := false
	meta.View(func(tx *bolt.Tx) error {
		if b := bucket(tx, "v1", namespace, "containers", id); b != nil {
			found, spec, image = true, bytes.Clone(b.Get([]byte("spec"))), string(b.Get([]byte("image")))
		}
		return nil
	})
	if !found {
		return cause
	}
	if procs, err := cgroupHasProcess(cgroupPath(spec, namespace, id)); err != nil || procs {
		return cause
	}
	c := container(namespace, id, image)
	c.Status = "not running"
	// Its spec, as containerd keeps it, for what reads it (evidence):
	// containerd cannot be asked.
	if value, err := grpc.Embedded(spec, 2); err == nil && json.Valid(value) {
		c.Spec = value
	}
	c.Note = fmt.Sprintf("%v; found in containerd's state on disk (%s), no process in its cgroup", cause, root)
	return &runtime.Error{Kind: runtime.NotRunning, Runtime: "containerd", Endpoint: root, Ref: c.Ref(), Container: c,
		Detail: "container is not running (containerd does not answer, and its cgroup has no process)"}
}

// cgroupPath is the cgroup of a container's task, as runc makes it from
// its spec's cgroupsPath: a path (cgroupfs), SLICE:PREFIX:NAME (systemd),
// or containerd's default, /NAMESPACE/ID.
func cgroupPath(anySpec []byte, namespace, id string) string {
	var s struct {
		Linux *struct {
			CgroupsPath string `json:"cgroupsPath"`
		} `json:"linux"`
	}
	if value, err := grpc.Embedded(anySpec, 2); err == nil {
		json.Unmarshal(value, &s)
	}
	if s.Linux == nil || s.Linux.CgroupsPath == "" {
		return "/" + namespace + "/" + id
	}
	p := s.Linux.CgroupsPath
	if strings.HasPrefix(p, "/") {
		return p
	}
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return p // not a form runc makes: refused below
	}
	// systemd: a-b.slice lives in a.slice/a-b.slice.
	slice := ""
	if parts[0] != "" && parts[0] != "-.slice" {
		name := strings.TrimSuffix(parts[0], ".slice")
		words := strings.Split(name, "-")
		for i := range words {
			slice += "/" + strings.Join(words[:i+1], "-") + ".slice"
		}
	}
	scope := parts[2]
	if !strings.HasSuffix(scope, ".slice") {
		scope = parts[1] + "-" + scope + ".scope"
	}
	return slice + "/" + scope
}

// cgroupHasProcess tells whether a cgroup holds a process in any hierarchy
// mounted here; an error when it cannot tell.
func cgroupHasProcess(path string) (bool, error) {
	if !strings.HasPrefix(path, "/") || strings.Contains("/"+path+"/", "/../") {
		return false, fmt.Errorf("cgroup %q is not a path", path)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		f := strings.Fields(line)
		dash := -1
		for i, x := range f {
			if x == "-" {
				dash = i
				break
			}
		}
		if dash < 5 || dash+1 >= len(f) || !strings.HasPrefix(f[dash+1], "cgroup") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(f[4], path, "cgroup.procs"))
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return false, err
		case len(bytes.TrimSpace(data)) > 0:
			return true, nil
		}
	}
	return false, nil
}
