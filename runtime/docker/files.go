package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/containerd"
)

// The files of a container that runs no process, and of an image, are read
// from dockerd's state on disk whether dockerd is up or not: one reading,
// the same with the daemon down, and nothing the API would add (its
// GraphDriver data are these same directories, and with containerd's image
// store it names none). With the overlay2 graph driver (dockerd 20.10, and
// later ones that keep it) the layers are DATA-ROOT/overlay2/ID/diff; with
// containerd's image store (today's default) they are containerd's
// snapshots, asked of containerd (runtime/containerd).
//
// Everything read here is taken to be the attacker's: every ID must be of
// the form dockerd makes, so that no path built from one leads out of its
// directory.

// The forms of what dockerd names, checked by hand: package-level regular
// expressions would be compiled at every start of cnsenter, a container
// of its own or not. A layer's cache ID, a container's or an image's ID is
// a runtime's 64-hex ID (cgroupname.IsID), and a digest containerd's form
// (containerd.IsDigest).

// cacheID is a layer's cache ID, or a container's init layer's (ID-init).
func cacheID(s string) bool { return cgroupname.IsID(strings.TrimSuffix(s, "-init")) }

// shortLink is the name of a layer's link in overlay2/l.
func shortLink(s string) bool {
	return len(s) > 0 && len(s) <= 64 && only(s, func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' })
}

// volumeName is what dockerd accepts as a volume's name.
func volumeName(s string) bool {
	return len(s) > 0 && s[0] != '.' && s[0] != '_' && s[0] != '-' && only(s, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
	})
}

func only(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// maxState is how much of one of dockerd's files is read.
const maxState = 16 << 20

func readState(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxState+1))
	if err == nil && len(data) > maxState {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxState)
	}
	return data, err
}

// containerState is the part of config.v2.json the files need.
type containerState struct {
	ID          string
	Driver      string
	MountPoints map[string]struct {
		Source      string
		Destination string
		Type        string
		Name        string
		Driver      string
	}
}

// StateJSON is dockerd's own record of a container in its state on disk
// under root (DataRoot), containers/ID/config.v2.json, as it wrote it: for
// evidence bundles when dockerd does not answer. id is a full ID.
func StateJSON(root, id string) (json.RawMessage, error) {
	if !cgroupname.IsID(id) {
		return nil, fmt.Errorf("%q is not a container ID", id)
	}
	data, err := readState(filepath.Join(root, "containers", id, "config.v2.json"))
	if err != nil {
		return nil, err
	}
	var st containerState
	if !json.Valid(data) || json.Unmarshal(data, &st) != nil || st.ID != id {
		return nil, fmt.Errorf("containers/%s/config.v2.json is not the container's", id)
	}
	return data, nil
}

// ContainerFiles reads the layers and volumes of a container that does not
// run.
func (a *Adapter) ContainerFiles(ctx context.Context, c runtime.Container) (runtime.Files, error) {
	root := DataRoot(a.host)
	ref := "docker://" + c.Name
	fail := func(format string, args ...any) (runtime.Files, error) {
		return runtime.Files{}, &runtime.Error{Runtime: "docker", Endpoint: root, Ref: ref,
			Detail: "dockerd's state on disk (" + root + "): " + fmt.Sprintf(format, args...)}
	}
	if !cgroupname.IsID(c.ID) {
		return fail("%q is not a container ID", c.ID)
	}
	data, err := readState(filepath.Join(root, "containers", c.ID, "config.v2.json"))
	if err != nil {
		return fail("%v (CNSENTER_DOCKER_ROOT names the data root when dockerd is down)", err)
	}
	var st containerState
	if err := json.Unmarshal(data, &st); err != nil || st.ID != c.ID {
		return fail("containers/%s/config.v2.json is not the container's", c.ID)
	}
	var files runtime.Files
	switch st.Driver {
	case "overlay2":
		files.Layers, err = overlay2Container(root, c.ID)
	case "overlayfs", "native":
		// containerd's image store: the snapshot is keyed by the ID.
		files, err = a.snapshotFiles(ctx, st.Driver, c.ID, ref)
	default:
		return fail("container %s is stored by the %q driver: only overlay2 and containerd's snapshots are read", c.Name, st.Driver)
	}
	if err != nil {
		var e *runtime.Error
		if errors.As(err, &e) {
			return files, err
		}
		return fail("%v", err)
	}
	files.Mounts = mounts(root, st)
	return files, nil
}

