package containerd

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// put makes nested buckets and sets keys in the innermost.
func put(t *testing.T, db *bolt.DB, path []string, kv map[string][]byte) {
	t.Helper()
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(path[0]))
		for _, p := range path[1:] {
			if err != nil {
				return err
			}
			b, err = b.CreateBucketIfNotExists([]byte(p))
		}
		if err != nil {
			return err
		}
		for k, v := range kv {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func uvarint(n uint64) []byte { return binary.AppendUvarint(nil, n) }

// TestSnapshotLayers: a container's snapshot and its parents, read from
// containerd's databases while a writer holds them open and locked, as a
// running containerd does.
func TestSnapshotLayers(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "io.containerd.metadata.v1.bolt"), 0o700)
	os.MkdirAll(filepath.Join(root, "io.containerd.snapshotter.v1.overlayfs"), 0o700)
	meta, err := bolt.Open(filepath.Join(root, "io.containerd.metadata.v1.bolt", "meta.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	snaps, err := bolt.Open(filepath.Join(root, "io.containerd.snapshotter.v1.overlayfs", "metadata.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer snaps.Close()
	put(t, meta, []string{"v1", "ns", "snapshots", "overlayfs", "web"}, map[string][]byte{"name": []byte("ns/3/web")})
	put(t, meta, []string{"v1", "ns", "snapshots", "overlayfs", "loop"}, map[string][]byte{"name": []byte("ns/9/loop")})
	put(t, snaps, []string{"v1", "snapshots", "ns/3/web"}, map[string][]byte{"id": uvarint(3), "parent": []byte("ns/2/sha256:x")})
	put(t, snaps, []string{"v1", "snapshots", "ns/2/sha256:x"}, map[string][]byte{"id": uvarint(2), "parent": []byte("ns/1/sha256:y")})
	put(t, snaps, []string{"v1", "snapshots", "ns/1/sha256:y"}, map[string][]byte{"id": uvarint(1)})
	put(t, snaps, []string{"v1", "snapshots", "ns/9/loop"}, map[string][]byte{"id": uvarint(9), "parent": []byte("ns/9/loop")})

	// Locked: bbolt's own read-only open waits for the writer.
	if _, err := bolt.Open(filepath.Join(root, "io.containerd.metadata.v1.bolt", "meta.db"), 0, &bolt.Options{ReadOnly: true, Timeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("the database is not locked: the test proves nothing")
	}
	s, err := openState(root, "overlayfs")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	layers, err := s.layers("ns", "web")
	dir := filepath.Join(root, "io.containerd.snapshotter.v1.overlayfs", "snapshots")
	want := []string{dir + "/3/fs", dir + "/2/fs", dir + "/1/fs"}
	if err != nil || !reflect.DeepEqual(layers, want) {
		t.Errorf("layers %q %v, want %q", layers, err, want)
	}
	if _, err := s.layers("ns", "loop"); err == nil {
		t.Error("a snapshot that is its own parent was taken")
	}
	if _, err := s.layers("other", "web"); err == nil {
		t.Error("another namespace's snapshot was found")
	}
	if _, err := openState(root, "../../x"); err == nil {
		t.Error("a snapshotter named as a path was taken")
	}
}

func TestTOMLValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("version = 2\nroot = \"/data/containerd\"\n[grpc]\n  address = \"/x.sock\"\n[plugins]\n  root = \"no\"\n"), 0o644)
	if got := tomlValue(path, "", "root"); got != "/data/containerd" {
		t.Errorf("root %q", got)
	}
	if got := tomlValue(path, "grpc", "address"); got != "/x.sock" {
		t.Errorf("address %q", got)
	}
}

func TestCgroupPath(t *testing.T) {
	spec := func(path string) []byte {
		// A protobuf Any whose value (field 2) is the spec's JSON.
		value := []byte(`{"linux":{"cgroupsPath":"` + path + `"}}`)
		return append([]byte{0x12, byte(len(value))}, value...)
	}
	for path, want := range map[string]string{
		"":                                "/ns/id",
		"/custom/id":                      "/custom/id",
		"system.slice:cri-containerd:abc": "/system.slice/cri-containerd-abc.scope",
		"kubepods-besteffort-pod1.slice:cri-containerd:abc": "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope",
	} {
		if got := cgroupPath(spec(path), "ns", "id"); got != want {
			t.Errorf("%q: %q, want %q", path, got, want)
		}
	}
	if got := cgroupPath(nil, "ns", "id"); got != "/ns/id" {
		t.Errorf("no spec: %q", got)
	}
	if _, err := cgroupHasProcess("/a/../../etc"); err == nil {
		t.Error("a cgroup path with .. was taken")
	}
}