// snapshotFiles asks containerd (dockerd's, namespace moby) for a
// snapshot's layers, or reads its state on disk when it does not answer.
func (a *Adapter) snapshotFiles(ctx context.Context, snapshotter, key, ref string) (runtime.Files, error) {
	return containerd.SnapshotFiles(ctx, containerd.SnapshotSource{Address: a.ContainerdAddress, Timeout: a.timeout,
		Namespace: "moby", Snapshotter: snapshotter, Key: key, Ref: ref})
}

// overlay2Container reads the layers of a container's overlay2 mount: its
// own (the mount ID layerdb keeps), then the lower ones its lower file
// names, by links that must point where dockerd points them.
func overlay2Container(root, id string) ([]string, error) {
	data, err := readState(filepath.Join(root, "image", "overlay2", "layerdb", "mounts", id, "mount-id"))
	if err != nil {
		return nil, err
	}
	mountID := strings.TrimSpace(string(data))
	if !cgroupname.IsID(mountID) {
		return nil, fmt.Errorf("the mount ID of container %s is %q, not one dockerd makes", id, mountID)
	}
	dir := filepath.Join(root, "overlay2")
	layers := []string{filepath.Join(dir, mountID, "diff")}
	lower, err := readState(filepath.Join(dir, mountID, "lower"))
	if errors.Is(err, os.ErrNotExist) {
		return layers, nil // no image layer at all
	}
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(strings.TrimSpace(string(lower)), ":") {
		name, ok := strings.CutPrefix(l, "l/")
		if !ok || !shortLink(name) {
			return nil, fmt.Errorf("overlay2/%s/lower names %q, not a layer link", mountID, l)
		}
		target, err := os.Readlink(filepath.Join(dir, "l", name))
		if err != nil {
			return nil, err
		}
		layer, ok := strings.CutPrefix(target, "../")
		layer, ok2 := strings.CutSuffix(layer, "/diff")
		if !ok || !ok2 || !cacheID(layer) {
			return nil, fmt.Errorf("overlay2/l/%s points to %q, not a layer", name, target)
		}
		layers = append(layers, filepath.Join(dir, layer, "diff"))
	}
	return layers, nil
}

// mounts are a container's volumes and bind mounts, parents first. A
// volume's place under the data root is made from its name; a tmpfs has
// nothing left to show.
func mounts(root string, st containerState) []runtime.Mount {
	var list []runtime.Mount
	for dest, m := range st.MountPoints {
		if m.Destination == "" {
			m.Destination = dest
		}
		source := m.Source
		if m.Type == "volume" && (m.Driver == "" || m.Driver == "local") && volumeName(m.Name) {
			source = filepath.Join(root, "volumes", m.Name, "_data")
		}
		if source == "" || m.Type == "tmpfs" {
			continue
		}
		list = append(list, runtime.Mount{Source: source, Destination: filepath.Clean("/" + m.Destination)})
	}
	sort.Slice(list, func(i, j int) bool {
		di, dj := strings.Count(list[i].Destination, "/"), strings.Count(list[j].Destination, "/")
		if di != dj {
			return di < dj
		}
		return list[i].Destination < list[j].Destination
	})
	return list
}

// ImageFiles reads an image's layers: by ID, ID prefix, or name[:tag], as
// docker names them.
func (a *Adapter) ImageFiles(ctx context.Context, image string) (runtime.Files, error) {
	root := DataRoot(a.host)
	ref := "docker image " + image
	fail := func(kind runtime.Kind, format string, args ...any) (runtime.Files, error) {
		return runtime.Files{}, &runtime.Error{Kind: kind, Runtime: "docker", Endpoint: root, Ref: ref,
			Detail: "dockerd's state on disk (" + root + "): " + fmt.Sprintf(format, args...)}
	}
	if image == "" || strings.ContainsRune(image, 0) {
		return fail(runtime.NotFound, "%q is not an image name", image)
	}
	db := filepath.Join(root, "image", "overlay2")
	if _, err := os.Stat(db); err != nil {
		// No overlay2 image store: containerd's.
		src := containerd.SnapshotSource{Address: a.ContainerdAddress, Timeout: a.timeout, Namespace: "moby", Snapshotter: "overlayfs", Ref: ref}
		if id := strings.TrimPrefix(image, "sha256:"); len(id) >= 4 && len(id) <= 64 && cgroupname.IsHex(id) {
			src.ImageID = id
		}
		return containerd.ImageFiles(ctx, src, dockerImageName(image))
	}
	id, err := overlay2Image(db, image)
	if err != nil {
		return fail(runtime.NotFound, "%v", err)
	}
	config, err := readState(filepath.Join(db, "imagedb", "content", "sha256", id))
	if err != nil {
		return fail(runtime.Failed, "%v", err)
	}
	var c struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return fail(runtime.Failed, "image %s: %v", id, err)
	}
	chains, err := ChainIDs(c.RootFS.DiffIDs)
	if err != nil {
		return fail(runtime.Failed, "image %s: %v", id, err)
	}
	var files runtime.Files
	for i := len(chains) - 1; i >= 0; i-- {
		data, err := readState(filepath.Join(db, "layerdb", "sha256", strings.TrimPrefix(chains[i], "sha256:"), "cache-id"))
		if err != nil {
			return fail(runtime.Failed, "image %s: %v", id, err)
		}
		cache := strings.TrimSpace(string(data))
		if !cgroupname.IsID(cache) {
			return fail(runtime.Failed, "image %s: layer %s has cache ID %q, not one dockerd makes", id, chains[i], cache)
		}
		files.Layers = append(files.Layers, filepath.Join(root, "overlay2", cache, "diff"))
	}
	if len(files.Layers) == 0 {
		return fail(runtime.Failed, "image %s has no layer", id)
	}
	return files, nil
}

// ChainIDs are the chain IDs of layers with these diff IDs (the image
// spec's: each the digest of its parent's and its own diff ID).
func ChainIDs(diffIDs []string) ([]string, error) {
	var chains []string
	for i, d := range diffIDs {
		if !containerd.IsDigest(d) {
			return nil, fmt.Errorf("diff ID %q is not a sha256 digest", d)
		}
		if i == 0 {
			chains = append(chains, d)
			continue
		}
		sum := sha256.Sum256([]byte(chains[i-1] + " " + d))
		chains = append(chains, "sha256:"+hex.EncodeToString(sum[:]))
	}
	return chains, nil
}

// overlay2Image finds an image's ID: a full ID (sha256: or not), a unique
// prefix of one, else a name in repositories.json, with :latest when no
// tag or digest is given and docker.io's prefixes taken off.
func overlay2Image(db, image string) (string, error) {
	id := strings.TrimPrefix(image, "sha256:")
	if len(id) >= 4 && strings.Trim(id, "0123456789abcdef") == "" {
		entries, _ := os.ReadDir(filepath.Join(db, "imagedb", "content", "sha256"))
		var found []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), id) && cgroupname.IsID(e.Name()) {
				found = append(found, e.Name())
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return "", fmt.Errorf("the ID prefix %s matches several images", id)
		}
	}
	data, err := readState(filepath.Join(db, "repositories.json"))
	if err != nil {
		return "", err
	}
	var repos struct{ Repositories map[string]map[string]string }
	if err := json.Unmarshal(data, &repos); err != nil {
		return "", fmt.Errorf("repositories.json: %w", err)
	}
	name := shortImageName(image)
	for _, refs := range repos.Repositories {
		for r, digest := range refs {
			if r == name {
				h := strings.TrimPrefix(digest, "sha256:")
				if !cgroupname.IsID(h) {
					return "", fmt.Errorf("repositories.json names %q for %s", digest, name)
				}
				return h, nil
			}
		}
	}
	return "", fmt.Errorf("no image %s", image)
}

// shortImageName is an image name as dockerd 20.10 keeps it: with a tag
// (":latest" when none) or a digest, without "docker.io/library/".
func shortImageName(image string) string {
	name := image
	last := name[strings.LastIndex(name, "/")+1:]
	if !strings.Contains(last, ":") && !strings.Contains(name, "@") {
		name += ":latest"
	}
	for _, prefix := range []string{"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"} {
		if n, ok := strings.CutPrefix(name, prefix); ok {
			return n
		}
	}
	return name
}

// dockerImageName is an image name as containerd's image store keeps it:
// in full, docker.io/library/ and :latest added.
func dockerImageName(image string) string {
	name := shortImageName(image)
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash {
		return "docker.io/library/" + name
	}
	if !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "docker.io/" + name
	}
	return name
}
